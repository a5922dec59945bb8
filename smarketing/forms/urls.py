"""The form builder and the submissions (signed-in users), under /forms/."""

from django.urls import path

from smarketing.forms import views

app_name = "forms"

urlpatterns = [
    path("", views.form_list, name="list"),
    path("new/", views.form_create, name="create"),
    path("<int:form_id>/", views.form_overview, name="overview"),
    path("<int:form_id>/edit/", views.form_edit, name="edit"),
    path("<int:form_id>/edit/builder/", views.form_builder, name="builder"),
    path("<int:form_id>/edit/preview/", views.form_preview, name="preview"),
    path("<int:form_id>/publish/", views.form_publish, name="publish"),
    path("<int:form_id>/archive/", views.form_archive, name="archive"),
    path("<int:form_id>/duplicate/", views.form_duplicate, name="duplicate"),
    path("<int:form_id>/submissions/", views.submission_list, name="submissions"),
    path("<int:form_id>/submissions/<int:submission_id>/", views.submission_detail, name="submission"),
]
