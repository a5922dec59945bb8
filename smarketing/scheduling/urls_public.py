"""The public booking pages under /meet/ (no login); the JSON endpoints and the feed are public_api.py's."""

from django.urls import path

from smarketing.scheduling import public_api, views_public

app_name = "meet"
urlpatterns: list = [
    path("feed/<str:token>.ics", public_api.feed, name="feed"),
    path("<slug:slug>/slots.json", public_api.slots_json, name="slots_json"),
    path("<slug:slug>/book.json", public_api.book_json, name="book_json"),
    path("l/<str:token>/", views_public.link_page, name="link"),
    path("m/<str:token>/", views_public.manage, name="manage"),
    path("m/<str:token>/reschedule/", views_public.manage_reschedule, name="manage_reschedule"),
    path("m/<str:token>/cancel/", views_public.manage_cancel, name="manage_cancel"),
    path("<slug:slug>/", views_public.page, name="page"),
    path("<slug:slug>/book/", views_public.book, name="book"),
]
