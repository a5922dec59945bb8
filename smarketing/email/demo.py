"""Email marketing's demo data: the year's email campaigns as the email app would have left them, and one send per
email the timeline shows.

The CRM generator (crm/demo/journey.py) decides what each contact received and did: one `email_sent` touch per
campaign and contact, the first human open as `email_opened`, each link clicked as `email_clicked` (details name
the link), and `unsubscribed`, `email_complained` or `email_bounced` tied to the campaign email they came from,
after which that contact gets no more campaign mail. This module makes the email app's rows agree with those
touches: set-up (`EmailDemo.prepare`, a few dozen ORM rows: templates, topics, sender identities, campaigns,
their links) and then, per generated chunk, `EmailSend` rows and suppressions derived from the chunk's own
touch rows (`EmailDemo.rows`), loaded by COPY with the rest. So the counters cannot drift from the timeline:
sent_at is the touch's time, first_opened_at the open touch's, clicks the number of click touches, and each
link's clicks the clicks of the sends that name it.

What has no touch (and so is drawn here, from its own random stream): repeat opens after the first, machine
opens (Apple Mail Privacy Protection fetches the pixel when the message arrives), the A/B variant of a send, the
token. Tokens are derived from the seed and the send's id (keyed BLAKE2b): deterministic, unique, opaque.
"""

import base64
import hashlib
import random
import re
from collections import Counter
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlencode

from django.db.models import F

from smarketing.crm.demo.campaigns import CampaignSpec
from smarketing.crm.demo.common import COLUMNS as CRM_COLUMNS
from smarketing.crm.demo.common import Chunk, Clock, Ids, _dumps
from smarketing.email.blocks import clean_blocks
from smarketing.email.models import (
    Brand,
    CampaignStatus,
    EditorMode,
    EmailCampaign,
    EmailLink,
    EmailSend,
    EmailTemplate,
    ScheduleKind,
    Topic,
)
from smarketing.email.rendering import compile_email
from smarketing.mail import demo as mail_demo

WEBSITE = "https://www.demo.smarketing.local"
COMPANY = "Smarketing Demo Inc."
POSTAL_ADDRESS = "100 Harbor Street, Suite 500\nBoston, MA 02110\nUSA"
AB_TEST_PERCENT = 20  # as the journey sends a spec with ab_test (crm/demo/journey.py)
AB_WINDOW_HOURS = 4

SEND_COLUMNS = (
    "id campaign_id contact_id email token variant status sent_at message_id attempts first_opened_at opens "
    "machine_opens first_clicked_at clicks bounced_at bounce_kind unsubscribed_at complained_at"
).split()
TABLES = {"emailsend": (EmailSend, SEND_COLUMNS)}

TOPICS = [
    ("Newsletter", "The monthly newsletter: stories, guides and what's new."),
    ("Product news", "Launches and product announcements."),
    ("Webinars and events", "Invitations to webinars and events near you."),
    ("Getting started", "Tips for new subscribers and trial users."),
]

_TOUCH = {name: i for i, name in enumerate(CRM_COLUMNS["touch"])}
_CONTACT_EMAIL = CRM_COLUMNS["contact"].index("email")
_EMAIL_KINDS = {"email_sent", "email_opened", "email_clicked", "email_bounced", "unsubscribed", "email_complained"}


def _kind_of(spec: CampaignSpec) -> str:
    tag = spec.utm_campaign
    if tag.endswith("-newsletter"):
        return "newsletter"
    if tag.endswith("-webinar-invite"):
        return "invite"
    if tag.startswith("evergreen-nurture"):
        return "nurture"
    return "launch"


# template name, kind, topic, sender key, goal
KINDS = {
    "newsletter": ("Monthly newsletter", "Newsletter", "news", "Keep subscribers engaged; drive demo requests"),
    "invite": ("Webinar invitation", "Webinars and events", "events", "Webinar registrations"),
    "launch": ("Product launch", "Product news", "product", "Trials and demo requests from the launch"),
    "nurture": ("Nurture email", "Getting started", "news", "Move new leads to a sales conversation"),
}


