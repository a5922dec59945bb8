"""The public share viewer: /c/<token>/ and its beacons (smarketing/content/views_public.py)."""

from django.urls import path

from smarketing.content import views_public

app_name = "content_public"
urlpatterns = [
    path("<slug:token>/", views_public.view, name="view"),
    path("<slug:token>/p/<int:number>.png", views_public.page, name="page"),
    path("<slug:token>/beacon/", views_public.beacon, name="beacon"),
    path("<slug:token>/download/", views_public.download, name="download"),
]
