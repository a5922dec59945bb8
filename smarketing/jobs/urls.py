from django.http import HttpResponse
from django.urls import path

app_name = "jobs"


def placeholder(request):
    return HttpResponse("job_list")


urlpatterns = [path("", placeholder, name="job_list")]
