"""A client generated from the live schema by openapi-python-client does the everyday work unchanged, and the
real responses of every list endpoint validate against the schema.

Tests the schema, not the database, so it runs on SQLite only (once per CI run, not once per database).
"""

import copy
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker

from smarketing.api import throttling, tokens
from smarketing.crm.models import Company, Contact, Deal, Note, Task
from smarketing.testing import ensure_defaults, make_cast, make_contact

pytestmark = [
    pytest.mark.skipif(connection.vendor == "postgresql", reason="tests the schema, not the database"),
    pytest.mark.django_db(transaction=True),
]

PACKAGE = "smarketing_generated_client"


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory) -> Path:
    """The schema exactly as /api/schema/ serves it (same generator, same settings and hooks)."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(path), "--fail-on-warn")
    return path


@pytest.fixture(scope="session")
def api(schema_file, tmp_path_factory):
    """The generated package, imported; generated once per test session."""
    out = tmp_path_factory.mktemp("client")
    config = out / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no ruff formatting pass: not needed to import it
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # A warning means some part of the schema could not be turned into code: that part of the client is missing.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def op(api, tag: str, operation_id: str):
    """A generated operation module, e.g. op(api, "contacts", "v1_contacts_list")."""
    # The generator makes a tag a Python package name: "email-templates" -> email_templates.
    return importlib.import_module(f"{api.__name__}.api.{tag.replace('-', '_')}.{operation_id}")


def model(api, name: str):
    return getattr(importlib.import_module(f"{api.__name__}.models"), name)


@pytest.fixture
def alice(live_server):
    """An admin (every write path is open to her), with the default pipeline and teams in place."""
    ensure_defaults()  # a transactional test flushes the rows the data migration made
    return make_cast()["alice"]


@pytest.fixture
def client(api, live_server, alice, monkeypatch):
    monkeypatch.setattr(throttling, "RATE_PER_MINUTE", 1_000_000)
    cache.clear()
    token = tokens.create_token(alice, name="generated client", scope="read_write")[1]
    # raise_on_unexpected_status: an answer the schema does not document fails the test.
    with api.client.AuthenticatedClient(base_url=live_server.url, token=token, raise_on_unexpected_status=True) as c:
        yield c


def ok(response, status: int = 200):
    """The parsed model of a generated sync_detailed() response, after checking its status."""
    assert response.status_code == status, response.content[:1000]
    return response.parsed


def test_everyday_work_through_the_generated_client(api, client, alice):
    m = lambda name: model(api, name)  # noqa: E731
    for n in range(3):
        make_contact(None, email=f"seed{n}@example.com")

    # List with a cursor over two pages.
    contacts_list = op(api, "contacts", "v1_contacts_list")
    first = ok(contacts_list.sync_detailed(client=client, limit=2))
    assert len(first.results) == 2 and first.next_
    cursor = parse_qs(urlsplit(first.next_).query)["cursor"][0]
    second = ok(contacts_list.sync_detailed(client=client, limit=2, cursor=cursor))
    assert len(second.results) == 1 and second.next_ is None
    assert {c.email for c in first.results + second.results} == {f"seed{n}@example.com" for n in range(3)}

    # Create a company and a contact at it; PATCH the contact; change its lifecycle stage.
    company = ok(
        op(api, "companies", "v1_companies_create").sync_detailed(
            client=client, body=m("CompanyRequest")(name="Acme", domain="acme.example")
        ),
        201,
    )
    contact = ok(
        op(api, "contacts", "v1_contacts_create").sync_detailed(
            client=client,
            body=m("ContactRequest")(email="ada@acme.example", first_name="Ada", company=company.id, owner=alice.pk),
        ),
        201,
    )
    assert (contact.company, contact.lifecycle_stage) == (company.id, m("LifecycleStage").LEAD)
    patched = ok(
        op(api, "contacts", "v1_contacts_partial_update").sync_detailed(
            str(contact.id), client=client, body=m("PatchedContactRequest")(title="CTO", version=contact.version)
        )
    )
    assert (patched.title, patched.version) == ("CTO", contact.version + 1)
    moved = ok(
        op(api, "contacts", "v1_contacts_lifecycle_create").sync_detailed(
            str(contact.id), client=client, body=m("LifecycleRequest")(stage=m("LifecycleStage").SQL)
        )
    )
    assert moved.lifecycle_stage == m("LifecycleStage").SQL
    assert Contact.objects.get(pk=contact.id).lifecycle_stage == "sql"

    # expand as a generated client sends an array (expand=company&expand=owner): both are expanded.
    expand = model(api, "V1ContactsListExpandItem")
    listed = ok(contacts_list.sync_detailed(client=client, email="ada@acme.example", expand=list(expand))).results
    assert (listed[0].company.name, listed[0].owner.email) == ("Acme", alice.email)

    # A note and a task on the contact.
    note = ok(
        op(api, "notes", "v1_notes_create").sync_detailed(
            client=client, body=m("NoteInputRequest")(body="<p>Met at the fair</p>", contact=contact.id)
        ),
        201,
    )
    assert Note.objects.get(pk=note.id).contact_id == contact.id
    task = ok(
        op(api, "tasks", "v1_tasks_create").sync_detailed(
            client=client, body=m("TaskInputRequest")(title="Call back", contact=contact.id)
        ),
        201,
    )
    assert (task.title, Task.objects.get(pk=task.id).contact_id) == ("Call back", contact.id)

    # A deal with the contact, then moved to the next stage of its pipeline.
    stages = ok(op(api, "stages", "v1_stages_list").sync_detailed(client=client)).results
    deal = ok(
        op(api, "deals", "v1_deals_create").sync_detailed(
            client=client,
            body=m("DealRequest")(
                name="Acme pilot",
                amount="1200.00",
                company=company.id,
                contacts=[m("DealContactRequest")(contact=contact.id, role=m("DealContactRole").CHAMPION)],
            ),
        ),
        201,
    )
    assert deal.stage == stages[0].id
    next_stage = next(s for s in stages if s.pipeline == stages[0].pipeline and s.id != deal.stage)
    deal = ok(
        op(api, "deals", "v1_deals_move_create").sync_detailed(
            str(deal.id), client=client, body=m("MoveDealRequest")(stage=next_stage.id)
        )
    )
    assert deal.stage == next_stage.id == Deal.objects.get(pk=deal.id).stage_id

    # Batch upsert: one new contact, one update by email.
    result = ok(
        op(api, "contacts", "v1_contacts_batch_upsert_create").sync_detailed(
            client=client,
            body=m("ContactBatchRequest")(
                records=[
                    m("PatchedContactRequest")(email="new@example.com", first_name="New"),
                    m("PatchedContactRequest")(email="ada@acme.example", last_name="Lovelace"),
                ]
            ),
        )
    )
    assert [str(r.status) for r in result.results] == ["created", "updated"]
    assert (result.totals.created, result.totals.updated) == (1, 1)
    assert Contact.objects.get(email="ada@acme.example").last_name == "Lovelace"

    # Delete a record (alice is an admin).
    gone = Company.objects.create(name="Doomed")
    response = op(api, "companies", "v1_companies_destroy").sync_detailed(str(gone.pk), client=client)
    assert response.status_code == 204, response.content
    assert not Company.objects.filter(pk=gone.pk).exists()


# ---------------------------------------------------------------------------------------------------------
# Real list responses against the schema


def to_json_schema(node):
    """OpenAPI 3.0 to JSON Schema: `nullable: true` becomes "or null" (JSON Schema has no `nullable`)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        # Check this as OpenAPI 3.0 defines it: nullable only counts beside a `type` (it is ignored beside a
        # bare $ref or oneOf), so a nullable without a type stays non-nullable here and fails on a real null.
        if "type" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def list_operations(schema: dict) -> list[tuple[str, dict]]:
    """Every GET without a path parameter whose 200 answer is a paginated list."""
    found = []
    for path, item in schema["paths"].items():
        get = item.get("get")
        if "{" in path or not get:
            continue
        ref = get["responses"]["200"]["content"]["application/json"]["schema"].get("$ref", "")
        if ref.startswith("#/components/schemas/Paginated"):
            found.append((path, get))
    return found


