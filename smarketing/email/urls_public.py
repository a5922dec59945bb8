"""The public endpoints a recipient reaches from an email (no login): tracking, unsubscribe, preferences.

email/links.py writes these paths by hand (OPEN_PATH, ...) for speed; test_links checks they match."""

from django.urls import path

from smarketing.email.views import public

app_name = "email_public"

urlpatterns = [
    path("o/<str:signed>.gif", public.open_pixel, name="open"),
    path("c/<str:signed>/<int:position>", public.click, name="click"),
    path("u/<str:signed>", public.unsubscribe, name="unsubscribe"),
    path("p/<str:signed>", public.preferences_view, name="preferences"),
]
