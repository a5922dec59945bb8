"""The messaging guide and the stage panel (content namespace, see urls.py)."""

from django.urls import path

from smarketing.content import views_guide

urlpatterns = [
    path("guide/", views_guide.guide_list, name="guide"),
    path("guide/new/", views_guide.message_new, name="message_new"),
    path("guide/<int:pk>/", views_guide.message_detail, name="message_detail"),
    path("guide/<int:pk>/edit/", views_guide.message_edit, name="message_edit"),
    path("guide/<int:pk>/submit/", views_guide.message_submit, name="message_submit"),
    path("guide/<int:pk>/review/", views_guide.message_review, name="message_review"),
    path("guide/<int:pk>/retire/", views_guide.message_retire, name="message_retire"),
    path("guide/<int:pk>/comment/", views_guide.message_comment, name="message_comment"),
    path("panel/<str:kind>/<int:pk>/", views_guide.panel, name="panel"),
]
