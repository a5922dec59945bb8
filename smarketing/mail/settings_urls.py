"""Sender identities, under /settings/ beside the other admin pages."""

from django.urls import path

from smarketing.mail import views

urlpatterns = [
    path("senders/", views.sender_list, name="settings_senders"),
    path("senders/new/", views.sender_edit, name="settings_sender_new"),
    path("senders/<int:pk>/", views.sender_edit, name="settings_sender"),
]
