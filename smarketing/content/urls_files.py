"""The library's file URLs (views_files.py): downloads, thumbnails and page images, behind a sign-in."""

from django.urls import path

from smarketing.content import views_files

urlpatterns = [
    path("versions/<int:pk>/download/", views_files.version_download, name="version_download"),
    path("versions/<int:pk>/pages/<int:n>.png", views_files.version_page, name="version_page"),
    path("assets/<int:pk>/thumb.png", views_files.asset_thumb, name="asset_thumb"),
]
