from django.db import migrations

from smarketing.crm.defaults import install_defaults


def forwards(apps, schema_editor):
    install_defaults(apps.get_model("accounts", "Team"), apps.get_model("crm", "Pipeline"), apps.get_model("crm", "Stage"))


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
