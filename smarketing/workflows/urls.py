"""Workflow pages under /workflows/: list, builder, enrollments, dry run."""

from django.urls import path

from smarketing.workflows import views

app_name = "workflows"

urlpatterns = [
    path("", views.workflow_list, name="workflow_list"),
    path("new/", views.workflow_create, name="workflow_create"),
    path("trigger-fields/", views.trigger_fields, name="trigger_fields"),
    path("<int:pk>/", views.workflow_builder, name="builder"),
    path("<int:pk>/trigger/", views.trigger_edit, name="trigger_edit"),
    path("<int:pk>/settings/", views.settings_edit, name="settings_edit"),
    path("<int:pk>/steps/add/", views.step_menu, name="step_menu"),
    path("<int:pk>/steps/new/", views.step_new, name="step_new"),
    path("<int:pk>/steps/<str:step_id>/", views.step_edit, name="step_edit"),
    path("<int:pk>/steps/<str:step_id>/delete/", views.step_delete, name="step_delete"),
    path("<int:pk>/steps/<str:step_id>/move/", views.step_move, name="step_move"),
    path("<int:pk>/activate/", views.workflow_activate, name="activate"),
    path("<int:pk>/pause/", views.workflow_pause, name="pause"),
    path("<int:pk>/archive/", views.workflow_archive, name="archive"),
    path("<int:pk>/test/", views.workflow_test, name="test"),
    path("<int:pk>/enrollments/", views.enrollment_list, name="enrollment_list"),
    path("enrollments/<int:pk>/", views.enrollment_detail, name="enrollment_detail"),
    path("contacts/<int:contact_id>/", views.contact_workflows, name="contact_workflows"),
]
