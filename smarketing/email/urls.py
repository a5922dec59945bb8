"""The email marketing pages (signed in). Each part of the app adds its own section."""

from django.urls import path

from smarketing.email.views import campaigns, templates

app_name = "email"

urlpatterns = [
    # templates (email/views/templates.py)
    path("templates/", templates.template_list, name="template_list"),
    path("templates/contacts/", templates.preview_contacts, name="template_contacts"),
    path("templates/<int:pk>/", templates.template_edit, name="template_edit"),
    path("templates/<int:pk>/settings/", templates.template_settings, name="template_settings"),
    path("templates/<int:pk>/mode/", templates.template_mode, name="template_mode"),
    path("templates/<int:pk>/html/", templates.template_html, name="template_html"),
    path("templates/<int:pk>/archive/", templates.template_archive, name="template_archive"),
    path("templates/<int:pk>/duplicate/", templates.template_duplicate, name="template_duplicate"),
    path("templates/<int:pk>/preview/", templates.template_preview, name="template_preview"),
    path("templates/<int:pk>/preview-panel/", templates.template_preview_panel, name="template_preview_panel"),
    path("templates/<int:pk>/test/", templates.template_test, name="template_test"),
    path("templates/<int:pk>/blocks/add/", templates.block_add, name="template_block_add"),
    path("templates/<int:pk>/blocks/<str:block_id>/", templates.block_update, name="template_block_update"),
    path("templates/<int:pk>/blocks/<str:block_id>/move/", templates.block_move, name="template_block_move"),
    path("templates/<int:pk>/blocks/<str:block_id>/delete/", templates.block_delete, name="template_block_delete"),
    path("brand/", templates.brand_settings, name="brand_settings"),
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
