"""The handoff's pages under /handoff/."""

from django.urls import path

from smarketing.process import views

app_name = "process"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("team/", views.team, name="team"),
    path("report/", views.report, name="report"),
    path("settings/", views.settings_page, name="settings"),
    path("analytics/", views.analytics, name="analytics"),
    path("map/", views.process_map, name="map"),
    path("stages/", views.stage_settings, name="stages"),
    path("deals/<int:deal_id>/checklist/", views.checklist, name="checklist"),
    path("mail/", views.mail_capture, name="mail"),
    path("<int:handoff_id>/accept/", views.accept, name="accept"),
    path("<int:handoff_id>/reject/", views.reject, name="reject"),
    path("<int:handoff_id>/touch/", views.log_touch, name="log_touch"),
    path("<int:handoff_id>/reassign/", views.reassign, name="reassign"),
]
