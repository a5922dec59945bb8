"""The OpenAPI schema, the docs page, and schemathesis fuzzing every operation in-process: no 5xx, ever."""

import os
import re

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.test import TestCase
from hypothesis import HealthCheck, settings

from smarketing.api import throttling, tokens
from smarketing.crm import services
from smarketing.crm.models import PropertyDefinition
from smarketing.testing import make_cast, make_company, make_contact, make_deal
from smarketing.wsgi import application


class SchemaTests(TestCase):
    def test_schema_describes_the_api(self):
        response = self.client.get("/api/schema/")
        self.assertEqual(response.status_code, 200)
        schema = response.json()
        self.assertTrue(schema["openapi"].startswith("3."))
        paths = schema["paths"]
        for path in (
            "/api/v1/contacts",
            "/api/v1/contacts/{id}",
            "/api/v1/contacts/batch/upsert",
            "/api/v1/deals/{id}/move",
            "/api/v1/touchpoints",
            "/api/v1/properties/{id}",
            "/api/v1/users",
            "/api/v1/teams",
            "/api/v1/pipelines",
            "/api/v1/stages",
            "/api/v1/tasks/{id}/complete",
            "/api/v1/notes",
        ):
            self.assertIn(path, paths)
        create = paths["/api/v1/contacts"]["post"]
        self.assertIn("Idempotency-Key", [p["name"] for p in create["parameters"]])
        self.assertEqual(
            create["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
        )
        listing = paths["/api/v1/contacts"]["get"]
        names = {p["name"] for p in listing["parameters"]}
        self.assertLessEqual({"cursor", "limit", "ordering", "expand", "email", "updated_at_after"}, names)
        self.assertIn("Retry-After", listing["responses"]["429"]["headers"])
        self.assertIn("If-Match", [p["name"] for p in paths["/api/v1/contacts/{id}"]["patch"]["parameters"]])
        self.assertEqual(schema["components"]["securitySchemes"]["tokenAuth"]["scheme"], "bearer")
        company = schema["components"]["schemas"]["Contact"]["properties"]["company"]
        self.assertEqual(company["oneOf"][1]["$ref"], "#/components/schemas/Company")
        self.assertEqual(paths["/api/v1/contacts"]["get"]["tags"], ["contacts"])

    def test_docs_page_is_server_rendered_without_cdn(self):
        response = self.client.get("/api/docs/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        for text in ("Idempotency-Key", "/api/v1/contacts/batch/upsert", 'id="problem-validation-error"', "Bearer"):
            self.assertIn(text, html)
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        self.assertFalse([s for s in sources if s.startswith(("http:", "https:", "//"))], sources)


# ---------------------------------------------------------------------------------------------------------
# Schemathesis


# Bounded so the run takes well under a minute. For a deep run (thousands of requests, several minutes):
# API_FUZZ_EXAMPLES=50 API_FUZZ_COVERAGE=1 pytest smarketing/api/tests/test_schema.py
FUZZ_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
FUZZ_COVERAGE = os.environ.get("API_FUZZ_COVERAGE") == "1"

# Loaded once at collection, in-process through the WSGI app (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "phases": {"coverage": {"enabled": FUZZ_COVERAGE}},
            # Valid and invalid requests: invalid ones must be refused (negative_data_rejection).
            "generation": {"mode": "all"},
            "checks": {
                # A request the schema allows may still break a rule no schema states: a duplicate email, a deal
                # that does not meet its stage's exit criteria, a cursor this API never issued, a stale
                # version. Those answers are documented 400/409/412/422 problems; any other code still fails.
                "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409", "412", "422"]},
            },
            "operations": [
                {
                    # By design a batch answers 200 with an outcome per record, "rejected" with field errors for
                    # an invalid one, so an invalid record is refused inside the 200, not with a 4xx.
                    "include-path-regex": "/batch/upsert$",
                    "checks": {"negative_data_rejection": {"enabled": False}},
                }
            ],
        }
    ),
)


@pytest.fixture
def fuzz_token(db, monkeypatch):
    monkeypatch.setattr(throttling, "RATE_PER_MINUTE", 1_000_000)
    cache.clear()
    cast = make_cast()
    # A few records with small ids, so generated ids sometimes hit real objects.
    PropertyDefinition.objects.create(
        object_type="contact", key="plan", label="Plan", type="choice", choices=["a", "b"]
    )
    company = make_company(None)
    contact = make_contact(None, company=company)
    make_deal(None, contacts=[contact])
    services.create_task(actor=cast["alice"], title="Call", contact=contact)
    services.add_note(contact, body_html="<p>hi</p>", actor=cast["alice"])
    # The content library (issue 12): an asset waiting for review and a guide entry, owned by mia, so alice (an
    # admin, not the owner) may edit and decide on them.
    from smarketing.content import guide
    from smarketing.content import services as content

    asset = content.create_asset(cast["mia"], title="Deck", asset_type="deck", url="https://example.com/deck")
    content.submit_for_review(asset, cast["mia"])
    guide.create_message(cast["mia"], kind="objection", title="Too expensive", body="Compare the tools it replaces.")
    # Requests go straight to the WSGI app, not through Django's test client, so (like the client does) stop
    # Django from closing the connection at the end of each request: that would end the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    # alice is an admin with a read_write token: every write path is exercised.
    yield tokens.create_token(cast["alice"], name="fuzz", scope="read_write")[1]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_schema(case, fuzz_token):
    """Every check schemathesis has: no 5xx, and status codes, headers, content types and bodies as documented,
    invalid input refused and valid input accepted."""
    headers = {"Authorization": f"Bearer {fuzz_token}"}
    response = case.call(headers=headers)
    case.validate_response(response, headers=headers)
