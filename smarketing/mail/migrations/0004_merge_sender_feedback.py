"""Joins the sender part's and the feedback part's 0002 migrations in the campaign branch (which merges both);
the integration renumbers them and drops this file."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mail", "0002_list_indexes"), ("mail", "0003_transactional_claimed_at")]
    operations = []
