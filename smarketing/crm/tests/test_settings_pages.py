"""The CRM's settings pages through HTTP: the index, pipelines and stages, lifecycle stages, custom
properties, and deactivating a user with their records. Cast: alice admin, carol manager, bob member."""

from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.models import Team, User
from smarketing.core.models import AuditEntry
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import (
    Contact,
    Deal,
    DealStageChange,
    LifecycleStageSetting,
    Pipeline,
    PropertyDefinition,
    Stage,
    Task,
)
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


def stage_data(name, **extra):
    return {"form": "stage", "name": name, "probability": 10, "team": "sales", "outcome": "open", **extra}


class SettingsIndexTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_admins_see_every_page_managers_what_they_may_read_members_nothing(self):
        self.client.force_login(self.cast["alice"])
        page = self.client.get(reverse("settings_index"))
        for url in ("settings_users", "settings_teams", "settings_pipelines", "settings_lifecycle", "property_list"):
            self.assertContains(page, f'href="{reverse(url)}"')
        self.assertContains(page, reverse("webhooks:endpoint_list"))
        self.assertContains(self.client.get(reverse("home")), f'href="{reverse("settings_index")}"')
        self.client.force_login(self.cast["carol"])
        page = self.client.get(reverse("settings_index"))
        self.assertContains(page, reverse("settings_pipelines"))
        self.assertNotContains(page, reverse("property_list"))
        self.assertContains(self.client.get(reverse("home")), f'href="{reverse("settings_index")}"')
        for name in ("bob", "mia", "rory"):
            self.client.force_login(self.cast[name])
            self.assertEqual(self.client.get(reverse("settings_index")).status_code, 403)
            self.assertNotContains(self.client.get(reverse("home")), f'href="{reverse("settings_index")}"')

    def test_pages_managers_may_read_and_not_change(self):
        stage = default_pipeline().stages.first()
        urls = [
            reverse("settings_pipelines"),
            reverse("settings_pipeline", args=[stage.pipeline_id]),
            reverse("settings_stage", args=[stage.pk]),
            reverse("settings_lifecycle"),
        ]
        for name, expected in (("alice", 200), ("carol", 200), ("bob", 403), ("rory", 403)):
            self.client.force_login(self.cast[name])
            for url in urls:
                with self.subTest(name=name, url=url):
                    self.assertEqual(self.client.get(url).status_code, expected)
        self.client.force_login(self.cast["carol"])
        posts = [
            (reverse("settings_pipelines"), {"name": "Carol's"}),
            (reverse("settings_stage", args=[stage.pk]), stage_data("Renamed")),
            (reverse("settings_stage_order", args=[stage.pipeline_id]), {"move": f"{stage.pk}:down"}),
            (reverse("settings_stage_delete", args=[stage.pk]), {}),
            (reverse("settings_lifecycle"), {"description_mql": "x"}),
        ]
        for url, data in posts:
            with self.subTest(url=url):
                self.assertEqual(self.client.post(url, data).status_code, 403)
        self.assertEqual(Stage.objects.get(pk=stage.pk).name, stage.name)
        self.assertFalse(AuditEntry.objects.filter(actor=self.cast["carol"]).exists())


class PipelineTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def create(self, name="Partner pipeline"):
        response = self.client.post(reverse("settings_pipelines"), {"name": name})
        pipeline = Pipeline.objects.get(name=name)
        self.assertRedirects(response, reverse("settings_pipeline", args=[pipeline.pk]))
        return pipeline

    def add(self, pipeline, name, **extra):
        return self.client.post(reverse("settings_pipeline", args=[pipeline.pk]), stage_data(name, **extra))

    def names(self, pipeline):
        return list(pipeline.stages.order_by("position").values_list("name", flat=True))

    def test_create_a_pipeline_with_stages_and_exit_criteria(self):
        pipeline = self.create()
        self.assertFalse(pipeline.is_default)
        self.add(pipeline, "Intro", exit_criteria=["contacts", "amount"], target_days=7, probability=20)
        self.add(pipeline, "Won", outcome="won", probability=100)
        self.add(pipeline, "Lost", outcome="lost", probability=0)
        self.assertEqual(self.names(pipeline), ["Intro", "Won", "Lost"])
        intro = pipeline.stages.get(name="Intro")
        self.assertEqual((intro.exit_criteria, intro.target_days, intro.probability), (["contacts", "amount"], 7, 20))
        entry = AuditEntry.objects.get(object_type="crm.stage", object_id=str(intro.pk))
        self.assertEqual(entry.changes["exit criteria"], [None, "At least one contact, Amount"])
        self.assertEqual(entry.object_repr, "Intro (Partner pipeline)")
        page = self.client.get(reverse("settings_pipeline", args=[pipeline.pk]))
        self.assertContains(page, "At least one contact, Amount")
        self.assertContains(page, '<span class="badge won">Won</span>', html=True)
        # The board checks the criterion: the deal cannot leave Intro without a contact.
        deal = make_deal(None, stage=intro)
        with self.assertRaisesMessage(ValidationError, "fill in: Contacts"):
            services.move_deal_stage(deal, pipeline.stages.get(name="Won"), actor=self.cast["alice"])

    def test_bad_stage_input_is_refused_with_every_value_kept(self):
        pipeline = self.create()
        self.add(pipeline, "Intro")
        response = self.add(pipeline, "intro", probability=140, target_days=0, exit_criteria=["custom.nope"])
        self.assertEqual(response.status_code, 400)
        for text in ("Ensure this value is less than or equal to 100", "greater than or equal to 1", "not one of"):
            self.assertContains(response, text, status_code=400)
        response = self.add(pipeline, "intro", probability=50)
        self.assertContains(response, "already has a stage called intro", status_code=400)
        self.assertContains(response, 'value="intro"', status_code=400)
        response = self.add(pipeline, "Won", outcome="won", exit_criteria=["amount"])
        self.assertContains(response, "Only open stages have exit criteria", status_code=400)
        self.assertEqual(self.names(pipeline), ["Intro"])

    def test_custom_deal_properties_are_exit_criteria_too(self):
        services.define_property(
            actor=self.cast["alice"], object_type="deal", key="budget_ok", label="Budget confirmed", type="boolean"
        )
        pipeline = self.create()
        page = self.client.get(reverse("settings_pipeline", args=[pipeline.pk]))
        self.assertContains(page, 'value="custom.budget_ok"')
        self.add(pipeline, "Intro", exit_criteria=["custom.budget_ok"])
        self.assertEqual(pipeline.stages.get().exit_criteria, ["custom.budget_ok"])

    def test_reorder_by_drag_order_and_by_buttons_audited(self):
        pipeline = self.create()
        for name in ("A", "B", "C"):
            self.add(pipeline, name)
        ids = dict(pipeline.stages.values_list("name", "pk"))
        url = reverse("settings_stage_order", args=[pipeline.pk])
        response = self.client.post(url, {"order": [ids["C"], ids["A"], ids["B"]]})
        self.assertRedirects(response, reverse("settings_pipeline", args=[pipeline.pk]))
        self.assertEqual(self.names(pipeline), ["C", "A", "B"])
        self.client.post(url, {"move": f"{ids['B']}:up"})
        self.assertEqual(self.names(pipeline), ["C", "B", "A"])
        self.client.post(url, {"move": f"{ids['C']}:up"})  # already first: nothing moves
        self.assertEqual(self.names(pipeline), ["C", "B", "A"])
        entries = AuditEntry.objects.filter(action="reorder", object_id=str(pipeline.pk))
        self.assertEqual(entries.count(), 2)
        self.assertEqual(entries.first().changes["stage order"], ["C → A → B", "C → B → A"])
        response = self.client.post(url, {"order": [ids["A"], ids["B"]]}, follow=True)
        self.assertContains(response, "reload it and try again")
        self.assertEqual(self.names(pipeline), ["C", "B", "A"])

    def test_the_outcome_of_a_stage_holding_deals_cannot_change(self):
        stage = default_pipeline().stages.order_by("position").first()
        make_deal(None, stage=stage)
        data = stage_data(stage.name, outcome="won", exit_criteria=[])
        response = self.client.post(reverse("settings_stage", args=[stage.pk]), data)
        self.assertContains(response, "holds deals", status_code=400)
        self.assertEqual(Stage.objects.get(pk=stage.pk).outcome, "open")
        response = self.client.post(
            reverse("settings_stage", args=[stage.pk]), stage_data("First call", probability=15)
        )
        self.assertRedirects(response, reverse("settings_pipeline", args=[stage.pipeline_id]))
        entry = AuditEntry.objects.get(object_type="crm.stage", action="update")
        self.assertEqual(entry.changes["name"], ["Appointment scheduled", "First call"])
        self.assertEqual(entry.changes["exit criteria"], ["At least one contact", ""])

    def test_removing_a_stage_with_deals_asks_where_they_go(self):
        pipeline = default_pipeline()
        stages = list(pipeline.stages.order_by("position"))
        first, second = stages[0], stages[1]
        deals = [make_deal(None, stage=first) for _ in range(3)]
        url = reverse("settings_stage_delete", args=[first.pk])
        page = self.client.get(url)
        self.assertContains(page, "3 deals")
        self.assertContains(page, "Move its deals to")
        with self.assertRaisesMessage(ValidationError, "Choose the stage they move to"):
            services.remove_stage(first, actor=self.cast["alice"])
        response = self.client.post(url, {"move_to": ""})
        self.assertEqual(response.status_code, 400)
        self.assertTrue(Stage.objects.filter(pk=first.pk).exists())
        response = self.client.post(url, {"move_to": second.pk})
        self.assertRedirects(response, reverse("settings_pipeline", args=[pipeline.pk]))
        self.assertFalse(Stage.objects.filter(pk=first.pk).exists())
        for deal in deals:
            deal.refresh_from_db()
            self.assertEqual((deal.stage_id, deal.status), (second.pk, "open"))
            self.assertTrue(DealStageChange.objects.filter(deal=deal, to_stage=second, from_stage=None).exists())
            touch = Touchpoint.objects.get(deal=deal, kind=Kind.DEAL_STAGE_CHANGED)
            self.assertIn("Appointment scheduled", touch.summary)
        self.assertEqual(list(pipeline.stages.order_by("position").values_list("position", flat=True)), list(range(6)))
        entry = AuditEntry.objects.get(object_type="crm.stage", action="delete")
        self.assertEqual(entry.changes["deals moved"], [None, "3 to Qualified to buy"])

    def test_moving_deals_into_a_lost_stage_closes_them(self):
        pipeline = default_pipeline()
        first = pipeline.stages.order_by("position").first()
        lost = pipeline.stages.get(outcome="lost")
        deal = make_deal(None, stage=first)
        services.remove_stage(first, actor=self.cast["alice"], move_to=lost)
        deal.refresh_from_db()
        self.assertEqual(deal.status, "lost")
        self.assertIsNotNone(deal.closed_at)

    def test_empty_stage_removal_and_pipeline_deletion_rules(self):
        pipeline = self.create()
        self.add(pipeline, "Only")
        only = pipeline.stages.get()
        self.assertContains(
            self.client.get(reverse("settings_stage_delete", args=[only.pk])), "No deals are in this stage"
        )
        make_deal(None, stage=only)
        response = self.client.post(reverse("settings_pipeline_delete", args=[pipeline.pk]), follow=True)
        self.assertContains(response, "holds deals")
        self.assertTrue(Pipeline.objects.filter(pk=pipeline.pk).exists())
        page = self.client.get(reverse("settings_stage_delete", args=[only.pk]))
        self.assertContains(page, "has no other stage")
        Deal.objects.filter(pipeline=pipeline).delete()
        response = self.client.post(reverse("settings_pipeline_delete", args=[pipeline.pk]))
        self.assertRedirects(response, reverse("settings_pipelines"))
        self.assertFalse(Pipeline.objects.filter(pk=pipeline.pk).exists())

    def test_default_pipeline_is_handed_on(self):
        pipeline = self.create()
        response = self.client.post(
            reverse("settings_pipeline", args=[pipeline.pk]),
            {"form": "pipeline", "name": "Partners", "is_default": "on"},
        )
        self.assertRedirects(response, reverse("settings_pipeline", args=[pipeline.pk]))
        self.assertEqual(list(Pipeline.objects.filter(is_default=True)), [pipeline])
        self.assertEqual(Pipeline.objects.get(pk=pipeline.pk).name, "Partners")

    def test_pipeline_pages_run_a_constant_number_of_queries(self):
        pipeline = default_pipeline()
        url = reverse("settings_pipeline", args=[pipeline.pk])
        self.client.get(url)
        with self.assertNumQueries(7):
            self.client.get(url)
        self.add(pipeline, "Extra one", exit_criteria=["company"])
        with self.assertNumQueries(7):
            self.client.get(url)
        with self.assertNumQueries(4):
            self.client.get(reverse("settings_pipelines"))

    def test_the_empty_board_links_admins_to_the_pipeline_settings(self):
        Deal.objects.all().delete()
        Pipeline.objects.all().delete()
        self.assertContains(self.client.get(reverse("pipeline_board")), f'href="{reverse("settings_pipelines")}"')
        self.client.force_login(self.cast["bob"])
        page = self.client.get(reverse("pipeline_board"))
        self.assertNotContains(page, f'href="{reverse("settings_pipelines")}"')
        self.assertContains(page, "Ask an admin")


class LifecycleSettingsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_admin_writes_definitions_and_owning_teams(self):
        self.client.force_login(self.cast["alice"])
        page = self.client.get(reverse("settings_lifecycle"))
        self.assertContains(page, "Marketing-qualified lead")
        marketing = Team.objects.get(name="Marketing")
        data = {"description_mql": "Fit score 50+ and a demo request", "team_mql": marketing.pk}
        response = self.client.post(reverse("settings_lifecycle"), data)
        self.assertRedirects(response, reverse("settings_lifecycle"))
        setting = LifecycleStageSetting.objects.get(stage="mql")
        self.assertEqual((setting.description, setting.team), ("Fit score 50+ and a demo request", marketing))
        self.assertEqual(LifecycleStageSetting.objects.count(), 1)  # untouched stages store nothing
        entry = AuditEntry.objects.get(object_type="crm.lifecyclestagesetting")
        self.assertEqual(entry.changes["team"], ["", "Marketing"])
        self.assertEqual(entry.object_repr, "Lifecycle stage Marketing-qualified lead")
        self.assertContains(self.client.get(reverse("settings_lifecycle")), "Fit score 50+ and a demo request")
        self.client.post(reverse("settings_lifecycle"), data)  # the same again: no new audit entry
        self.assertEqual(AuditEntry.objects.filter(object_type="crm.lifecyclestagesetting").count(), 1)


class PropertyEditTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.persona = services.define_property(
            actor=cls.cast["alice"],
            object_type="contact",
            key="persona",
            label="Persona",
            type="choice",
            choices=["Buyer", "User"],
        )

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_edit_label_help_choices_and_required(self):
        url = reverse("property_edit", args=[self.persona.pk])
        page = self.client.get(url)
        self.assertContains(page, "Buyer\nUser")
        data = {
            "label": "Buyer persona",
            "help_text": "Who they are in the deal",
            "choices_text": "Buyer\nUser\nAdmin",
            "required": "on",
            "position": 2,
        }
        self.assertRedirects(self.client.post(url, data), reverse("property_list"))
        self.persona.refresh_from_db()
        self.assertEqual(
            (self.persona.label, self.persona.help_text, self.persona.choices, self.persona.required),
            ("Buyer persona", "Who they are in the deal", ["Buyer", "User", "Admin"], True),
        )
        entry = AuditEntry.objects.get(object_type="crm.propertydefinition", action="update")
        self.assertEqual(entry.changes["required"], [False, True])
        # The record form shows the help and requires the field; imports and the API may still leave it empty.
        self.client.force_login(self.cast["bob"])
        form = self.client.get(reverse("contact_create"))
        self.assertContains(form, "Who they are in the deal")
        self.assertContains(form, 'name="cp_persona" required')
        response = self.client.post(
            reverse("contact_create"),
            {"email": "p@example.com", "lifecycle_stage": "lead", "consent_status": "unknown"},
        )
        self.assertFalse(Contact.objects.filter(email="p@example.com").exists())
        self.assertContains(response, "This field is required")
        make_contact(None, email="imported@example.com")  # the service path does not require it

    def test_empty_choices_are_refused_and_the_key_cannot_change(self):
        url = reverse("property_edit", args=[self.persona.pk])
        response = self.client.post(url, {"label": "Persona", "choices_text": "  \n"})
        self.assertContains(response, "needs at least one choice", status_code=400)
        self.assertEqual(PropertyDefinition.objects.get(pk=self.persona.pk).choices, ["Buyer", "User"])
        self.assertNotContains(self.client.get(url), 'name="key"')

    def test_the_add_form_suggests_the_key_from_the_label(self):
        page = self.client.get(reverse("property_list"))
        self.assertContains(page, 'data-slug-source="id_key"')
        self.assertContains(page, "crm/settings.js")
        self.assertContains(page, f'href="{reverse("property_edit", args=[self.persona.pk])}"')

    def test_members_and_managers_cannot_edit(self):
        for name in ("bob", "carol"):
            self.client.force_login(self.cast[name])
            url = reverse("property_edit", args=[self.persona.pk])
            self.assertEqual(self.client.get(url).status_code, 403)
            self.assertEqual(self.client.post(url, {"label": "x"}).status_code, 403)


class DeactivateTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        bob = cls.cast["bob"]
        cls.contacts = [make_contact(None, owner=bob) for _ in range(3)]
        cls.deal = make_deal(None, owner=bob)
        services.create_task(actor=bob, title="Call back", owner=bob)

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_shows_what_they_own_and_reassigns_it(self):
        bob, carol = self.cast["bob"], self.cast["carol"]
        url = reverse("settings_user_deactivate", args=[bob.pk])
        page = self.client.get(url)
        self.assertContains(page, "<strong>3</strong> contacts", html=True)
        self.assertContains(page, "<strong>1</strong> deals", html=True)
        self.assertContains(page, "<strong>1</strong> open tasks", html=True)
        self.assertNotContains(page, f"Reassign to {self.cast['rory']}")  # read-only users cannot own records
        response = self.client.post(url, {"reassign_to": carol.pk}, follow=True)
        self.assertContains(response, "reassigned 3 contacts, 1 deals, 1 open tasks to Carol Manager")
        self.assertFalse(User.objects.get(pk=bob.pk).is_active)
        self.assertEqual(Contact.objects.filter(owner=carol).count(), 3)
        self.assertEqual(Deal.objects.get(pk=self.deal.pk).owner, carol)
        self.assertEqual(Task.objects.get(title="Call back").owner, carol)
        # Each record's owner change is on its own audit trail and timeline, like a manual one.
        contact = self.contacts[0]
        self.assertTrue(
            AuditEntry.objects.filter(object_id=str(contact.pk), object_type="crm.contact", action="update").exists()
        )
        self.assertTrue(Touchpoint.objects.filter(contact=contact, kind=Kind.OWNER_CHANGED).exists())
        actions = set(
            AuditEntry.objects.filter(object_type="accounts.user", object_id=str(bob.pk)).values_list(
                "action", flat=True
            )
        )
        self.assertEqual(actions, {"reassign", "deactivate"})

    def test_keeping_the_records_leaves_them_visibly_owned(self):
        bob = self.cast["bob"]
        response = self.client.post(reverse("settings_user_deactivate", args=[bob.pk]), {"reassign_to": "keep"})
        self.assertRedirects(response, reverse("settings_users"))
        self.assertEqual(Contact.objects.filter(owner=bob).count(), 3)
        self.assertContains(self.client.get(reverse("settings_users")), "Deactivated")
        self.assertFalse(self.client.login(email=bob.email, password="correct-horse-42"))

    def test_refusals(self):
        alice = self.cast["alice"]
        response = self.client.post(reverse("settings_user_deactivate", args=[alice.pk]), {"reassign_to": "keep"})
        self.assertContains(response, "cannot deactivate yourself", status_code=400)
        self.assertTrue(User.objects.get(pk=alice.pk).is_active)
        bob = self.cast["bob"]
        response = self.client.post(
            reverse("settings_user_deactivate", args=[bob.pk]), {"reassign_to": self.cast["rory"].pk}
        )
        self.assertEqual(response.status_code, 400)
        self.assertTrue(User.objects.get(pk=bob.pk).is_active)
        self.client.force_login(self.cast["carol"])
        self.assertEqual(self.client.get(reverse("settings_user_deactivate", args=[bob.pk])).status_code, 403)
