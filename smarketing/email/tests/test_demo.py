"""The seeded year of email marketing agrees with the timeline it tells (runs on SQLite and PostgreSQL)."""

from collections import Counter, defaultdict
from datetime import UTC, datetime

from django.db.models import Count, Min, Q, Sum
from django.test import TestCase

from smarketing.crm.models import Contact
from smarketing.demo.seed import seed
from smarketing.email.demo import EmailDemo
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailLink, EmailSend
from smarketing.mail.models import FeedbackNotice, SenderIdentity, Suppression
from smarketing.segments import queries
from smarketing.segments.models import ContactList, ListMembership, Segment
from smarketing.timeline.models import Touchpoint

END = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
QUIET = {"out": lambda line: None}
EMAIL_KINDS = ["email_sent", "email_opened", "email_clicked", "email_bounced", "unsubscribed", "email_complained"]


def email_touches() -> dict[str, dict[tuple[int, int], list]]:
    """kind -> (contact id, EmailCampaign id) -> touch times, for every email touch tied to an email campaign."""
    ec_of = dict(EmailCampaign.objects.values_list("campaign_id", "id"))
    out: dict[str, dict] = {kind: defaultdict(list) for kind in EMAIL_KINDS}
    rows = Touchpoint.objects.filter(kind__in=EMAIL_KINDS, campaign_id__in=ec_of).values_list(
        "kind", "contact_id", "campaign_id", "occurred_at"
    )
    for kind, contact, campaign, at in rows:
        out[kind][(contact, ec_of[campaign])].append(at)
    return out


class SeededEmailMarketingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.result = seed(contacts=1500, seed=11, end=END, demo_users=True, **QUIET)
        cls.touches = email_touches()
        cls.sends = {(s.contact_id, s.campaign_id): s for s in EmailSend.objects.all()}

    def test_every_email_sent_touch_has_its_one_send_at_the_same_time(self):
        sent = self.touches["email_sent"]
        self.assertGreater(len(sent), 1500)
        self.assertEqual(set(sent), set(self.sends))  # one send per touch, no send without one
        for key, times in sent.items():
            self.assertEqual(len(times), 1, key)  # the journey never mails a campaign twice to a contact
            send = self.sends[key]
            self.assertEqual(send.sent_at, times[0])
            self.assertEqual(send.status, "sent")
        emails = dict(Contact.objects.values_list("id", "email"))
        self.assertTrue(all(s.email == emails[s.contact_id] for s in self.sends.values()))
        self.assertEqual(self.result.counts["emailsend"], len(self.sends))

    def test_opens_and_clicks_match_the_touches(self):
        opened, clicked = self.touches["email_opened"], self.touches["email_clicked"]
        self.assertTrue(opened and clicked)
        for key, send in self.sends.items():
            opens = opened.get(key, [])
            self.assertLessEqual(len(opens), 1)  # only the first human open is a touch
            self.assertEqual(send.first_opened_at, min(opens) if opens else None, key)
            self.assertEqual(send.opens > 0, bool(opens), key)
            clicks = clicked.get(key, [])
            self.assertEqual(send.clicks, len(clicks), key)
            self.assertEqual(send.first_clicked_at, min(clicks) if clicks else None, key)
            if clicks:
                self.assertGreater(send.opens, 0)
        # Repeat opens and machine opens (no touch) are there, kept apart from the human ones.
        self.assertTrue(any(s.opens > 1 for s in self.sends.values()))
        self.assertTrue(any(s.machine_opens > 0 for s in self.sends.values()))
        self.assertTrue(any(s.machine_opens > 0 and s.opens == 0 for s in self.sends.values()))

    def test_link_clicks_sum_up_to_the_sends_clicks(self):
        by_campaign = dict(EmailSend.objects.values("campaign").annotate(n=Sum("clicks")).values_list("campaign", "n"))
        links = dict(EmailLink.objects.values("campaign").annotate(n=Sum("clicks")).values_list("campaign", "n"))
        self.assertEqual({k: v for k, v in by_campaign.items() if v}, {k: v for k, v in links.items() if v})
        self.assertTrue(EmailLink.objects.filter(position=2, clicks__gt=0).exists())  # not only the main link
        for link in EmailLink.objects.all():
            self.assertIn("utm_medium=email", link.url)
            self.assertIn(f"utm_content=link-{link.position}", link.url)

    def test_campaigns_are_sent_with_totals_content_and_a_sender(self):
        campaigns = EmailCampaign.objects.select_related("campaign").annotate(n=Count("sends"))
        self.assertGreaterEqual(campaigns.count(), 27)
        for ec in campaigns:
            self.assertEqual(ec.campaign.channel, "email")
            self.assertEqual(ec.status, CampaignStatus.SENT)
            self.assertEqual(ec.recipients_total, ec.n)
            self.assertIsNotNone(ec.sender_id)
            self.assertIn("{{ unsubscribe_url }}", ec.html)
            self.assertIn("{{ tracking.link_1 }}", ec.html)
            self.assertIn("{{ tracking.open_pixel }}", ec.html)
            self.assertIn("{{ tracking.link_1 }}", ec.text)
            self.assertTrue(ec.subject)
            self.assertTrue(ec.template.blocks)
            self.assertEqual(ec.links.count(), len({*ec.links.values_list("position", flat=True)}))
        ab = EmailCampaign.objects.get(campaign__utm_campaign="launch-email-marketing")
        self.assertTrue(ab.subject_b)
        self.assertEqual(ab.ab_winner, "b")
        variants = Counter(ab.sends.values_list("variant", flat=True))
        self.assertEqual(set(variants), {"a", "b"})
        self.assertGreater(variants["b"], variants["a"])
        self.assertTrue(SenderIdentity.objects.filter(is_default=True).exists())

    def test_unsubscribes_withdraw_consent_and_suppress(self):
        unsubscribed = self.touches["unsubscribed"]
        self.assertTrue(unsubscribed)
        suppressed = dict(Suppression.objects.values_list("email", "reason"))
        for key, times in unsubscribed.items():
            send = self.sends[key]
            self.assertEqual(send.unsubscribed_at, times[0])
            self.assertGreater(send.unsubscribed_at, send.sent_at)
            contact = send.contact
            self.assertEqual(contact.consent_status, "withdrawn")
            self.assertEqual(contact.consent_at, times[0])
            self.assertEqual(suppressed[contact.email], "unsubscribed")
        self.assertEqual(
            {k for k, s in self.sends.items() if s.unsubscribed_at}, set(unsubscribed)
        )  # and no send says unsubscribed without its touch

    def test_bounces_and_complaints_suppress_and_stop_the_mail(self):
        bounced, complained = self.touches["email_bounced"], self.touches["email_complained"]
        self.assertTrue(bounced)
        suppressed = dict(Suppression.objects.values_list("email", "reason"))
        self.assertEqual(len(suppressed), len(bounced) + len(complained) + len(self.touches["unsubscribed"]))
        last_sent = defaultdict(lambda: None)
        for (contact, _ec), send in self.sends.items():
            if last_sent[contact] is None or send.sent_at > last_sent[contact]:
                last_sent[contact] = send.sent_at
        for kind, touches, reason, field in (
            ("bounce", bounced, "hard_bounce", "bounced_at"),
            ("complaint", complained, "complaint", "complained_at"),
        ):
            for key, times in touches.items():
                send = self.sends[key]
                self.assertEqual(getattr(send, field), times[0], kind)
                self.assertEqual(suppressed[send.email], reason)
                self.assertLessEqual(last_sent[key[0]], times[0], "no campaign mail after the address was suppressed")
            self.assertEqual({k for k, s in self.sends.items() if getattr(s, field)}, set(touches))
        notices = {(n.kind, n.message_id): n for n in FeedbackNotice.objects.all()}
        self.assertEqual(len(notices), len(bounced) + len(complained))
        for key in bounced:
            send = self.sends[key]
            self.assertEqual((send.bounce_kind, send.opens, send.clicks), ("hard", 0, 0))
            notice = notices[("hard_bounce", send.message_id)]  # the DSN's evidence, tied by Message-ID
            self.assertEqual((notice.email, notice.received_at), (send.email, send.bounced_at))
        for key in complained:
            self.assertIn(("complaint", self.sends[key].message_id), notices)
        complaint_rate = EmailSend.objects.filter(complained_at__isnull=False).count() / len(self.sends)
        self.assertLess(complaint_rate, 0.003)

    def test_tokens_are_unique_opaque_and_message_ids_set(self):
        tokens = [s.token for s in self.sends.values()]
        self.assertEqual(len(set(tokens)), len(tokens))
        self.assertTrue(all(len(t) == 32 for t in tokens))
        # Derived from the seed and the send's id: the same seed gives the same tokens, another seed others.
        send = next(iter(self.sends.values()))
        self.assertEqual(EmailDemo([], {}, seed=11, clock=None, ids=None).token(send.id), send.token)
        self.assertNotEqual(EmailDemo([], {}, seed=12, clock=None, ids=None).token(send.id), send.token)
        self.assertTrue(all(s.message_id.startswith("<") for s in self.sends.values()))

    def test_segments_are_valid_and_lists_agree_with_the_timeline(self):
        self.assertGreaterEqual(Segment.objects.count(), 5)
        for segment in Segment.objects.all():
            queries.count(segment)  # compiles and runs on this database
        counts = {s.name: queries.count(s) for s in Segment.objects.all()}
        self.assertGreater(counts["Newsletter audience"], 0)
        badges = ContactList.objects.get(name="Trade show badge scans")
        scanned = Touchpoint.objects.filter(kind="event_attended").values("contact").annotate(first=Min("occurred_at"))
        members = dict(ListMembership.objects.filter(contact_list=badges).values_list("contact_id", "added_at"))
        self.assertTrue(members)
        self.assertEqual(members, {row["contact"]: row["first"] for row in scanned})
        self.assertTrue(
            EmailCampaign.objects.filter(include_segments__isnull=False).exists()
            and EmailCampaign.objects.filter(include_lists__isnull=False).exists()
        )


