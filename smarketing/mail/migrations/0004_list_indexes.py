from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the pages that list newest first with keyset pages: the suppression list and the viewer."""

    dependencies = [("mail", "0003_transactional_claimed_at")]

    operations = [
        migrations.AddIndex(
            model_name="suppression",
            index=models.Index(fields=["-created_at", "-id"], name="suppression_newest_idx"),
        ),
        migrations.AddIndex(
            model_name="capturedmessage",
            index=models.Index(fields=["-received_at", "-id"], name="captured_newest_idx"),
        ),
    ]
