from django.urls import path

from smarketing.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.request_log, name="log"),
    path("contacts/<int:pk>/", views.contact, name="contact"),
    path("contacts/<int:pk>/export/", views.export, name="export"),
    path("contacts/<int:pk>/erase/", views.erase, name="erase"),
]
