"""Never twice, with real worker processes: SIGKILL the worker sending a campaign, several times at random
moments, restart it, and count at the SMTP sink that every recipient got one message, except at most one per
kill, which the recovery marks in doubt.

Why it holds: a send is marked sent (its own commit) after the whole message is on the wire and before the final
"." (email/sending.py). Killed before that commit, the server discards the half message and the row stays
'sending' until it is recovered (its worker's heartbeat stops) and sent again; killed after the dot, the row
already says sent. Killed while the commit is in flight (or between it and the dot), the row says sent and the
server may never have got the dot: SMTP has no way to ask, so that message is in doubt, never sent twice.
The recovery also records what a killed worker sent and had not recorded yet (touches, events, counters).
"""

import random
import time

from django.db import connection
from django.test import TransactionTestCase

from smarketing.core.models import Event
from smarketing.email import services
from smarketing.email.kinds import EMAIL_SENT
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, SendStatus
from smarketing.email.sending import IN_DOUBT
from smarketing.email.tasks import dispatch_campaigns, send_campaign
from smarketing.email.tests.campaign_fixtures import make_audience, make_campaign
from smarketing.jobs.testing import WorkerPool
from smarketing.mail.testing import SmtpTestServer
from smarketing.testing import make_cast
from smarketing.timeline.models import Touchpoint

RECIPIENTS = 400
HEARTBEAT_MAX_AGE = 5  # the smallest the setting allows: a killed worker counts as dead 5 s after its last beat


class SigkillTests(TransactionTestCase):
    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        self.env = {
            "EMAIL_HOST": self.server.host,
            "EMAIL_PORT": str(self.server.port),
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_SEND_BATCH": "40",
            "EMAIL_SENDERS_PER_CAMPAIGN": "1",
            "WORKER_HEARTBEAT_MAX_AGE": str(HEARTBEAT_MAX_AGE),
            "SMARKETING_BASE_URL": "https://app.acme.example",
        }

    def per_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.server.lock:
            for message in self.server.messages:
                for rcpt in message.rcpt_tos:
                    counts[rcpt] = counts.get(rcpt, 0) + 1
        return counts

    def wait_for_messages(self, target: int, pool: WorkerPool, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.server.messages) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.server.messages)} of {target} messages\n{pool.logs()}")
            if pool.processes[0].poll() is not None:
                raise AssertionError(f"the worker exited early\n{pool.logs()}")
            time.sleep(0.002)

    def test_sigkill_mid_send_then_restart_never_sends_twice_and_loses_only_what_is_in_doubt(self):
        cast = make_cast()
        audience, contacts = make_audience(RECIPIENTS)
        ec = services.start_sending(cast["mia"], make_campaign(cast["mia"], audience))
        self.assertEqual(ec.recipients_total, RECIPIENTS)
        rng = random.Random()
        kills = []
        for _ in range(3):
            # Kill at a random moment: after a random number of further messages, plus a random sub-ms delay.
            target = len(self.server.messages) + rng.randint(5, 80)
            with WorkerPool(1, batch=False, env=self.env) as pool:
                self.wait_for_messages(target, pool)
                time.sleep(rng.random() / 1000)
                pool.kill(0)
                kills.append(len(self.server.messages))
            # The killed worker's job died with it (RUNNING for good); like the dispatcher, start a new sender.
            send_campaign.enqueue(ec.pk)
        self.assertLess(len(self.server.messages), RECIPIENTS, "the kills came too late to prove anything")
        # Let the last killed worker's heartbeat go stale, then the dispatcher recovers its claims.
        time.sleep(HEARTBEAT_MAX_AGE + 1)
        dispatch_campaigns.enqueue()
        with WorkerPool(1, batch=False, env=self.env) as pool:
            pool.wait_until(lambda: EmailCampaign.objects.get(pk=ec.pk).status == CampaignStatus.SENT, timeout=90)
        counts = self.per_recipient()
        expected = {c.email: 1 for c in contacts}
        duplicates = {k: v for k, v in counts.items() if v > 1}
        missing = sorted(set(expected) - set(counts))
        self.assertEqual(duplicates, {}, f"sent twice (kills after {kills} messages)")
        sends = EmailSend.objects.filter(campaign=ec)
        in_doubt = dict(sends.filter(error=IN_DOUBT).values_list("email", "message_id"))
        self.assertLessEqual(len(in_doubt), len(kills), "at most one message in doubt per killed worker")
        self.assertLessEqual(set(missing), set(in_doubt), f"lost, not in doubt (kills after {kills} messages)")
        self.assertEqual(sends.filter(status=SendStatus.SENT).count(), RECIPIENTS)
        # Every sent row is the message the sink got (same Message-ID), but for a message in doubt that never came.
        sink_ids = {m.message["Message-ID"] for m in self.server.messages}
        sent_ids = set(sends.values_list("message_id", flat=True))
        self.assertLessEqual(sink_ids, sent_ids)
        self.assertLessEqual(sent_ids - sink_ids, set(in_doubt.values()))
        # What the killed workers sent and never recorded was recorded by the recovery, once.
        touches = Touchpoint.objects.filter(kind=EMAIL_SENT, campaign_id=ec.campaign_id)
        self.assertEqual(touches.count(), RECIPIENTS)
        self.assertEqual(Event.objects.filter(name="email.sent", payload__email_campaign_id=ec.pk).count(), RECIPIENTS)
        self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).sent_count, RECIPIENTS)
        assert connection.vendor in ("sqlite", "postgresql")
