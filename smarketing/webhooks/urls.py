from django.http import HttpResponse
from django.urls import path

app_name = "webhooks"


def placeholder(request):
    return HttpResponse("endpoint_list")


urlpatterns = [path("", placeholder, name="endpoint_list")]
