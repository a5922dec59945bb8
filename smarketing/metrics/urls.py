from django.urls import path

from smarketing.metrics import views

urlpatterns = [
    path("", views.home, name="home"),
]
