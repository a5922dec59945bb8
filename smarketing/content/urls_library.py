"""The library's pages: the list, an asset and its versions, the review, retiring, comments."""

from django.urls import path

from smarketing.content import views_library as views

urlpatterns = [
    path("", views.library, name="library"),
    path("assets/new/", views.asset_new, name="asset_new"),
    path("assets/<int:pk>/", views.asset_detail, name="asset_detail"),
    path("assets/<int:pk>/edit/", views.asset_edit, name="asset_edit"),
    path("assets/<int:pk>/versions/new/", views.asset_version_new, name="asset_version_new"),
    path("assets/<int:pk>/submit/", views.asset_submit, name="asset_submit"),
    path("assets/<int:pk>/review/", views.asset_review, name="asset_review"),
    path("assets/<int:pk>/retire/", views.asset_retire, name="asset_retire"),
    path("assets/<int:pk>/comments/", views.asset_comment, name="asset_comment"),
]
