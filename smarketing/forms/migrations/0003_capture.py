# formscapture (issue 9): the double opt-in confirmation secret of a submission.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("forms", "0002_builder")]
    operations = [
        migrations.AddField(
            model_name="formsubmission",
            name="confirm_token",
            field=models.CharField(blank=True, editable=False, max_length=40, null=True, unique=True),
        ),
    ]
