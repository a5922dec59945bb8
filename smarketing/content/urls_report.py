"""Content influence: the library's report and an asset's figures (content namespace, see urls.py)."""

from django.urls import path

from smarketing.content import views_report

urlpatterns = [
    path("report/", views_report.report, name="report"),
    path("assets/<int:pk>/report/", views_report.asset_report, name="asset_report"),
]
