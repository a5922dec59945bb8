"""The public endpoints a recipient reaches from an email (no login): tracking, unsubscribe, preferences."""

from django.urls import path  # noqa: F401

app_name = "email_public"

urlpatterns = []
