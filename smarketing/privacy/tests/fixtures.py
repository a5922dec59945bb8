"""A person with data in every place the CRM keeps it, written through the real services."""

from smarketing.core.models import Origin
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import PropertyDefinition
from smarketing.forms import kinds as FormKind
from smarketing.testing import make_company, make_deal
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch

EMAIL = "zelda.quixotewright@example.org"
OLD_EMAIL = "zq.old@mailbox.example"
LAST_NAME = "Quixotewright"
PHONE = "+1 555 0199 77"
NEW_PHONE = "+1 555 0100 22"
EXTERNAL_ID = "HS-ZQ-991"
# Everything that identifies Zelda; none of it may survive an erasure anywhere in the database.
NEEDLES = [EMAIL, OLD_EMAIL, LAST_NAME, "555 0199", "555 0100", EXTERNAL_ID]


def make_person(alice, **overrides):
    """Zelda Quixotewright with custom properties, history, a deal, notes, tasks, a merge and marketing touches."""
    PropertyDefinition.objects.get_or_create(
        object_type="contact", key="nickname", defaults={"label": "Nickname", "type": "text"}
    )
    company = make_company(None, name="Acme Widgets", domain="acme-widgets.example")
    data = {
        "email": EMAIL,
        "first_name": "Zelda",
        "last_name": LAST_NAME,
        "title": "Head of Procurement",
        "phone": PHONE,
        "external_id": EXTERNAL_ID,
        "company": company,
        "custom": {"nickname": f"Zee {LAST_NAME}"},
        "first_source": "organic",
        "first_utm_source": "newsletter",
        "first_utm_medium": "email",
        "first_utm_campaign": "spring-launch",
        "last_utm_campaign": f"ref-{EMAIL}",
        "consent_status": "granted",
        "consent_basis": "consent",
        "consent_source": f"Signup form, {EMAIL}",
        **overrides,
    }
    contact = services.create_contact(actor=alice, data=data, origin=Origin.UI)
    contact = services.update_record(contact, actor=alice, data={"phone": NEW_PHONE, "title": "VP Procurement"})
    services.change_lifecycle_stage(
        contact, "mql", actor=alice, reason=f"{LAST_NAME} downloaded the pricing guide", origin=Origin.UI
    )
    # A duplicate merged into her: its audit entries and events sit under the duplicate's id.
    duplicate = services.create_contact(
        actor=alice, data={"email": OLD_EMAIL, "first_name": "Zelda", "last_name": LAST_NAME}, origin=Origin.UI
    )
    contact = services.merge_records(contact, duplicate, actor=alice)
    deal = make_deal(alice, contacts=[contact], name="Acme widgets renewal")
    stages = list(default_pipeline().stages.order_by("position"))
    services.move_deal_stage(deal, stages[1], actor=alice, reason="Budget confirmed")
    services.log_activity(
        contact,
        kind="call",
        summary=f"Called Zelda {LAST_NAME}",
        body=f"Write to {EMAIL} or call {NEW_PHONE}",
        outcome=f"{LAST_NAME} will sign",
        actor=alice,
    )
    services.add_note(contact, body_html=f"<p>Zelda {LAST_NAME} prefers email: {EMAIL}</p>", actor=alice)
    task = services.create_task(
        actor=alice, title=f"Send {LAST_NAME} the contract", description=f"To {EMAIL}", contact=contact
    )
    services.complete_task(task, actor=alice)
    # Mentions of her address on other records: a company note and a deal task.
    services.add_note(company, body_html=f"<p>Ask {EMAIL} for the PO number</p>", actor=alice)
    services.create_task(actor=alice, title=f"Chase PO with {EMAIL}", deal=deal)
    # Marketing touches with free-text details.
    record_touch(
        kind=FormKind.FORM_SUBMITTED,
        team=Team.MARKETING,
        contact=contact,
        summary=f"Form submitted by {EMAIL}",
        source="newsletter",
        details={"form_id": 7, "fields": {"email": EMAIL, "last_name": LAST_NAME}, "origin": "form"},
    )
    record_touch(
        kind=FormKind.PAGE_VIEWED,
        team=Team.MARKETING,
        contact=contact,
        summary="Viewed /pricing",
        source=EMAIL,
        details={"url": f"https://acme.example/pricing?email={EMAIL}", "campaign_id": 3, "kind": "web"},
    )
    contact.refresh_from_db()
    return contact, company, deal
