# Scoring rules (issue 9, part "scoring"): the jobs' state row and "a touch scores once per rule".
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name='ScoringState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('last_touchpoint_id', models.BigIntegerField(default=0)),
                ('decayed_on', models.DateField(blank=True, null=True)),
                ('recompute_status', models.CharField(choices=[('idle', 'Idle'), ('queued', 'Waiting for a worker'), ('running', 'Recomputing'), ('done', 'Finished'), ('failed', 'Failed')], default='idle', max_length=10)),
                ('recompute_steps', models.PositiveIntegerField(default=0)),
                ('recompute_done', models.PositiveIntegerField(default=0)),
                ('recompute_started_at', models.DateTimeField(blank=True, null=True)),
                ('recompute_finished_at', models.DateTimeField(blank=True, null=True)),
                ('recompute_message', models.CharField(blank=True, max_length=300)),
                ('recompute_stats', models.JSONField(blank=True, default=dict)),
                ('distribution', models.JSONField(blank=True, default=dict)),
            ],
        ),
        migrations.AddConstraint(
            model_name='scorechange',
            constraint=models.UniqueConstraint(condition=models.Q(('rule__isnull', False), ('touchpoint__isnull', False)), fields=('touchpoint', 'rule'), name='scorechange_touch_rule_once'),
        ),
    ]
