# The form builder's part of issue 9: the indexes of the submissions list (by status) and the overview (by day).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("forms", "0001_initial")]
    operations = [
        migrations.AddIndex(
            model_name="formsubmission",
            index=models.Index(fields=["form", "status", "-id"], name="formsub_form_status_idx"),
        ),
        migrations.AddIndex(
            model_name="formsubmission",
            index=models.Index(fields=["form", "created_at"], name="formsub_form_day_idx"),
        ),
    ]
