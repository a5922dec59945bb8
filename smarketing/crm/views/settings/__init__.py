"""The settings area (/settings/): its index, and the CRM's settings pages. crm/urls.py routes to them.

index.py        the settings index: every admin page in one place (users and teams live in accounts)
pipelines.py    pipelines and their stages: order, probability, team, target days, exit criteria, outcome
lifecycle.py    what each lifecycle stage means and which team owns it
properties.py   custom properties: define, edit, delete
users.py        deactivating a user, with their records reassigned or kept
audit.py        the audit log
forms.py        the forms of these pages
"""

from smarketing.crm.views.settings.audit import audit_log
from smarketing.crm.views.settings.index import settings_index
from smarketing.crm.views.settings.lifecycle import lifecycle_settings
from smarketing.crm.views.settings.pipelines import (
    pipeline_delete,
    pipeline_detail,
    pipeline_list,
    stage_delete,
    stage_edit,
    stage_order,
)
from smarketing.crm.views.settings.properties import property_delete, property_edit, property_list
from smarketing.crm.views.settings.users import user_deactivate

__all__ = [
    "audit_log",
    "lifecycle_settings",
    "pipeline_delete",
    "pipeline_detail",
    "pipeline_list",
    "property_delete",
    "property_edit",
    "property_list",
    "settings_index",
    "stage_delete",
    "stage_edit",
    "stage_order",
    "user_deactivate",
]
