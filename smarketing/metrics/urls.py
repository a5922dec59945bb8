from django.urls import path

from smarketing.metrics import report_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("home/<slug:kind>/", views.home_tab, name="home_tab"),
    # The campaign report lives with the metrics but under the email area's paths.
    path("email/campaigns/<int:pk>/report/", report_views.campaign_report, name="campaign_report"),
    path("email/campaigns/<int:pk>/report.csv", report_views.campaign_report_csv, name="campaign_report_csv"),
    path("email/campaigns/<int:pk>/report/email/", report_views.campaign_clickmap, name="campaign_clickmap"),
]