class SeedTwiceTests(TestCase):
    def test_second_seed_reuses_campaigns_and_adds_sends(self):
        seed(contacts=200, seed=5, end=END, **QUIET)
        campaigns = EmailCampaign.objects.count()
        links = EmailLink.objects.count()
        seed(contacts=200, seed=5, end=END, **QUIET)
        self.assertEqual(EmailCampaign.objects.count(), campaigns)
        self.assertEqual(EmailLink.objects.count(), links)
        self.assertEqual(Segment.objects.filter(name="Newsletter audience").count(), 1)
        totals = EmailCampaign.objects.annotate(n=Count("sends")).filter(~Q(recipients_total=0))
        self.assertTrue(totals.exists())
        self.assertTrue(all(ec.recipients_total == ec.n for ec in totals))
        self.assertEqual(
            EmailSend.objects.aggregate(n=Sum("clicks"))["n"], EmailLink.objects.aggregate(n=Sum("clicks"))["n"]
        )
        # The second seed's contacts got new sends with new tokens (ids continue, so do tokens).
        self.assertEqual(EmailSend.objects.values("token").distinct().count(), EmailSend.objects.count())
        self.assertEqual(
            EmailSend.objects.values("contact__email").distinct().count(),
            EmailSend.objects.values("contact").distinct().count(),
        )
        self.assertEqual(
            Suppression.objects.count(),
            EmailSend.objects.filter(
                Q(unsubscribed_at__isnull=False) | Q(bounced_at__isnull=False) | Q(complained_at__isnull=False)
            ).count(),
        )
