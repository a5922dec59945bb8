"""Sharing pages (smarketing/content/views_share.py); the public viewer is urls_public.py."""

from django.urls import path

from smarketing.content import views_share

urlpatterns = [
    path("share/", views_share.share_new, name="share_new"),
    path("shares/", views_share.share_list, name="shares"),
    path("shares/<int:pk>/revoke/", views_share.share_revoke, name="share_revoke"),
]
