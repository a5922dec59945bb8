from django.http import HttpResponse
from django.urls import path

app_name = "dataio"


def placeholder(request):
    return HttpResponse("import_list")


urlpatterns = [path("", placeholder, name="import_list")]
