"""Every important write to CRM records goes through these functions.

Each one runs in a transaction, records history (lifecycle, stage changes), the timeline touchpoint and the
audit entry, publishes the outbox event, and raises ValidationError / ConflictError / PermissionDenied with a
message a user can read. Permission checks happen here too, so the UI, the API and the importer cannot disagree.

Callers import this package (`from smarketing.crm import services`); the modules split the work by topic.
"""

from smarketing.crm.services.activities import (
    ACTIVITY_KINDS,
    add_note,
    can_change_note,
    can_change_task,
    complete_task,
    create_task,
    delete_note,
    delete_task,
    log_activity,
    reopen_task,
    update_note,
    update_task,
)
from smarketing.crm.services.common import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    DEAL_FIELDS,
    EDITABLE_FIELDS,
    OBJECT_TYPES,
    ConflictError,
    team_of,
)
from smarketing.crm.services.deals import (
    ExitCriteriaError,
    StageRule,
    add_deal_contact,
    create_deal,
    missing_exit_criteria,
    move_deal_stage,
    pillar_criteria,
    pillar_fix,
    register_stage_rule,
    remove_deal_contact,
    unmet_exit_criteria,
)
from smarketing.crm.services.lifecycle import change_lifecycle_stage, register_lifecycle_rule
from smarketing.crm.services.merge import MERGE_FILL_FIELDS, merge_records, on_contact_merge
from smarketing.crm.services.pipelines import (
    add_stage,
    create_pipeline,
    delete_pipeline,
    move_stage,
    remove_stage,
    reorder_stages,
    update_lifecycle_settings,
    update_pipeline,
    update_stage,
)
from smarketing.crm.services.properties import define_property, delete_property, update_property
from smarketing.crm.services.records import (
    assign_owner,
    create_company,
    create_contact,
    delete_record,
    set_search_keys,
    update_record,
)
from smarketing.crm.services.saved_views import create_view, delete_view, save_columns, update_view
from smarketing.crm.services.users import deactivate_owner, owned_counts

__all__ = [
    "add_stage",
    "create_pipeline",
    "deactivate_owner",
    "delete_pipeline",
    "move_stage",
    "owned_counts",
    "remove_stage",
    "reorder_stages",
    "update_lifecycle_settings",
    "update_pipeline",
    "update_stage",
    "ACTIVITY_KINDS",
    "COMPANY_FIELDS",
    "CONTACT_FIELDS",
    "DEAL_FIELDS",
    "EDITABLE_FIELDS",
    "MERGE_FILL_FIELDS",
    "on_contact_merge",
    "OBJECT_TYPES",
    "ConflictError",
    "ExitCriteriaError",
    "add_deal_contact",
    "add_note",
    "assign_owner",
    "can_change_note",
    "can_change_task",
    "change_lifecycle_stage",
    "complete_task",
    "create_company",
    "create_contact",
    "create_deal",
    "create_task",
    "create_view",
    "define_property",
    "delete_note",
    "delete_property",
    "delete_record",
    "delete_task",
    "delete_view",
    "log_activity",
    "merge_records",
    "StageRule",
    "register_lifecycle_rule",
    "missing_exit_criteria",
    "pillar_criteria",
    "pillar_fix",
    "register_stage_rule",
    "move_deal_stage",
    "save_columns",
    "remove_deal_contact",
    "reopen_task",
    "set_search_keys",
    "team_of",
    "unmet_exit_criteria",
    "update_property",
    "update_record",
    "update_note",
    "update_task",
    "update_view",
]
