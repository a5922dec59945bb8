"""Import and export pages, under /import/."""

from django.urls import path

from smarketing.dataio import views

app_name = "dataio"

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("<int:pk>/discard/", views.import_discard, name="import_discard"),
    path("<int:pk>/rejected-rows.csv", views.import_errors, name="import_errors"),
    # /import/export/contacts.csv?lifecycle_stage=mql&owner=me (the filters are allow-listed in exporter.py)
    path("export/<slug:kind>.<slug:fmt>", views.export, name="export"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
