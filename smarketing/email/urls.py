"""The email marketing pages (signed in). Each part of the app adds its own section."""

from django.urls import path

from smarketing.email.views import templates

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
    # report (metrics) and API live elsewhere
]
