"""The mail pages, mounted under /mail/ (sender identities live under /settings/, see settings_urls.py)."""

from django.urls import path

from smarketing.mail import views

app_name = "mail"

urlpatterns = [
    path("feedback/", views.feedback_endpoint, name="feedback"),
    path("suppressions/", views.suppression_list, name="suppressions"),
    path("suppressions/<int:pk>/remove/", views.suppression_remove, name="suppression_remove"),
    path("viewer/", views.viewer, name="viewer"),
    path("viewer/<int:pk>/", views.viewer_message, name="viewer_message"),
    path("viewer/<int:pk>/html/", views.viewer_html, name="viewer_html"),
]
