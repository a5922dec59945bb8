from django.db import migrations

from smarketing.process.defaults import install_reasons


def add_reasons(apps, schema_editor):
    install_reasons(apps.get_model("process", "RejectionReason"))


class Migration(migrations.Migration):
    dependencies = [("process", "0001_initial")]

    operations = [migrations.RunPython(add_reasons, migrations.RunPython.noop)]
