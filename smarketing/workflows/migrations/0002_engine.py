# wfengine (issue 9): the state of the periodic triggers (segment entered/left, date reached).
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial"), ("crm", "0011_contact_time_zone")]

    operations = [
        migrations.CreateModel(
            name="TriggerState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=300)),
                ("primed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("checked_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "workflow",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trigger_state",
                        to="workflows.workflow",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SegmentSnapshot",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "contact",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="crm.contact"
                    ),
                ),
                (
                    "workflow",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workflows.workflow"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("workflow", "contact"), name="segment_snapshot_unique")
                ],
            },
        ),
    ]
