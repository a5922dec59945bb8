"""The tracking endpoints and pages: the script, the hit and pixel endpoints (public), the visits page."""

from django.urls import path

from smarketing.forms import views_tracking

app_name = "tracking"

urlpatterns = [
    path("t.js", views_tracking.script, name="script"),
    path("t/hit", views_tracking.hit, name="hit"),
    path("t/p.gif", views_tracking.pixel, name="pixel"),
    path("tracking/", views_tracking.visits, name="visits"),
    path("settings/tracking/", views_tracking.settings_page, name="settings"),
]
