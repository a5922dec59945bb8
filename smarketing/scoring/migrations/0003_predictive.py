# Predictive scoring (issue 9, part "predictive"): who asked for a training run, the scoring run's counters,
# and at most one active model.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0002_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="predictivemodel",
            name="scored_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="predictivemodel",
            name="scored_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="predictivemodel",
            name="trained_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="predictivemodel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("active", True)), fields=("active",), name="predictivemodel_one_active"
            ),
        ),
    ]