def _subjects(spec: CampaignSpec) -> tuple[str, str, str]:
    """(subject, subject_b, preheader) of a campaign's email."""
    kind = _kind_of(spec)
    name = spec.name
    if kind == "newsletter":
        month, topic = name.split(" newsletter: ", 1)
        return f"{month} at Smarketing: {topic}", "", "Stories, guides and one thing to try this month."
    if kind == "invite":
        title = name.removeprefix("Invite: ")
        return f"You're invited: {title} (live webinar)", "", "45 minutes, a live demo and your questions answered."
    if kind == "nurture":
        if spec.utm_campaign.endswith("welcome"):
            return 'Welcome, {{ contact.first_name|default:"there" }}: start here', "", "Three things to try first."
        return "Ready for a closer look?", "", "A 20-minute demo tailored to your team."
    title = name.split(": ", 1)[-1]
    if spec.ab_test:
        return (
            "New: email marketing that reports revenue, not just opens",
            '{{ contact.first_name|default:"Hi" }}, see which emails brought pipeline',
            "Segments, templates, tracking and the closed-loop report.",
        )
    return f"Introducing {title}", "", "See every deal at a glance and move it in one drag."


def template_blocks(kind: str) -> list[dict]:
    """A realistic block template (the format of email/blocks.py) for each kind of campaign."""
    hello = {"id": "b2", "type": "heading", "text": 'Hello {{ contact.first_name|default:"there" }},', "level": "2"}
    blocks: dict[str, list[dict]] = {
        "newsletter": [
            {"id": "b1", "type": "header"},
            hello,
            {"id": "b3", "type": "text", "html": "<p>Here is what happened this month, and one idea to try.</p>"},
            {"id": "b4", "type": "button", "label": "Read the story", "href": f"{WEBSITE}/blog", "align": "center"},
            {"id": "b5", "type": "divider"},
            {
                "id": "b6",
                "type": "columns",
                "count": "2",
                "kind_1": "text",
                "html_1": "<p><strong>Upcoming webinar</strong></p>",
                "kind_2": "text",
                "html_2": "<p><strong>Customer story</strong></p>",
            },
            {"id": "b7", "type": "signature"},
            {"id": "b8", "type": "footer"},
        ],
        "invite": [
            {"id": "b1", "type": "header"},
            {"id": "b2", "type": "heading", "text": "You're invited", "level": "1", "align": "center"},
            {"id": "b3", "type": "text", "html": "<p>Join us live: a demo, a customer guest and your questions.</p>"},
            {"id": "b4", "type": "button", "label": "Register now", "href": f"{WEBSITE}/webinars", "align": "center"},
            {"id": "b5", "type": "footer"},
        ],
        "launch": [
            {"id": "b1", "type": "header"},
            {"id": "b2", "type": "heading", "text": "Something new", "level": "1"},
            {"id": "b3", "type": "text", "html": "<p>We built this with you. Here is what it does.</p>"},
            {"id": "b4", "type": "button", "label": "See what's new", "href": f"{WEBSITE}/product", "align": "center"},
            {"id": "b5", "type": "footer"},
        ],
        "nurture": [
            hello,
            {"id": "b3", "type": "text", "html": "<p>A short note with one useful thing for your team.</p>"},
            {"id": "b4", "type": "button", "label": "Take the tour", "href": f"{WEBSITE}/product", "align": "left"},
            {"id": "b5", "type": "signature"},
            {"id": "b6", "type": "footer"},
        ],
    }
    return blocks[kind]


def link_url(spec: CampaignSpec, position: int, path: str) -> str:
    """A link as freezing stores it: the destination with the UTM parameters added (utm_content names it)."""
    query = urlencode(
        {
            "utm_source": "smarketing",
            "utm_medium": "email",
            "utm_campaign": spec.utm_campaign,
            "utm_content": f"link-{position}",
        }
    )
    return f"{WEBSITE}{path}?{query}"


INTRO = {
    "newsletter": "Here is what happened this month at Smarketing, and one idea to try with your team.",
    "invite": "Join us live: a 45-minute session with a demo, a customer guest and time for your questions.",
    "launch": "We built this with the teams who use Smarketing every day. Here is what it does for you.",
    "nurture": "A short note with one useful thing for your team, from the people who build Smarketing.",
}


