"""CRM list pages and what acts on them. crm/urls.py routes to the names below.

common.py   the Kind table (contact, company, deal) and helpers the others share
pages.py    the lists with search, filters, sortable columns, saved views and keyset pages; type-ahead lookups
saved.py    saving views and column choices (POSTs from the list page)
bulk.py     bulk actions on selected rows: assign, lifecycle move, delete, CSV export
edit.py     create and edit pages
merge.py    delete (with confirmation) and merge
"""

from smarketing.crm.views.lists.bulk import company_bulk, contact_bulk, deal_bulk
from smarketing.crm.views.lists.edit import (
    company_create,
    company_edit,
    contact_create,
    contact_edit,
    deal_create,
    deal_edit,
)
from smarketing.crm.views.lists.merge import (
    company_delete,
    company_merge,
    contact_delete,
    contact_merge,
    deal_delete,
)
from smarketing.crm.views.lists.pages import company_list, contact_list, deal_list, record_lookup
from smarketing.crm.views.lists.saved import columns_save, view_create, view_delete, view_update

__all__ = [
    "columns_save",
    "company_bulk",
    "company_create",
    "company_delete",
    "company_edit",
    "company_list",
    "company_merge",
    "contact_bulk",
    "contact_create",
    "contact_delete",
    "contact_edit",
    "contact_list",
    "contact_merge",
    "deal_bulk",
    "deal_create",
    "deal_delete",
    "deal_edit",
    "deal_list",
    "record_lookup",
    "view_create",
    "view_delete",
    "view_update",
]