def test_every_list_response_validates_against_the_schema(api, client, schema_file, alice):
    m = lambda name: model(api, name)  # noqa: E731
    schema = json.loads(schema_file.read_text())
    components = to_json_schema(copy.deepcopy(schema["components"]))

    # At least one of each resource, so no list is empty; nulls where a record has no company or deal.
    ok(
        op(api, "properties", "v1_properties_create").sync_detailed(
            client=client,
            body=m("PropertyDefinitionRequest")(
                object_type=m("ObjectType").CONTACT, key="plan", label="Plan", type_=m("PropertyType").TEXT
            ),
        ),
        201,
    )
    company = Company.objects.create(name="Initech")
    contact = make_contact(None, company=company, custom={"plan": "pro"})
    bare = make_contact(None)  # no company: its touches, tasks and notes carry "company": null
    for who in (contact, bare):
        ok(
            op(api, "notes", "v1_notes_create").sync_detailed(
                client=client, body=m("NoteInputRequest")(body="<p>hi</p>", contact=who.pk)
            ),
            201,
        )
        ok(
            op(api, "tasks", "v1_tasks_create").sync_detailed(
                client=client, body=m("TaskInputRequest")(title="Call", contact=who.pk)
            ),
            201,
        )
        ok(
            op(api, "touchpoints", "v1_touchpoints_create").sync_detailed(
                client=client,
                body=m("TouchpointInputRequest")(
                    kind=m("RecordableTouchpointKind").CALL_LOGGED, summary="Called", contact=who.pk
                ),
            ),
            201,
        )
    ok(
        op(api, "deals", "v1_deals_create").sync_detailed(
            client=client, body=m("DealRequest")(name="Big one", company=company.id)
        ),
        201,
    )

    # The email resources (email/api): a template through the generated client, a campaign through the service.
    from smarketing.email.blocks import default_blocks
    from smarketing.email.services import create_campaign

    ok(
        op(api, "email_templates", "v1_email_templates_create").sync_detailed(
            client=client,
            body=m("EmailTemplateRequest").from_dict({"name": "Welcome", "subject": "Hi", "blocks": default_blocks()}),
        ),
        201,
    )
    create_campaign(alice, name="Spring news", subject="Spring")

    # Segments and static lists (issue 8): one of each, so their lists are not empty either.
    from smarketing.accounts.access import system_actor
    from smarketing.segments import services as segment_services

    segment_services.create_segment(system_actor(), name="Everyone")
    segment_services.create_list(system_actor(), name="VIP")

    # Predictive model runs (issue 9, predictive): a run without history and a trained one, both shapes checked.
    from smarketing.scoring.models import ModelStatus, PredictiveModel

    PredictiveModel.objects.create(status=ModelStatus.INSUFFICIENT, message="Not enough history.")
    feature = {"name": "pricing_views", "kind": "count", "value": "", "label": "Pricing", "mean": 0.5, "scale": 1.0}
    PredictiveModel.objects.create(
        status=ModelStatus.TRAINED,
        auc=0.8,
        active=True,
        parameters={"algorithm": "lr", "intercept": 0.1, "window_days": 90, "features": [{**feature, "coef": 0.4}]},
    )

    # Issue 9's other lists: a form with a submission, a score group with a history line, a workflow with an
    # enrollment and its step run, so none of their list responses is empty.
    from smarketing.forms.models import Form, FormSubmission
    from smarketing.scoring.models import ScoreChange, ScoreGroup, ScoringRule
    from smarketing.workflows.models import Enrollment, StepRun, Workflow

    email_field = {"key": "email", "label": "Email", "type": "email", "maps_to": "contact.email", "required": True}
    form = Form.objects.create(name="Contact us", status="live", fields=[email_field])
    FormSubmission.objects.create(form=form, contact=contact, data={"email": contact.email})
    group = ScoreGroup.objects.create(name="Default", is_primary=True)
    rule = ScoringRule.objects.create(
        group=group, dimension="engagement", name="Pricing", condition={"kinds": ["page_viewed"]}, points=10
    )
    ScoreChange.objects.create(
        contact=contact, group=group, dimension="engagement", delta=10, score_after=10, reason="+10: Pricing", rule=rule
    )
    workflow = Workflow.objects.create(
        name="Nurture", status="active", trigger={"type": "manual", "params": {}}, definition={"steps": []}
    )
    enrollment = Enrollment.objects.create(workflow=workflow, contact=contact, status="completed")
    StepRun.objects.create(enrollment=enrollment, step_id="s1", step_type="set_property", status="done")
    # Issue 10: a handoff (rejected, so every field of the schema has a value) and the reasons.
    from smarketing.process.defaults import install_reasons
    from smarketing.process.models import Handoff, RejectionReason, StageGovernance

    install_reasons(RejectionReason)
    now = timezone.now()
    Handoff.objects.create(
        contact=contact,
        status="rejected",
        started_at=now,
        due_at=now,
        remind_at=now,
        decided_at=now,
        reason=RejectionReason.objects.first(),
        reason_text="No budget until Q3",
        source="paid",
    )
    StageGovernance.objects.create(
        lifecycle_stage="mql",
        role="SDR",
        checklist=["Reached?"],
        playbook="Call.",
        playbook_tasks=[{"title": "Call", "kind": "call", "due_days": 1}],
    )
    # Issue 11: a team meeting type with a host, and a canceled meeting (so every field of the schema has a value).
    from datetime import timedelta

    from smarketing.accounts.models import Team
    from smarketing.scheduling.models import Meeting, MeetingType, MeetingTypeHost

    team_type = MeetingType.objects.create(
        name="Demo", slug="demo", team=Team.objects.get(kind="sales"), assignment="round_robin", durations=[30]
    )
    MeetingTypeHost.objects.create(meeting_type=team_type, user=alice)
    Meeting.objects.create(
        meeting_type=team_type,
        host=alice,
        contact=contact,
        title="Demo with Pat",
        starts_at=now,
        ends_at=now + timedelta(minutes=30),
        status="canceled",
        uid="schema-test@smarketing",
        canceled_at=now,
        outcome_at=now,
    )

    # Issue 12: an approved asset (so its published version is an object) and a guide entry.
    from smarketing.content import guide
    from smarketing.content import services as content
    from smarketing.content.models import Persona

    persona = Persona.objects.create(name="CFO")
    asset = content.create_asset(
        alice,
        title="Pricing",
        asset_type="one_pager",
        url="https://example.com/pricing",
        personas=[persona],
        funnel_stages=["sql"],
        expires_on=now.date(),
        allow_self_approval=True,
    )
    content.submit_for_review(asset, alice)
    content.review(asset, alice, "approved", "Fine")
    message = guide.create_message(alice, kind="competitor", title="Rival", body="Notes", competitor="Rival")
    guide.submit_message(message, alice)

    operations = list_operations(schema)
    assert len(operations) >= 11, [path for path, _ in operations]
    for path, get in operations:
        response_schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        validator = Draft202012Validator(
            {"$ref": response_schema["$ref"], "components": components}, format_checker=FormatChecker()
        )
        assert list(validator.iter_errors({"next": None, "results": [{}]})), f"{path}: the check proves nothing"
        module = op(api, get["tags"][0], get["operationId"])
        # Unexpanded, and with every expansion the operation offers (sent as a generated client sends an array).
        variants = [{}]
        expand = next((p for p in get.get("parameters", []) if p["name"] == "expand"), None)
        if expand:
            item_type = next(v for k, v in vars(module).items() if k.endswith("ExpandItem"))
            variants.append({"expand": list(item_type)})
        for kwargs in variants:
            response = module.sync_detailed(client=client, **kwargs)
            assert response.status_code == 200, (path, response.content[:500])
            body = json.loads(response.content)
            assert body["results"], f"{path} lists nothing: the check would prove little"
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
            assert not errors, (path, kwargs, errors[:10])
