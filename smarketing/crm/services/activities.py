"""What reps do with records: logged calls, emails and meetings, notes, tasks."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import strip_tags

from smarketing.accounts.access import can_change_note, can_change_task
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.crm import access, summaries
from smarketing.crm import kinds as Kind
from smarketing.crm.mentions import mentioned_users, plain_text
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    Note,
    Task,
)
from smarketing.crm.sanitize import clean_html
from smarketing.crm.services.common import (
    _fk_id,
    _user,
    team_of,
)
from smarketing.notifications.services import notify
from smarketing.timeline.services import record_touch

ACTIVITY_KINDS = {"call": Kind.CALL_LOGGED, "email": Kind.EMAIL_LOGGED, "meeting": Kind.MEETING_LOGGED}


def _target_kwargs(target) -> dict:
    if isinstance(target, Contact):
        return {"contact": target}
    if isinstance(target, Company):
        return {"company": target}
    if isinstance(target, Deal):
        return {"deal": target}
    raise TypeError(f"cannot attach to {type(target).__name__}")


def _record_path(record) -> str:
    return reverse(f"{record._meta.model_name}_detail", args=[record.pk])


def _actor_name(actor) -> str:
    person = _user(actor)
    return person.display_name if person is not None else "Smarketing"


def _local_due(task: Task, user) -> str:
    try:
        zone = ZoneInfo(user.time_zone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return date_format(timezone.localtime(task.due_at, zone), "D, M j, g:i A")


def _notify_task_assigned(task: Task, actor) -> None:
    """Tell a task's owner that someone else gave it to them (notify() skips people assigning themselves)."""
    if task.owner_id is None:
        return
    record = task.deal or task.contact or task.company
    lines = []
    if task.due_at:
        lines.append(f"Due {_local_due(task, task.owner)}")
    if record is not None:
        lines.append(f"On {record}")
    notify(
        task.owner,
        kind=Kind.NOTIFY_TASK_ASSIGNED,
        title=f"{_actor_name(actor)} assigned you a task: {task.title}",
        body="\n".join(lines),
        url=_record_path(record) if record is not None else reverse("task_list"),
        actor=actor,
        about=record,
    )


def _notify_mentions(note: Note, target, actor, *, already: frozenset = frozenset()) -> None:
    """Tell each user the note mentions (but not the ones the note's previous text mentioned already)."""
    excerpt = plain_text(note.body)
    for user in mentioned_users(note.body):
        if user.pk in already:
            continue
        notify(
            user,
            kind=Kind.NOTIFY_MENTIONED,
            title=f"{_actor_name(actor)} mentioned you in a note on {target}",
            body=excerpt[:300] + ("…" if len(excerpt) > 300 else ""),
            url=_record_path(target),
            actor=actor,
            about=target,
        )


@transaction.atomic
def log_activity(
    target,
    *,
    kind: str,
    summary: str,
    actor,
    body: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
    origin: str = Origin.UI,
):
    """A call, sales email or meeting a rep had, written to the target's timeline."""
    access.require_log_activity(actor)  # on anyone's record: see crm/access.py
    if kind not in ACTIVITY_KINDS:
        raise ValidationError({"kind": "Choose call, email or meeting."})
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": "Say what happened."})
    if occurred_at and occurred_at > timezone.now() + timezone.timedelta(minutes=5):
        raise ValidationError({"occurred_at": "An activity you log cannot be in the future; create a task."})
    kwargs = _target_kwargs(target)
    if isinstance(target, Deal) and "contact" not in kwargs:
        kwargs["company"] = target.company
    return record_touch(
        kind=ACTIVITY_KINDS[kind],
        team=team_of(actor),
        actor=actor,
        summary=summary,
        occurred_at=occurred_at,
        details={"body": body[:10000], "outcome": outcome[:100]},
        **kwargs,
    )


@transaction.atomic
def add_note(target, *, body_html: str, actor, origin: str = Origin.UI) -> Note:
    access.require_log_activity(actor)  # on anyone's record: see crm/access.py
    body = clean_html(body_html)
    if not body:
        raise ValidationError({"body": "A note cannot be empty."})
    note = Note.objects.create(body=body, author=_user(actor), **_target_kwargs(target))
    excerpt = strip_tags(body)[:200]
    record_touch(
        kind=Kind.NOTE_ADDED,
        team=team_of(actor),
        actor=actor,
        summary=summaries.note_added(excerpt),
        details={"note_id": note.pk},
        **_target_kwargs(target),
    )
    _notify_mentions(note, target, actor)
    return note


