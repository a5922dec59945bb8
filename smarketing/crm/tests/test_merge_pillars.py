"""Merging contacts keeps what the pillars know about the duplicate: each app's registered merge hook moves its
rows to the survivor (visits, submissions, sends, preferences, list memberships, enrollments), and where the
survivor has its own (a second send of one campaign, the same list or workflow), nothing is doubled."""

from django.test import TestCase

from smarketing.accounts.access import system_actor
from smarketing.crm import services
from smarketing.email.models import EmailPreference, EmailSend
from smarketing.email.tests.campaign_fixtures import make_campaign
from smarketing.forms.models import FormSubmission, PageView, Visitor
from smarketing.forms.tests.capture_fixtures import make_form
from smarketing.segments import services as segments
from smarketing.segments.models import ListMembership
from smarketing.testing import make_cast, make_contact
from smarketing.workflows.models import Enrollment, EnrollmentStatus, Workflow, WorkflowStatus

SYSTEM = system_actor()


class ContactMergeHookTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_the_pillars_rows_follow_the_survivor(self):
        primary, duplicate = make_contact(email="ada@client.example"), make_contact(email="ada.l@client.example")
        visitor = Visitor.objects.create(contact=duplicate)
        view = PageView.objects.create(visitor=visitor, contact=duplicate, url="https://acme.example/pricing")
        submission = FormSubmission.objects.create(form=make_form(), contact=duplicate)
        only_dup_list = segments.create_list(SYSTEM, name="Webinar")
        both_list = segments.create_list(SYSTEM, name="VIP")
        ListMembership.objects.create(contact_list=only_dup_list, contact=duplicate)
        ListMembership.objects.create(contact_list=both_list, contact=duplicate)
        ListMembership.objects.create(contact_list=both_list, contact=primary)
        owner = self.cast["mia"]
        spring, summer = make_campaign(owner, both_list), make_campaign(owner, both_list, name="Summer news")
        moved_send = EmailSend.objects.create(campaign=spring, contact=duplicate, email=duplicate.email, token="t1")
        EmailSend.objects.create(campaign=summer, contact=primary, email=primary.email, token="t2")
        second_send = EmailSend.objects.create(campaign=summer, contact=duplicate, email=duplicate.email, token="t3")
        EmailPreference.objects.create(contact=duplicate, frequency="monthly")
        nurture = Workflow.objects.create(name="Nurture", status=WorkflowStatus.ACTIVE, active_count=1)
        handoff = Workflow.objects.create(name="Handoff", status=WorkflowStatus.ACTIVE, active_count=2)
        moved_enrollment = Enrollment.objects.create(workflow=nurture, contact=duplicate)
        Enrollment.objects.create(workflow=handoff, contact=primary)
        ended = Enrollment.objects.create(workflow=handoff, contact=duplicate)

        services.merge_records(primary, duplicate, actor=self.cast["alice"])

        for row in (visitor, view, submission, moved_send, moved_enrollment):
            row.refresh_from_db()
            self.assertEqual(row.contact_id, primary.pk, type(row).__name__)
        self.assertEqual(
            set(ListMembership.objects.filter(contact=primary).values_list("contact_list_id", flat=True)),
            {only_dup_list.pk, both_list.pk},
        )
        # The campaign both got: the survivor keeps its own send; the other stays in the report, with no contact.
        second_send.refresh_from_db()
        self.assertIsNone(second_send.contact_id)
        self.assertEqual(EmailPreference.objects.get(contact=primary).frequency, "monthly")
        # The workflow both were in: the duplicate's enrollment ended (counted) and went with it.
        self.assertFalse(Enrollment.objects.filter(pk=ended.pk).exists())
        self.assertEqual(Workflow.objects.get(pk=handoff.pk).active_count, 1)
        self.assertEqual(Enrollment.objects.get(contact=primary, workflow=handoff).status, EnrollmentStatus.ACTIVE)
