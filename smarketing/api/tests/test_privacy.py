"""The API's privacy hook: a replayed Idempotency-Key response must not hand back an erased person's data."""

import json

from smarketing.api.models import IdempotencyKey
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm.models import Contact
from smarketing.privacy.services import erase_contact

ZELDA = {"email": "zelda.quixotewright@example.org", "first_name": "Zelda", "last_name": "Quixotewright"}
OTHER = {"email": "otto.other@example.org", "first_name": "Otto", "last_name": "Other", "title": "Buyer"}


class IdempotentReplayAfterErasureTests(ApiTestCase):
    def create(self, body, key):
        return self.post("/api/v1/contacts", body, token=self.tokens["bob"], idempotency_key=key)

    def assertNamesNobody(self, response, *needles):
        text = response.content.decode().lower()
        for needle in needles:
            self.assertNotIn(needle.lower(), text)

    def test_a_replay_after_erasure_does_not_return_the_persons_data(self):
        first = self.create({**ZELDA, "title": "Head of Procurement"}, "create-zelda")
        self.assertEqual(first.status_code, 201)
        self.assertContains(first, ZELDA["email"], status_code=201)
        contact = Contact.objects.get(email=ZELDA["email"])
        erase_contact(contact, actor=self.alice, reason="GDPR request, ticket 77")

        replay = self.create({**ZELDA, "title": "Head of Procurement"}, "create-zelda")
        self.assertEqual(replay.status_code, 201)
        self.assertEqual(replay["Idempotent-Replayed"], "true")
        self.assertNamesNobody(replay, ZELDA["email"], "Zelda", "Quixotewright", "Procurement")
        body = replay.json()
        self.assertEqual(body["id"], contact.pk)  # still the answer to that request, minus the person
        self.assertEqual(body["email"], "[erased]")
        # The key stays claimed: the replay did not create the person again.
        self.assertFalse(Contact.objects.filter(email=ZELDA["email"]).exists())
        self.assertEqual(Contact.objects.count(), 1)

    def test_other_records_in_the_same_stored_body_are_left_alone(self):
        zelda = self.create(ZELDA, "create-zelda").json()
        # A stored list response holding several people (as a future expand= or batch answer might).
        note = f"Met {ZELDA['email']} at the fair"
        body = {"results": [{**zelda, "company": {"name": "Acme Widgets"}}, {"id": 999, **OTHER}], "note": note}
        IdempotencyKey.objects.create(
            user=self.bob,
            key="listing",
            fingerprint="x" * 64,
            status=IdempotencyKey.Status.DONE,
            response_status=200,
            response_body=json.dumps(body),
        )
        erase_contact(Contact.objects.get(email=ZELDA["email"]), actor=self.alice, reason="GDPR request")
        stored = json.loads(IdempotencyKey.objects.get(key="listing").response_body)
        mine, other = stored["results"]
        self.assertEqual(other, {"id": 999, **OTHER})
        self.assertEqual((mine["id"], mine["email"], mine["first_name"]), (zelda["id"], "[erased]", "[erased]"))
        self.assertEqual(mine["company"], {"name": "[erased]"})
        self.assertEqual(mine["lifecycle_stage"], zelda["lifecycle_stage"])  # codes name nobody
        self.assertEqual(stored["note"], "Met [erased] at the fair")

    def test_responses_that_never_named_the_person_are_untouched(self):
        self.create(OTHER, "create-otto")
        self.create(ZELDA, "create-zelda")
        before = IdempotencyKey.objects.get(key="create-otto").response_body
        erase_contact(Contact.objects.get(email=ZELDA["email"]), actor=self.alice, reason="GDPR request")
        self.assertEqual(IdempotencyKey.objects.get(key="create-otto").response_body, before)
