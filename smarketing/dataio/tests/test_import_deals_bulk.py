"""Deal imports: re-imports, stage moves, rejections, and the same rows as crm.services.create_deal writes."""

from django.db import connection
from django.db.models import Q
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from smarketing.core.models import AuditEntry, Event
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Deal, DealContact, DealStageChange, LifecycleChange
from smarketing.dataio.models import RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv, totals
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.models import Touchpoint

MAPPING = {"Name": "name", "Amount": "amount", "Stage": "stage", "Contact": "contact_email", "Id": "external_id"}


def deals_csv(count: int, stage: str = "Appointment scheduled", prefix: str = "Deal") -> str:
    lines = ["Id,Name,Amount,Stage,Contact"]
    lines += [f"x-{prefix}-{n},{prefix} {n},{100 + n},{stage}," for n in range(count)]
    return "\n".join(lines) + "\n"


class DealReimportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.pipeline = default_pipeline()

    def test_reimporting_the_same_file_changes_nothing(self):
        make_contact(None, email="jane@acme.com")
        text = "Id,Name,Amount,Stage,Contact\nx-1,One,100,Appointment scheduled,jane@acme.com\nx-2,Two,200,,\n"
        self.assertEqual(totals(run_csv(text, self.alice, "deal", mapping=MAPPING)), (2, 0, 0, 0))
        counts = (
            DealStageChange.objects.count(),
            Touchpoint.objects.count(),
            Event.objects.count(),
            LifecycleChange.objects.count(),
            DealContact.objects.count(),
        )
        versions = list(Deal.objects.order_by("id").values_list("version", "updated_at"))
        again = run_csv(text, self.alice, "deal", mapping=MAPPING)
        self.assertEqual(totals(again), (0, 0, 2, 0))
        self.assertEqual(
            (
                DealStageChange.objects.count(),
                Touchpoint.objects.count(),
                Event.objects.count(),
                LifecycleChange.objects.count(),
                DealContact.objects.count(),
            ),
            counts,
        )
        self.assertEqual(list(Deal.objects.order_by("id").values_list("version", "updated_at")), versions)

    def test_a_stage_change_records_one_history_row_and_one_touch(self):
        run_csv(deals_csv(3), self.alice, "deal", mapping=MAPPING)
        deal = Deal.objects.get(external_id="x-Deal-1")
        moved = deals_csv(3).replace("Deal 1,101,Appointment scheduled,", "Deal 1,101,Closed lost,")
        imp = run_csv(moved, self.alice, "deal", mapping=MAPPING)
        self.assertEqual(totals(imp), (0, 1, 2, 0))
        changes = DealStageChange.objects.filter(deal=deal).order_by("id")
        self.assertEqual([c.to_stage.name for c in changes], ["Appointment scheduled", "Closed lost"])
        last = changes.last()
        self.assertEqual(
            (last.from_stage.name, last.origin, last.actor), ("Appointment scheduled", "import", self.alice)
        )
        self.assertGreaterEqual(last.seconds_in_from, 0)
        touches = Touchpoint.objects.filter(deal=deal).exclude(kind=Kind.DEAL_CREATED)
        self.assertEqual([t.kind for t in touches], [Kind.DEAL_LOST])
        deal.refresh_from_db()
        self.assertEqual((deal.status, deal.stage.name), ("lost", "Closed lost"))
        self.assertEqual(deal.close_reason, f"Import #{imp.pk}")  # a file gives no reason: the import is named
        names = list(Event.objects.filter(object_id=str(deal.pk)).order_by("id").values_list("name", flat=True))
        self.assertEqual(names, ["deal.created", "deal.stage_changed", "deal.lost"])

    def test_rejected_rows_keep_their_reasons(self):
        theirs = services.create_deal(
            actor=self.cast["carol"], data={"name": "Theirs", "owner": self.cast["carol"]}, stage=self.first_stage()
        )
        text = (
            "Id,Name,Amount,Stage,Contact\n"
            ",Theirs,999,,\n"  # another owner's deal, imported by a member
            ",Ghost,1,,ghost@example.com\n"
            ",Mystery,1,Negotiation,\n"
            "only-id,,1,,\n"  # no name and no deal with this id
            ",Fine,1,,\n"
        )
        imp = run_csv(text, self.cast["bob"], "deal", mapping=MAPPING)
        self.assertEqual(totals(imp), (1, 0, 0, 4))
        reasons = dict(RejectedRow.objects.values_list("row_number", "reason"))
        self.assertIn("belongs to another owner", reasons[2])
        self.assertIn("no contact has the email ghost@example.com", reasons[3])
        self.assertIn("“Negotiation” is not a stage of", reasons[4])
        self.assertIn("Deal name: required to create a deal", reasons[5])
        theirs.refresh_from_db()
        self.assertEqual(theirs.amount, 0)

    def first_stage(self):
        return self.pipeline.stages.order_by("position").first()


