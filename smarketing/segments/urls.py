from django.urls import path

from smarketing.segments import views

app_name = "segments"

urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_create, name="segment_create"),
    path("segments/builder/", views.builder_update, name="builder"),
    path("segments/count/", views.builder_count, name="count"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:segment_id>/count/", views.segment_recount, name="segment_recount"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:segment_id>/archive/", views.segment_archive, name="segment_archive"),
    path("lists/", views.list_list, name="list_list"),
    path("lists/new/", views.list_create, name="list_create"),
    path("lists/bulk-add/", views.bulk_add, name="bulk_add"),
    path("lists/<int:list_id>/", views.list_detail, name="list_detail"),
    path("lists/<int:list_id>/search/", views.list_search, name="list_search"),
    path("lists/<int:list_id>/add/", views.list_add, name="list_add"),
    path("lists/<int:list_id>/remove/", views.list_remove, name="list_remove"),
    path("lists/<int:list_id>/import/", views.list_import, name="list_import"),
    path("lists/<int:list_id>/archive/", views.list_archive, name="list_archive"),
]
