"""A small, known campaign history for the report's tests (metrics, page, CSV, API), made through the models.

Ten recipients of an A/B campaign sent at T0:

| who  | variant | what they did                                                                  |
|------|---------|--------------------------------------------------------------------------------|
| c1   | a       | opened at T0+1h, clicked link 1 at T0+2h; became a lead 3 days later, an MQL  |
|      |         | 5 days later; a deal opened 10 days later and won (1,000 USD)                  |
| c2   | a       | opened at T0+1h; became a lead 40 days later (outside a 30-day window)         |
| c3   | a       | machine open only (Apple MPP): not opened, not engaged, its later SQL ignored  |
| c4   | a       | hard bounce                                                                    |
| c5   | a       | suppressed at send time                                                        |
| c6   | b       | opened at T0+3h (day 0), clicked link 2 at T0+50h (day 2); SQL 1 day later;    |
|      |         | a deal opened 20 days later, open (500 EUR)                                    |
| c7   | b       | opened at T0+1h, unsubscribed, complained                                      |
| c8   | b       | soft bounce                                                                    |
| c9   | b       | sent, nothing else; a deal opened the day after sending but no engagement      |
| c10  | b       | clicked (no open recorded) at T0+5h, link 1; a deal with c1 (won, 2,000 USD)   |
|      |         | opened 2 days later: counted once in the total, once in each variant          |
"""

import datetime
from decimal import Decimal

from smarketing.campaigns.models import Campaign, Channel
from smarketing.crm.models import Deal, DealStatus, LifecycleChange, LifecycleStage
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailLink, EmailSend, SendStatus
from smarketing.testing import make_contact, make_deal

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def make_history() -> dict:
    campaign = Campaign.objects.create(name="Spring launch", channel=Channel.EMAIL, utm_campaign="spring-launch")
    ec = EmailCampaign.objects.create(
        campaign=campaign,
        subject="Meet <b>the</b> spring release",
        subject_b="Spring is here",
        ab_test_percent=100,
        status=CampaignStatus.SENT,
        recipients_total=10,
        started_at=T0,
        finished_at=T0 + H,
    )
    link1 = EmailLink.objects.create(
        campaign=ec, position=1, url="https://example.com/pricing?utm_source=smarketing", label="See pricing"
    )
    link2 = EmailLink.objects.create(campaign=ec, position=2, url="https://example.com/blog", label="Read the blog")
    contacts = {f"c{i}": make_contact(email=f"c{i}@example.com", first_name=f"C{i}") for i in range(1, 11)}

    def send(name, variant, **fields):
        fields.setdefault("status", SendStatus.SENT)
        if fields["status"] == SendStatus.SENT:
            fields.setdefault("sent_at", T0)
        return EmailSend.objects.create(
            campaign=ec,
            contact=contacts[name],
            email=contacts[name].email,
            token=f"tok{name:0>29}"[:32],
            variant=variant,
            **fields,
        )

    send("c1", "a", first_opened_at=T0 + H, opens=2, first_clicked_at=T0 + 2 * H, clicks=1)
    send("c2", "a", first_opened_at=T0 + H, opens=1)
    send("c3", "a", first_opened_at=T0, opens=0, machine_opens=3)
    send("c4", "a", bounced_at=T0 + H, bounce_kind="hard")
    send("c5", "a", status=SendStatus.SUPPRESSED, suppressed_reason="unsubscribed")
    send("c6", "b", first_opened_at=T0 + 3 * H, opens=1, first_clicked_at=T0 + 50 * H, clicks=1)
    send("c7", "b", first_opened_at=T0 + H, opens=1, unsubscribed_at=T0 + 2 * H, complained_at=T0 + 2 * H)
    send("c8", "b", bounced_at=T0 + H, bounce_kind="soft")
    send("c9", "b")
    send("c10", "b", first_clicked_at=T0 + 5 * H, clicks=2)
    EmailLink.objects.filter(pk=link1.pk).update(clicks=3, machine_clicks=4)
    EmailLink.objects.filter(pk=link2.pk).update(clicks=1)

    def move(name, stage, at):
        LifecycleChange.objects.create(contact=contacts[name], from_stage="", to_stage=stage, changed_at=at)

    move("c1", LifecycleStage.LEAD, T0 + 3 * D)
    move("c1", LifecycleStage.MQL, T0 + 5 * D)
    move("c2", LifecycleStage.LEAD, T0 + 40 * D)
    move("c3", LifecycleStage.SQL, T0 + 2 * D)
    move("c6", LifecycleStage.SQL, T0 + 50 * H + D)
    move("c7", LifecycleStage.LEAD, T0 - D)  # before the email: not something it produced

    def deal(contacts_on, at, amount, currency="USD", status=DealStatus.OPEN):
        d = make_deal(contacts=[contacts[n] for n in contacts_on], amount=amount, currency=currency)
        Deal.objects.filter(pk=d.pk).update(created_at=at, status=status)
        return d

    deal(["c1"], T0 + 10 * D, "1000", status=DealStatus.WON)
    deal(["c6"], T0 + 20 * D, "500", currency="EUR")
    deal(["c9"], T0 + D, "700", status=DealStatus.WON)
    deal(["c1", "c10"], T0 + 2 * D, "2000", status=DealStatus.WON)
    deal(["c2"], T0 - D, "900", status=DealStatus.WON)  # before c2 engaged
    return {"campaign": campaign, "email_campaign": ec, "contacts": contacts, "links": (link1, link2)}


REVENUE_USD = Decimal("3000.00")
