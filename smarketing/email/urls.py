"""The email marketing pages (signed in). Each part of the app adds its own section."""

from django.urls import path

from smarketing.email.views import campaigns

app_name = "email"

urlpatterns = [
    # templates (email/views/templates.py)
    # campaigns (email/views/campaigns.py)
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_create, name="campaign_create"),
    path("campaigns/audience-count/", campaigns.audience_count, name="campaign_audience_count"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/progress/", campaigns.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/send/", campaigns.campaign_send, name="campaign_send"),
    path("campaigns/<int:pk>/pause/", campaigns.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/resume/", campaigns.campaign_resume, name="campaign_resume"),
    path("campaigns/<int:pk>/cancel/", campaigns.campaign_cancel, name="campaign_cancel"),
    path("campaigns/<int:pk>/unschedule/", campaigns.campaign_unschedule, name="campaign_unschedule"),
    path("campaigns/<int:pk>/test/", campaigns.campaign_test, name="campaign_test"),
    # report (metrics) and API live elsewhere
]