@transaction.atomic
def create_task(
    *,
    actor,
    title: str,
    kind: str = Task.Kind.TODO,
    owner=None,
    due_at=None,
    description: str = "",
    contact=None,
    company=None,
    deal=None,
    origin: str = Origin.UI,
) -> Task:
    access.require_log_activity(actor)  # on anyone's record: see crm/access.py
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "A task needs a title."})
    if kind not in Task.Kind.values:
        raise ValidationError({"kind": "Choose call, email or to-do."})
    task = Task.objects.create(
        kind=kind,
        title=title[:200],
        description=description,
        due_at=due_at,
        owner=owner or _user(actor),
        created_by=_user(actor),
        contact=contact,
        company=company,
        deal=deal,
    )
    if contact or company or deal:
        record_touch(
            kind=Kind.TASK_CREATED,
            team=team_of(actor),
            actor=actor,
            contact=contact,
            company=company,
            deal=deal,
            summary=summaries.task_created(task.title),
            details={"task_id": task.pk, "kind": kind},
        )
    _notify_task_assigned(task, actor)
    return task


@transaction.atomic
def complete_task(task: Task, *, actor) -> Task:
    if not can_change_task(actor, task):
        raise access.PermissionDenied("Only the task's owner or a manager can complete it.")
    # Conditional update: a double click or two tabs complete the task once and log one touch.
    done = Task.objects.filter(pk=task.pk, completed_at__isnull=True).update(completed_at=timezone.now())
    task.refresh_from_db()
    if done and (task.contact_id or task.company_id or task.deal_id):
        record_touch(
            kind=Kind.TASK_COMPLETED,
            team=team_of(actor),
            actor=actor,
            contact=task.contact,
            company=task.company,
            deal=task.deal,
            summary=summaries.task_completed(task.title),
            details={"task_id": task.pk},
        )
    return task


@transaction.atomic
def reopen_task(task: Task, *, actor) -> Task:
    """Undo a completion: the task is open again, and the timeline says so (touches are never deleted)."""
    if not can_change_task(actor, task):
        raise access.PermissionDenied("Only the task's owner or a manager can reopen it.")
    reopened = Task.objects.filter(pk=task.pk, completed_at__isnull=False).update(completed_at=None)
    task.refresh_from_db()
    if reopened:
        record_audit(actor=actor, action="reopen", obj=task, origin=Origin.UI)
        if task.contact_id or task.company_id or task.deal_id:
            record_touch(
                kind=Kind.TASK_REOPENED,
                team=team_of(actor),
                actor=actor,
                contact=task.contact,
                company=task.company,
                deal=task.deal,
                summary=summaries.task_reopened(task.title),
                details={"task_id": task.pk},
            )
    return task


TASK_FIELDS = ("kind", "title", "description", "due_at", "owner")


@transaction.atomic
def update_task(task: Task, *, actor, data: dict, origin: str = Origin.UI) -> Task:
    """Change a task's kind, title, description, due date or owner (its owner, creator or a manager may)."""
    if not can_change_task(actor, task):
        raise access.PermissionDenied("Only the task's owner or a manager can change it.")
    unknown = set(data) - set(TASK_FIELDS)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    if "title" in data and not str(data["title"] or "").strip():
        raise ValidationError({"title": "A task needs a title."})
    if "kind" in data and data["kind"] not in Task.Kind.values:
        raise ValidationError({"kind": "Choose call, email or to-do."})
    changes = {}
    for name, value in data.items():
        field = Task._meta.get_field(name)
        value = _fk_id(value) if field.is_relation else (value.strip()[:200] if name == "title" else value)
        if getattr(task, field.attname) != value:
            changes[name] = (getattr(task, field.attname), value)
            setattr(task, field.attname, value)
    if changes:
        task.save(update_fields=[Task._meta.get_field(n).attname for n in changes])
        record_audit(actor=actor, action="update", obj=task, changes=changes, origin=origin)
        if "owner" in changes:
            _notify_task_assigned(task, actor)
    return task


@transaction.atomic
def delete_task(task: Task, *, actor, origin: str = Origin.UI) -> None:
    if not can_change_task(actor, task):
        raise access.PermissionDenied("Only the task's owner or a manager can delete it.")
    record_audit(actor=actor, action="delete", obj=task, origin=origin)
    task.delete()


@transaction.atomic
def update_note(note: Note, *, actor, body_html: str, origin: str = Origin.UI) -> Note:
    if not can_change_note(actor, note):
        raise access.PermissionDenied("Only the note's author or a manager can change it.")
    body = clean_html(body_html)
    if not body:
        raise ValidationError({"body": "A note cannot be empty."})
    if body != note.body:
        record_audit(actor=actor, action="update", obj=note, changes={"body": (note.body, body)}, origin=origin)
        before = frozenset(u.pk for u in mentioned_users(note.body))
        note.body = body
        note.save(update_fields=["body"])
        target = note.deal or note.contact or note.company
        if target is not None:
            _notify_mentions(note, target, actor, already=before)
    return note


@transaction.atomic
def delete_note(note: Note, *, actor, origin: str = Origin.UI) -> None:
    if not can_change_note(actor, note):
        raise access.PermissionDenied("Only the note's author or a manager can delete it.")
    record_audit(actor=actor, action="delete", obj=note, changes={"body": (note.body, None)}, origin=origin)
    note.delete()
