"""Forms for the demo: four live forms (Contact us, Demo request, Webinar registration, Newsletter) and their
submissions, derived from the chunk's `form_submitted` touches so the submissions list and the timelines agree.

The CRM generator (crm/demo/journey.py) decides who submitted which form and when: a `form_submitted` touch whose
details name the form ({"form": "Demo request"}). Each such touch of one of the four forms becomes a
`FormSubmission` with the touch's time and the contact's own email, name and company (what the form asked for).
The form's counters (`submission_count`, `last_submission_at`) are set once the rows are in (`finish`).
"""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db.models import Max

from smarketing.crm.demo.common import COLUMNS as CRM_COLUMNS
from smarketing.crm.demo.common import Chunk, Clock, Ids, _dumps
from smarketing.forms import fields
from smarketing.forms.models import Form, FormStatus, FormSubmission
from smarketing.forms.starters import STARTERS

SUBMISSION_COLUMNS = (
    "id form_id contact_id visitor_id status data consent_given consent_text page_url referrer utm ip user_agent "
    "spam_reason created_at confirmed_at"
).split()
TABLES = {"formsubmission": (FormSubmission, SUBMISSION_COLUMNS)}

WEBSITE = "https://www.demo.smarketing.local"
CONSENT = "I agree to receive the newsletter and product news from Smarketing Demo Inc. I can unsubscribe at any time."
# The generator's form name (in the touch's details) -> the demo form: name, starter, page, extra settings.
FORMS = {
    "Contact sales": ("Contact us", "contact_us", "/contact", {}),
    "Demo request": ("Demo request", "demo_request", "/demo", {"lifecycle_stage": "lead"}),
    "Webinar registration": ("Webinar registration", "webinar", "/webinars", {}),
    "Newsletter signup": (
        "Newsletter",
        "newsletter",
        "/newsletter",
        {"consent_enabled": True, "consent_required": True, "consent_text": CONSENT, "lifecycle_stage": "subscriber"},
    ),
}

_TOUCH = {name: i for i, name in enumerate(CRM_COLUMNS["touch"])}
_CONTACT = {name: i for i, name in enumerate(CRM_COLUMNS["contact"])}
_COMPANY = {name: i for i, name in enumerate(CRM_COLUMNS["company"])}


class FormsDemo:
    """Set-up once per seed (`prepare`: the four forms, reused by name), submissions per chunk (`rows`)."""

    def __init__(self, people: dict, *, seed: int, clock: Clock, ids: Ids):
        self.people = people
        self.seed = seed
        self.clock = clock
        self.ids = ids
        self.forms: dict[str, Form] = {}  # generator form name -> Form
        self.counts: Counter = Counter()

    def prepare(self) -> None:
        owner = self.people.get("maya")
        created = datetime.fromtimestamp(self.clock.start, UTC) - timedelta(days=30)
        existing = {f.name: f for f in Form.objects.filter(name__in=[spec[0] for spec in FORMS.values()])}
        for source, (name, starter, _page, extra) in FORMS.items():
            form = existing.get(name)
            if form is None:
                spec = STARTERS[starter]
                form = Form.objects.create(
                    name=name,
                    status=FormStatus.LIVE,
                    fields=fields.validate_definition(spec["fields"]),
                    title=spec.get("title", ""),
                    intro=spec.get("intro", ""),
                    submit_label=spec.get("submit_label", "Submit"),
                    allowed_origins=WEBSITE,
                    owner=owner,
                    created_at=created,
                    updated_at=created,
                    **extra,
                )
            self.forms[source] = form
        self.keys = {source: {f["key"] for f in form.fields} for source, form in self.forms.items()}

    def rows(self, chunk: Chunk) -> None:
        """Adds `formsubmission` rows: one per `form_submitted` touch of a demo form."""
        contacts = {row[0]: row for row in chunk.rows["contact"]}
        companies = {row[0]: row[_COMPANY["name"]] for row in chunk.rows["company"]}
        i_at, i_contact, i_kind, i_details = (
            _TOUCH["occurred_at"],
            _TOUCH["contact_id"],
            _TOUCH["kind"],
            _TOUCH["details"],
        )
        take = self.ids.take
        out = []
        for row in chunk.rows["touch"]:
            if row[i_kind] != "form_submitted":
                continue
            source = json.loads(row[i_details] or "{}").get("form")
            form = self.forms.get(source)
            contact = contacts.get(row[i_contact])
            if form is None or contact is None:
                continue
            keys = self.keys[source]
            values = {
                "email": contact[_CONTACT["email"]],
                "first_name": contact[_CONTACT["first_name"]],
                "last_name": contact[_CONTACT["last_name"]],
                "company": companies.get(contact[_CONTACT["company_id"]], ""),
                "job_title": contact[_CONTACT["title"]],
            }
            data = {key: value for key, value in values.items() if key in keys and value}
            consent = form.consent_enabled and contact[_CONTACT["consent_status"]] == "granted"
            page = WEBSITE + FORMS[source][2]
            # id form contact visitor status data consent_given consent_text page_url referrer utm ip user_agent
            # spam_reason created_at confirmed_at
            consent_text = form.consent_text if consent else ""
            out.append((take("formsubmission"), form.pk, contact[0], None, "accepted", _dumps(data), consent,
                        consent_text, page, "", "{}", None, "", "", row[i_at], None))  # fmt: skip
            self.counts[form.pk] += 1
        chunk.rows["formsubmission"] = out

    def finish(self) -> None:
        """The forms' counters, once their submissions are loaded (one read of each form's index range)."""
        for form in self.forms.values():
            last = FormSubmission.objects.filter(form=form).aggregate(at=Max("created_at"))["at"]
            Form.objects.filter(pk=form.pk).update(
                submission_count=FormSubmission.objects.filter(form=form).count(),
                last_submission_at=last,
            )
