from django.urls import path

from smarketing.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("<uuid:job_id>/run-again/", views.job_run_again, name="job_run_again"),
    path("dead-letters/<int:letter_id>/retry/", views.dead_letter_retry, name="dead_letter_retry"),
]
