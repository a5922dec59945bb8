# Web tracking (the tracking part of issue 9): idempotent page views (hit_id), the visits page's keyset index,
# the daily page counters, and the sites that email links stitch on.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("forms", "0003_capture")]

    operations = [
        migrations.CreateModel(
            name="PageViewDaily",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("host", models.CharField(max_length=200)),
                ("path", models.CharField(max_length=500)),
                ("views", models.PositiveIntegerField(default=0)),
                ("known_views", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RemoveIndex(
            model_name="pageview",
            name="pageview_recent_idx",
        ),
        migrations.AddField(
            model_name="pageview",
            name="hit_id",
            field=models.CharField(blank=True, max_length=32, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="trackingsettings",
            name="stitch_origins",
            field=models.TextField(blank=True),
        ),
        migrations.AddIndex(
            model_name="pageview",
            index=models.Index(fields=["-occurred_at", "-id"], name="pageview_recent_idx"),
        ),
        migrations.AddConstraint(
            model_name="pageviewdaily",
            constraint=models.UniqueConstraint(fields=("day", "host", "path"), name="pageviewdaily_key"),
        ),
    ]
