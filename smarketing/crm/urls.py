"""CRM pages. views/lists/: lists, forms, bulk actions. views/records/: record pages, timeline, board, home.
views/settings/: the settings index and the CRM's settings pages."""

from django.urls import path

from smarketing.crm.views import lists, records, search, settings

urlpatterns = [
    # Contacts
    path("contacts/", lists.contact_list, name="contact_list"),
    path("contacts/new/", lists.contact_create, name="contact_create"),
    path("contacts/bulk/", lists.contact_bulk, name="contact_bulk"),
    path("contacts/<int:pk>/", records.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", lists.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/lifecycle/", records.contact_lifecycle, name="contact_lifecycle"),
    path("contacts/<int:pk>/merge/", lists.contact_merge, name="contact_merge"),
    path("contacts/<int:pk>/delete/", lists.contact_delete, name="contact_delete"),
    # Companies
    path("companies/", lists.company_list, name="company_list"),
    path("companies/new/", lists.company_create, name="company_create"),
    path("companies/bulk/", lists.company_bulk, name="company_bulk"),
    path("companies/<int:pk>/", records.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", lists.company_edit, name="company_edit"),
    path("companies/<int:pk>/merge/", lists.company_merge, name="company_merge"),
    path("companies/<int:pk>/delete/", lists.company_delete, name="company_delete"),
    # Deals
    path("deals/", lists.deal_list, name="deal_list"),
    path("deals/new/", lists.deal_create, name="deal_create"),
    path("deals/bulk/", lists.deal_bulk, name="deal_bulk"),
    path("deals/board/", records.pipeline_board, name="pipeline_board"),
    path("deals/<int:pk>/", records.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", lists.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", records.deal_move, name="deal_move"),
    path("deals/<int:pk>/delete/", lists.deal_delete, name="deal_delete"),
    path("deals/<int:pk>/contacts/", records.deal_contact_add, name="deal_contact_add"),
    path("deals/<int:pk>/contacts/<int:contact_id>/remove/", records.deal_contact_remove, name="deal_contact_remove"),
    # Shared record actions: <kind> is contact, company or deal
    path("<str:kind>/<int:pk>/timeline/", records.timeline_partial, name="timeline_partial"),
    path("<str:kind>/<int:pk>/activity/", records.log_activity, name="log_activity"),
    path("<str:kind>/<int:pk>/note/", records.add_note, name="add_note"),
    path("<str:kind>/<int:pk>/task/", records.add_task, name="add_task"),
    path("<str:kind>/<int:pk>/owner/", records.change_owner, name="change_owner"),
    # The Undo of a toast (a signed, short-lived POST; see core/toasts.py)
    path("undo/", records.undo, name="undo"),
    # Saved list views and column choices: <kind> is contact, company or deal
    path("lists/<str:kind>/views/", lists.view_create, name="list_view_create"),
    path("lists/<str:kind>/columns/", lists.columns_save, name="list_columns"),
    path("lists/views/<int:pk>/", lists.view_update, name="list_view_update"),
    path("lists/views/<int:pk>/delete/", lists.view_delete, name="list_view_delete"),
    # Tasks
    path("tasks/", records.task_list, name="task_list"),
    path("tasks/<int:pk>/complete/", records.task_complete, name="task_complete"),
    # Global search (the header's box and its results page)
    path("search/", search.global_search, name="search"),
    path("search/menu/", search.search_menu, name="search_menu"),
    # Settings (users and teams: accounts/settings_urls.py, also under /settings/)
    path("settings/", settings.settings_index, name="settings_index"),
    path("settings/users/<int:pk>/deactivate/", settings.user_deactivate, name="settings_user_deactivate"),
    path("settings/pipelines/", settings.pipeline_list, name="settings_pipelines"),
    path("settings/pipelines/<int:pk>/", settings.pipeline_detail, name="settings_pipeline"),
    path("settings/pipelines/<int:pk>/delete/", settings.pipeline_delete, name="settings_pipeline_delete"),
    path("settings/pipelines/<int:pk>/order/", settings.stage_order, name="settings_stage_order"),
    path("settings/stages/<int:pk>/", settings.stage_edit, name="settings_stage"),
    path("settings/stages/<int:pk>/delete/", settings.stage_delete, name="settings_stage_delete"),
    path("settings/lifecycle/", settings.lifecycle_settings, name="settings_lifecycle"),
    path("settings/properties/", settings.property_list, name="property_list"),
    path("settings/properties/<int:pk>/", settings.property_edit, name="property_edit"),
    path("settings/properties/<int:pk>/delete/", settings.property_delete, name="property_delete"),
    path("settings/audit/", settings.audit_log, name="audit_log"),
    # Type-ahead suggestions for company/contact boxes (added by the lists helper)
    path("lookup/<str:kind>/", lists.record_lookup, name="record_lookup"),
]
