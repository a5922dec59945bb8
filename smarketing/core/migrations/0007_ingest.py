# Reserved for the part of issue 9 that owns this file: fill in its operations (see docs/adding-an-app.md).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0006_origin_email")]
    operations = []