class DealImportMatchesServicesTests(TempMediaMixin, TestCase):
    """An imported deal has the rows crm.services.create_deal writes: history, touches, events, promotion."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.pipeline = default_pipeline()

    def shape(self, deal: Deal, contact) -> dict:
        history = [
            (c.from_stage_id, c.to_stage_id, c.actor_id, c.seconds_in_from)
            for c in DealStageChange.objects.filter(deal=deal).order_by("id")
        ]
        deal_touches = [
            (t.kind, t.summary, t.contact_id == contact.pk, t.company_id, t.actor_id)
            for t in Touchpoint.objects.filter(deal=deal).order_by("id")
        ]
        contact_touches = [
            (t.kind, t.summary, t.team)
            for t in Touchpoint.objects.filter(contact=contact, deal__isnull=True).order_by("id")
        ]
        lifecycle = [
            (c.from_stage, c.to_stage, c.origin, c.reason) for c in LifecycleChange.objects.filter(contact=contact)
        ]
        events = list(
            Event.objects.filter(object_id=str(deal.pk), object_type="crm.deal").values_list("name", flat=True)
        )
        contact_events = list(
            Event.objects.filter(object_id=str(contact.pk), object_type="crm.contact").values_list("name", flat=True)
        )
        payload = Event.objects.get(name="deal.created", object_id=str(deal.pk)).payload
        payload = {k: v for k, v in payload.items() if k not in ("id", "created_at", "updated_at", "stage_entered_at")}
        links = list(DealContact.objects.filter(deal=deal).values_list("contact_id", "role"))
        mine = Q(object_type="crm.deal", object_id=str(deal.pk)) | Q(
            object_type="crm.contact", object_id=str(contact.pk)
        )
        audits = list(AuditEntry.objects.filter(mine).order_by("id").values_list("object_type", "action", "changes"))
        return {
            "deal": (deal.status, deal.stage_id, deal.amount, deal.owner_id, deal.version),
            "history": history,
            "touches": deal_touches,
            "contact_touches": contact_touches,
            "lifecycle": lifecycle,
            "events": events,
            "contact_events": contact_events,
            "payload": {k: v for k, v in payload.items() if k not in ("external_id", "name")},
            "links": [(c == contact.pk, role) for c, role in links],
            "audits": audits,
        }

    def test_an_imported_deal_matches_one_made_by_the_services(self):
        stage = self.pipeline.stages.order_by("position")[1]
        by_import = make_contact(None, email="imp@acme.com", lifecycle_stage="sql")
        by_service = make_contact(None, email="svc@acme.com", lifecycle_stage="sql")
        text = f"Id,Name,Amount,Stage,Contact\nx-1,Imported,1250,{stage.name},imp@acme.com\n"
        run_csv(text, self.alice, "deal", mapping=MAPPING)
        imported = Deal.objects.get(external_id="x-1")
        made = services.create_deal(
            actor=self.alice,
            data={"name": "Made", "amount": "1250"},
            stage=stage,
            contacts=[(by_service, "other")],
        )
        imported_shape, made_shape = self.shape(imported, by_import), self.shape(made, by_service)
        for name in ("touches", "contact_touches"):
            # The summaries name the deal; compare them with the names swapped.
            made_shape[name] = [tuple(str(v).replace("Made", "Imported") for v in t) for t in made_shape[name]]
            imported_shape[name] = [tuple(str(v) for v in t) for t in imported_shape[name]]
        self.assertEqual(imported_shape, made_shape)
        by_import.refresh_from_db()
        self.assertEqual(by_import.lifecycle_stage, "opportunity")


class DealImportQueryCountTests(TempMediaMixin, TestCase):
    """A chunk's queries do not grow with its rows: creates with contacts to promote, then stage moves."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        default_pipeline()

    def count(self, text: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            imp = run_csv(text, self.alice, "deal", mapping=MAPPING)
        self.assertEqual(imp.rejected, 0, list(RejectedRow.objects.values_list("reason", flat=True)))
        # record_touches is one bulk_create: SQLite splits it into batches by its parameter limit (~80 touches),
        # PostgreSQL writes up to 1000 at once. Count it as the one statement it is.
        touches = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "timeline_touchpoint"')]
        return len(queries) - len(touches) + (1 if touches else 0)

    def files(self, count: int, prefix: str) -> tuple[str, str]:
        for n in range(count):
            make_contact(None, email=f"{prefix}{n}@example.com", lifecycle_stage="sql")
        header = "Id,Name,Amount,Stage,Contact\n"
        rows = [f"{prefix}-{n},{prefix} {n},{n + 1},{{stage}},{prefix}{n}@example.com\n" for n in range(count)]
        body = "".join(rows)
        return header + body.format(stage="Appointment scheduled"), header + body.format(stage="Closed won")

    def test_queries_per_chunk_do_not_grow_with_rows(self):
        small_create, small_move = self.files(10, "small")
        large_create, large_move = self.files(100, "large")
        self.assertEqual(self.count(small_create), self.count(large_create))
        self.assertEqual(self.count(small_move), self.count(large_move))
        self.assertEqual(Deal.objects.filter(status="won").count(), 110)
        self.assertEqual(DealStageChange.objects.count(), 220)
        self.assertEqual(LifecycleChange.objects.filter(to_stage="customer").count(), 110)