def campaign_blocks(spec: CampaignSpec) -> list[dict]:
    """The blocks of one campaign's email: its links in the order of spec.links (the main one is the button)."""
    (main_path, main_label), *others = spec.links
    blocks = [
        {"id": "b1", "type": "header"},
        {"id": "b2", "type": "heading", "text": 'Hello {{ contact.first_name|default:"there" }},', "level": "2"},
        {"id": "b3", "type": "text", "html": f"<p>{escape(INTRO[_kind_of(spec)])}</p><p><strong>{escape(spec.name)}"
         "</strong></p>"},
        {"id": "b4", "type": "button", "label": main_label, "href": f"{WEBSITE}{main_path}", "align": "center"},
    ]  # fmt: skip
    if others:
        items = "".join(f'<li><a href="{WEBSITE}{path}">{escape(label)}</a></li>' for path, label in others)
        blocks.append({"id": "b5", "type": "text", "html": f"<ul>{items}</ul>"})
    blocks += [{"id": "b6", "type": "signature"}, {"id": "b7", "type": "footer"}]
    return blocks


def frozen_content(spec: CampaignSpec, preheader: str, brand) -> tuple[str, str]:
    """The HTML and text a campaign froze when sending started (rendered by email/rendering.py), its links
    replaced by the tracking merge fields (`{{ tracking.link_N }}`) and the open pixel appended, as freezing the
    links does; the footer keeps `{{ unsubscribe_url }}` and `{{ preferences_url }}`."""
    html, text = compile_email(mode=EditorMode.BLOCKS, blocks=campaign_blocks(spec), preheader=preheader, brand=brand)
    # Longest first: "/product/crm" must not be caught by "/product".
    for n, path in sorted(((n, p) for n, (p, _l) in enumerate(spec.links, 1)), key=lambda x: -len(x[1])):
        url = f"{WEBSITE}{path}"
        html = html.replace(f'href="{url}"', f'href="{{{{ tracking.link_{n} }}}}"')
        text = re.sub(re.escape(url) + r"(?=[\s)\]>]|$)", f"{{{{ tracking.link_{n} }}}}", text)
    pixel = '<img src="{{ tracking.open_pixel }}" width="1" height="1" alt="" style="display:block;border:0">'
    html = html.replace("</body>", pixel + "</body>", 1) if "</body>" in html else html + pixel
    return html, text


