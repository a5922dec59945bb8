"""The touchpoint kinds the CRM writes: facts about its records and the activities people log on them.

Collected by the timeline's catalogue (smarketing/timeline/kinds.py). The second list holds, for now, the kinds of
the pillars not built yet; see INTERIM_KINDS.
"""

from smarketing.notifications.catalogue import NotificationKind
from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team, Touchpoint

# Facts about the records, written by crm.services (and the importer and seed, which follow the same rules)
CONTACT_CREATED = "contact_created"
LIFECYCLE_CHANGED = "lifecycle_changed"
OWNER_CHANGED = "owner_changed"
DEAL_CREATED = "deal_created"
DEAL_STAGE_CHANGED = "deal_stage_changed"
DEAL_WON = "deal_won"
DEAL_LOST = "deal_lost"
MERGED = "merged"
# What people log on the records
CALL_LOGGED = "call_logged"
EMAIL_LOGGED = "email_logged"
MEETING_LOGGED = "meeting_logged"
NOTE_ADDED = "note_added"
TASK_CREATED = "task_created"
TASK_COMPLETED = "task_completed"
TASK_REOPENED = "task_reopened"

# What the CRM tells people (smarketing/notifications): declared here, sent by crm.services.activities.
NOTIFY_TASK_ASSIGNED = "task_assigned"
NOTIFY_MENTIONED = "mentioned_in_note"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_TASK_ASSIGNED,
        "A colleague assigns me a task",
        "When someone else creates a task for you or hands one of theirs to you.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_MENTIONED,
        "A colleague mentions me in a note",
        "When a note says @ and your name or email address.",
        email_default=True,
    ),
]


def attach_note_bodies(touches: list[Touchpoint]) -> None:
    """One query for every note on the page; the body was sanitized by services.add_note when stored."""
    from smarketing.crm.models import Note

    by_note = {}
    for touch in touches:
        note_id = touch.details.get("note_id") if isinstance(touch.details, dict) else None
        if isinstance(note_id, int) and not isinstance(note_id, bool):
            by_note[note_id] = touch
    if by_note:
        for note_id, body in Note.objects.filter(pk__in=list(by_note)).values_list("id", "body"):
            by_note[note_id].note_html = body


CRM_KINDS = [
    TouchKind(CONTACT_CREATED, "Contact created", Team.SYSTEM),
    TouchKind(LIFECYCLE_CHANGED, "Lifecycle stage changed", Team.SYSTEM, template="crm/kinds/lifecycle_changed.html"),
    TouchKind(OWNER_CHANGED, "Owner changed", Team.SYSTEM),
    TouchKind(DEAL_CREATED, "Deal created", Team.SALES),
    TouchKind(DEAL_STAGE_CHANGED, "Deal stage changed", Team.SALES),
    TouchKind(DEAL_WON, "Deal won", Team.SALES),
    TouchKind(DEAL_LOST, "Deal lost", Team.SALES),
    TouchKind(MERGED, "Records merged", Team.SYSTEM),
    # Calls, sales emails and meetings sent through the API go through services.log_activity like the UI's.
    TouchKind(CALL_LOGGED, "Call", Team.SALES, api_creatable=True),
    TouchKind(EMAIL_LOGGED, "Sales email", Team.SALES, api_creatable=True),
    TouchKind(MEETING_LOGGED, "Meeting", Team.SALES, api_creatable=True),
    # Notes and tasks have their own endpoints, which write the note or task with its touch.
    TouchKind(NOTE_ADDED, "Note", Team.SALES, template="crm/kinds/note_added.html", decorate=attach_note_bodies),
    TouchKind(TASK_CREATED, "Task created", Team.SALES),
    TouchKind(TASK_COMPLETED, "Task completed", Team.SALES),
    TouchKind(TASK_REOPENED, "Task reopened", Team.SALES),
]

# ---------------------------------------------------------------------------------------------------------
# Interim home of the kinds of the pillars not built yet. Today the seed (crm/demo/) writes them and
# API clients record them (POST /api/v1/touchpoints), so they must be declared somewhere; the CRM, which holds
# the seed, keeps them until their pillar exists. Each pillar moves its own lines into its app's kinds.py
# (email moved to email/kinds.py, forms to forms/kinds.py; calendar: webinar/event attended,
# offer_pitched; ad_clicked to whichever app imports ads; scheduling moved meeting_booked to scheduling/kinds.py,
# content moved content_viewed to content/kinds.py).

OFFER_PITCHED = "offer_pitched"
WEBINAR_ATTENDED = "webinar_attended"
EVENT_ATTENDED = "event_attended"
AD_CLICKED = "ad_clicked"

INTERIM_KINDS = [
    TouchKind(OFFER_PITCHED, "Offer pitched", Team.SALES, api_creatable=True),
    TouchKind(WEBINAR_ATTENDED, "Webinar attended", Team.MARKETING, api_creatable=True),
    TouchKind(EVENT_ATTENDED, "Event attended", Team.MARKETING, api_creatable=True),
    TouchKind(AD_CLICKED, "Ad clicked", Team.MARKETING, api_creatable=True),
]

KINDS = [*CRM_KINDS, *INTERIM_KINDS]
