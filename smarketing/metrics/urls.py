from django.urls import path

from smarketing.metrics import views

urlpatterns = [
    path("", views.home, name="home"),
    path("home/<slug:kind>/", views.home_tab, name="home_tab"),
]