def demo_brand() -> Brand:
    """The demo company's brand (header name, postal address in the footer), unless someone set one already."""
    brand = Brand.objects.filter(pk=1).first()
    if brand is None:
        brand = Brand.objects.create(pk=1, company_name=COMPANY, website_url=WEBSITE, postal_address=POSTAL_ADDRESS)
    return brand


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class EmailDemo:
    """Set-up once per seed (`prepare`), rows per chunk (`rows`), counters at the end (`finish`)."""

    def __init__(self, plan: list[CampaignSpec], people: dict, *, seed: int, clock: Clock, ids: Ids):
        self.plan = [spec for spec in plan if spec.channel == "email"]
        self.people = people
        self.clock = clock
        self.ids = ids
        self.key = hashlib.sha256(f"smarketing-demo-tokens-{seed}".encode()).digest()[:32]
        self.seed = seed
        self.ec: dict[int, int] = {}  # campaigns.Campaign id -> EmailCampaign id
        self.link_at: dict[tuple[int, str], int] = {}  # (Campaign id, click touch details) -> link position
        self.ab: tuple[int, str] | None = None  # (Campaign id, end of the test window as the touches write it)
        self.sends: Counter = Counter()  # EmailCampaign id -> sends written
        self.clicks: Counter = Counter()  # (EmailCampaign id, position) -> clicks written
        self.suppressed_before = False

    # ------------------------------------------------------------------------------------------------------
    # Set-up: a few dozen rows through the ORM

    def prepare(self, segments: dict[str, int], lists: dict[str, int]) -> None:
        senders = mail_demo.sender_identities()
        self.brand = demo_brand()
        topics = {
            name: Topic.objects.get_or_create(name=name, defaults={"description": d, "position": i})[0]
            for i, (name, d) in enumerate(TOPICS)
        }
        templates = {}
        for kind, (name, *_rest) in KINDS.items():
            template = EmailTemplate.objects.filter(name=name).order_by("id").first()
            if template is None:
                template = EmailTemplate.objects.create(
                    name=name,
                    mode=EditorMode.BLOCKS,
                    blocks=clean_blocks(template_blocks(kind)),
                    owner=self.people.get("maya"),
                    created_at=_dt(self.clock.start - 30 * 86400),
                    updated_at=_dt(self.clock.start - 30 * 86400),
                )
            templates[kind] = template
        existing = dict(
            EmailCampaign.objects.filter(campaign_id__in=[s.id for s in self.plan]).values_list("campaign_id", "id")
        )
        for spec in self.plan:
            kind = _kind_of(spec)
            if spec.id not in existing:
                campaign = self._campaign(spec, kind, templates[kind], topics, senders)
                self._audience(campaign, spec, kind, segments, lists)
                existing[spec.id] = campaign.id
            self.ec[spec.id] = existing[spec.id]
            for n, (path, _label) in enumerate(spec.links, start=1):
                self.link_at[(spec.id, _dumps({"url": path, "link": n}))] = n
            if spec.ab_test:
                self.ab = (spec.id, self.clock.ts(spec.starts_at + AB_WINDOW_HOURS * 3600))
        have = set(EmailLink.objects.filter(campaign_id__in=self.ec.values()).values_list("campaign_id", "position"))
        EmailLink.objects.bulk_create(
            EmailLink(campaign_id=self.ec[spec.id], position=n, url=link_url(spec, n, path), label=label)
            for spec in self.plan
            for n, (path, label) in enumerate(spec.links, start=1)
            if (self.ec[spec.id], n) not in have
        )
        self.suppressed_before = mail_demo.Suppression.objects.exists()

    @staticmethod
    def _audience(campaign: EmailCampaign, spec: CampaignSpec, kind: str, segments: dict, lists: dict) -> None:
        """Who each campaign was for (the segments' current members differ: they are evaluated today)."""
        if kind == "nurture":
            key = "new_leads" if spec.utm_campaign.endswith("welcome") else "mql"
            campaign.include_segments.set([segments[key]])
            return
        include = [segments["newsletter"]] + ([segments["webinar_prospects"]] if kind == "invite" else [])
        campaign.include_segments.set(include)
        if kind == "launch":
            campaign.include_lists.set([lists["cab"]])

    def _campaign(self, spec: CampaignSpec, kind: str, template, topics, senders) -> EmailCampaign:
        _name, topic, sender, goal = KINDS[kind]
        subject, subject_b, preheader = _subjects(spec)
        html, text = frozen_content(spec, preheader, self.brand)
        evergreen = not spec.oneshot
        started = spec.starts_at
        ab = spec.ab_test
        return EmailCampaign.objects.create(
            campaign_id=spec.id,
            goal=goal,
            template=template,
            topic=topics[topic],
            sender_id=senders[sender],
            subject=subject,
            subject_b=subject_b,
            preheader=preheader,
            html=html,
            text=text,
            schedule_kind=ScheduleKind.NOW if evergreen else ScheduleKind.AT,
            scheduled_at=None if evergreen else _dt(spec.starts_at),
            ab_test_percent=AB_TEST_PERCENT if ab else 0,
            ab_window_hours=AB_WINDOW_HOURS,
            ab_metric="opens",
            ab_winner="b" if ab else "",
            status=CampaignStatus.SENT,
            started_at=_dt(started),
            # A one-shot send is out in half an hour (the journey spreads its sends over 30 minutes; an A/B
            # remainder goes after the window); a nurture series ran all year.
            finished_at=_dt(spec.ends_at if evergreen else started + (AB_WINDOW_HOURS * 3600 if ab else 0) + 1800),
            created_at=_dt(started - 7 * 86400),
            updated_at=_dt(started + 1800),
        )

    # ------------------------------------------------------------------------------------------------------
    # Rows per chunk, from the chunk's touches

    def token(self, send_id: int) -> str:
        digest = hashlib.blake2b(send_id.to_bytes(8, "big"), key=self.key, digest_size=24).digest()
        return base64.urlsafe_b64encode(digest).decode()

    def rows(self, chunk: Chunk) -> None:
        """Adds `emailsend` and `suppression` rows for the chunk's email touches (in time order per contact)."""
        touches = chunk.rows["touch"]
        emails = {row[0]: row[_CONTACT_EMAIL] for row in chunk.rows["contact"]}
        ec_of = self.ec
        link_at = self.link_at
        take = self.ids.take
        i_at, i_contact, i_kind, i_campaign, i_details = (
            _TOUCH["occurred_at"],
            _TOUCH["contact_id"],
            _TOUCH["kind"],
            _TOUCH["campaign_id"],
            _TOUCH["details"],
        )
        sends: dict[tuple[int, int], list] = {}
        suppressions = []
        for row in touches:
            kind = row[i_kind]
            if kind not in _EMAIL_KINDS:
                continue
            campaign = row[i_campaign]
            ec = ec_of.get(campaign)
            if ec is None:
                continue
            key = (row[i_contact], campaign)
            at = row[i_at]
            if kind == "email_sent":
                # id campaign contact email token variant status sent_at message_id attempts first_opened_at
                # opens machine_opens first_clicked_at clicks bounced_at bounce_kind unsubscribed_at complained_at
                sends[key] = [take("emailsend"), ec, key[0], emails[key[0]], "", "", "sent", at, "", 1,
                              None, 0, 0, None, 0, None, "", None, None]  # fmt: skip
                continue
            send = sends[key]
            if kind == "email_opened":
                send[10] = at
                send[11] = 1
            elif kind == "email_clicked":
                if send[13] is None:
                    send[13] = at
                send[14] += 1
                self.clicks[(ec, link_at[(campaign, row[i_details])])] += 1
            else:
                if kind == "email_bounced":
                    send[15], send[16] = at, "hard"
                elif kind == "unsubscribed":
                    send[17] = at
                else:
                    send[18] = at
                suppressions.append([take("suppression"), send[3], mail_demo.REASONS[kind], row[10][:200], at])
        rng = random.Random(f"{self.seed}-{min((s[0] for s in sends.values()), default=0)}")
        rnd = rng.random
        ab = self.ab
        out = []
        notices = []
        for send in sends.values():
            send_id = send[0]
            token = self.token(send_id)
            send[4] = token
            send[8] = f"<{token[:24]}@{mail_demo.DEMO_MAIL_DOMAIN}>"
            if send[11]:
                while rnd() < 0.35:  # opened again later: counted on the send, not a new touch
                    send[11] += 1
            if send[15] is None and rnd() < 0.18:
                send[12] = 1 + (rnd() < 0.25)  # the mailbox provider's proxy fetched the pixel on arrival
            if ab is not None and send[1] == ec_of[ab[0]]:
                if send[7] < ab[1]:
                    # In the test: the "b" subject (personalized) drew more opens, so it won.
                    send[5] = "b" if rnd() < (0.6 if send[11] else 0.45) else "a"
                else:
                    send[5] = "b"
            self.sends[send[1]] += 1
            out.append(tuple(send))
            for kind, at in (("email_bounced", send[15]), ("email_complained", send[18])):
                if at is not None:
                    feedback, diagnostic, channel = mail_demo.NOTICES[kind]
                    notices.append((take("feedbacknotice"), feedback, send[3], send[8], diagnostic, channel, at))
        chunk.rows["emailsend"] = out
        chunk.rows["feedbacknotice"] = notices
        chunk.rows["suppression"] = [tuple(s) for s in suppressions]

    def rename(self, chunk: Chunk, renamed: dict[int, tuple[str, str]]) -> None:
        """The seed renamed some generated contacts' emails (they existed already): follow on sends,
        suppressions and feedback notices. `renamed` maps contact id -> (old email, new email)."""
        at = SEND_COLUMNS.index("email")
        chunk.rows["emailsend"] = [
            row[:at] + (renamed[row[2]][1],) + row[at + 1 :] if row[2] in renamed else row
            for row in chunk.rows["emailsend"]
        ]
        new = {old: new for old, new in renamed.values()}
        for key in ("suppression", "feedbacknotice"):
            at = 1 if key == "suppression" else 2
            chunk.rows[key] = [row[:at] + (new.get(row[at], row[at]),) + row[at + 1 :] for row in chunk.rows[key]]

    def drop_known_suppressions(self, chunk: Chunk) -> None:
        """On a database with suppressions already: an address suppressed before keeps its first reason."""
        if not self.suppressed_before or not chunk.rows["suppression"]:
            return
        taken = set(
            mail_demo.Suppression.objects.filter(email__in=[r[1] for r in chunk.rows["suppression"]]).values_list(
                "email", flat=True
            )
        )
        chunk.rows["suppression"] = [r for r in chunk.rows["suppression"] if r[1] not in taken]

    # ------------------------------------------------------------------------------------------------------
    # After the last chunk

    def finish(self) -> None:
        """Campaign totals and link clicks grow by what this seed wrote (a second seed adds to them)."""
        for ec, n in self.sends.items():
            EmailCampaign.objects.filter(id=ec).update(recipients_total=F("recipients_total") + n)
        for (ec, position), n in self.clicks.items():
            EmailLink.objects.filter(campaign_id=ec, position=position).update(clicks=F("clicks") + n)
