"""Record pages (the 360° view), the unified timeline, quick actions, the deal page, the pipeline board,
and tasks (the "my work" home page lives in metrics.views). crm/urls.py routes to the names below.

common.py   formatting, permission answers and lookups shared by the others
forms.py    the small forms: quick actions, lifecycle change, deal stage move
pages.py    contact, company and deal pages, their timeline and quick actions
board.py    the pipeline board and deal_move
changes.py  quick changes with a toast and an Undo (owner, contacts on a deal) and the Undo itself
work.py     the task list and task_complete
"""

from smarketing.crm.views.records.board import deal_move, pipeline_board
from smarketing.crm.views.records.changes import change_owner, deal_contact_add, deal_contact_remove, undo
from smarketing.crm.views.records.pages import (
    add_note,
    add_task,
    company_detail,
    contact_detail,
    contact_lifecycle,
    deal_detail,
    log_activity,
    timeline_partial,
)
from smarketing.crm.views.records.work import task_complete, task_list

__all__ = [
    "add_note",
    "add_task",
    "change_owner",
    "company_detail",
    "contact_detail",
    "contact_lifecycle",
    "deal_contact_add",
    "deal_contact_remove",
    "deal_detail",
    "deal_move",
    "log_activity",
    "pipeline_board",
    "task_complete",
    "task_list",
    "timeline_partial",
    "undo",
]
