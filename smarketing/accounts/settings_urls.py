"""The users and teams settings pages, mounted under /settings/ (crm/urls.py has the CRM's settings pages)."""

from django.urls import path

from smarketing.accounts import views

urlpatterns = [
    path("users/", views.user_list, name="settings_users"),
    path("users/invite/", views.user_invite, name="settings_user_invite"),
    path("users/<int:pk>/", views.user_edit, name="settings_user"),
    path("users/<int:pk>/resend/", views.user_resend, name="settings_user_resend"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="settings_user_reactivate"),
    path("teams/", views.team_list, name="settings_teams"),
    path("teams/<int:pk>/", views.team_edit, name="settings_team"),
]
