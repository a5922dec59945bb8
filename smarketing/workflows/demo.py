"""The demo's workflows: a nurture for demo-request leads (form submitted → wait → email → wait → if clicked →
MQL and a task for the owner) and an MQL handoff (lifecycle became MQL → a call task for the owner that the
handoff pillar routed it to). Both are built and run through the real services and runner after the seed has
loaded, so their enrollments sit at different steps with real step runs: recent submitters are still waiting,
older ones got the email, MQLs have their task."""

import time
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Team, TeamKind
from smarketing.core.models import Origin
from smarketing.crm.models import Contact
from smarketing.email.models import EmailTemplate
from smarketing.forms.models import Form, FormSubmission
from smarketing.mail.models import SenderIdentity
from smarketing.workflows import runner, services
from smarketing.workflows.models import Enrollment, Workflow

NURTURE = "Nurture: demo requests"
HANDOFF = "MQL handoff to sales"


def _nurture(form: Form, template: EmailTemplate, sender: SenderIdentity) -> dict:
    return {
        "name": NURTURE,
        "description": "Warms up demo requests and hands the ones who click to sales",
        "trigger": {"type": "form_submitted", "params": {"form": form.pk}},
        "definition": {
            "steps": [
                {"id": "wait1", "type": "wait", "params": {"duration": {"days": 2}}},
                {
                    "id": "email1",
                    "type": "send_email",
                    "params": {"template": template.pk, "sender": sender.pk, "subject": "Your Smarketing demo"},
                },
                {"id": "wait2", "type": "wait", "params": {"duration": {"days": 3}}},
                {
                    "id": "clicked",
                    "type": "if",
                    "params": {"email": {"step": "email1", "event": "clicked"}},
                    "yes": [
                        {"id": "mql", "type": "change_lifecycle_stage", "params": {"stage": "mql"}},
                        {
                            "id": "task1",
                            "type": "create_task",
                            "params": {"title": "Follow up: clicked the demo email", "kind": "call", "due_in_days": 1},
                        },
                    ],
                    "no": [],
                },
            ]
        },
    }


def _handoff(team: Team) -> dict:
    # The handoff pillar (smarketing.process) routes each new MQL and runs its SLA; this workflow adds the call
    # task for whoever it was routed to (a second owner assignment here would fight the routing).
    return {
        "name": HANDOFF,
        "description": f"Every new MQL gets a call task for the {team.name} rep the handoff routed it to",
        "trigger": {"type": "lifecycle_changed", "params": {"stage": "mql"}},
        "definition": {
            "steps": [
                {
                    "id": "call",
                    "type": "create_task",
                    "params": {"title": "Call the new MQL", "kind": "call", "due_in_days": 1},
                },
            ]
        },
    }


def seed_workflows(out: Callable[[str], None] = print) -> None:
    """Build, activate and run the two demo workflows (once: a second seed leaves them be)."""
    if Workflow.objects.filter(name__in=[NURTURE, HANDOFF]).exists():
        return
    form = Form.objects.filter(name="Demo request").first()
    template = EmailTemplate.objects.order_by("id").first()
    sender = SenderIdentity.objects.order_by("-is_default", "id").first()
    team = Team.objects.filter(kind=TeamKind.SALES).order_by("id").first()
    if not (form and template and sender and team):
        out("Demo workflows skipped: the seed made no demo form, email template, sender or sales team.")
        return
    started = time.monotonic()
    actor = system_actor(Origin.SEED)
    nurture = services.create_workflow(actor=actor, data=_nurture(form, template, sender))
    handoff = services.create_workflow(actor=actor, data=_handoff(team))
    services.activate(nurture, actor=actor)
    services.activate(handoff, actor=actor)
    # The nurture takes the form's latest submitters; the handoff the latest MQLs.
    submitters = list(
        FormSubmission.objects.filter(form=form, contact__isnull=False)
        .order_by("-id")
        .values_list("contact_id", flat=True)[:40]
    )
    mqls = list(
        Contact.objects.filter(lifecycle_stage="mql")
        .order_by("-lifecycle_changed_at")
        .values_list("id", flat=True)[:12]
    )
    services.enroll_contacts(nurture, dict.fromkeys(submitters))
    services.enroll_contacts(handoff, dict.fromkeys(mqls))
    # Run the real runner now, then "later" for the older half of the nurture, so enrollments sit at different
    # steps: the newest still wait, the older ones got the email and now wait to see whether they click.
    now = timezone.now()
    runner.run_due(now=now)
    older = list(
        Enrollment.objects.filter(workflow=nurture, status="active").order_by("id").values_list("id", flat=True)
    )[: len(submitters) // 2]
    Enrollment.objects.filter(pk__in=older).update(next_run_at=now)
    runner.run_due(now=now + timedelta(seconds=1))
    out(
        f"Demo workflows in {time.monotonic() - started:.1f} s: '{NURTURE}' with "
        f"{Enrollment.objects.filter(workflow=nurture).count()} enrollments, '{HANDOFF}' with "
        f"{Enrollment.objects.filter(workflow=handoff).count()}."
    )
