"""The hosts' pages: meeting types, availability, the calendar, a meeting, one-off booking links."""

from django.urls import path

from smarketing.scheduling import views

app_name = "scheduling"
urlpatterns: list = [
    path("", views.type_list, name="types"),
    path("types/new/", views.type_create, name="type_create"),
    path("types/<int:pk>/", views.type_edit, name="type_edit"),
    path("types/<int:pk>/active/", views.type_active, name="type_active"),
    path("availability/", views.availability_page, name="availability"),
    path("availability/overrides/<int:pk>/delete/", views.override_delete, name="override_delete"),
    path("availability/busy/<int:pk>/delete/", views.busy_delete, name="busy_delete"),
    path("availability/external/refresh/", views.external_refresh, name="external_refresh"),
    path("availability/feed/revoke/", views.feed_revoke, name="feed_revoke"),
    path("calendar/", views.calendar, name="calendar"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/outcome/", views.meeting_outcome, name="meeting_outcome"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:pk>/reschedule/", views.meeting_reschedule, name="meeting_reschedule"),
    path("links/new/", views.link_new, name="link_new"),
]
