"""The email marketing pages (signed in). Each part of the app adds its own section."""

from django.urls import path  # noqa: F401

app_name = "email"

urlpatterns = [
    # templates (email/views/templates.py)
    # campaigns (email/views/campaigns.py)
    # report (metrics) and API live elsewhere
]
