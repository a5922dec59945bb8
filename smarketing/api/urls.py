from django.http import HttpResponse
from django.urls import path

app_name = "api"


def placeholder(request):
    return HttpResponse("token_list")


urlpatterns = [path("", placeholder, name="token_list")]
