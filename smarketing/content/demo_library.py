"""The demo's content library as data: personas, products, the assets (what each is, where it helps, where it
is in its review), the messaging guide, and the words on the generated PDFs. demo.py turns them into rows."""

from dataclasses import dataclass

from smarketing.content.models import AssetType, MessageKind

MKT, SALES, OPS, IT, EXEC = "Head of Marketing", "Sales leader", "RevOps / Operations", "IT & Security", "Executive"
# name, description, title keywords (whole words, first persona by position wins: content/personas.py)
PERSONAS = [
    (MKT, "Owns pipeline targets and the marketing budget; wants to prove which campaigns bring revenue.",
     "cmo, vp marketing, head of marketing, head of growth, demand generation, marketing manager, "
     "content marketing, product marketing, digital marketing, marketing coordinator"),
    (SALES, "Runs the sales team; wants leads that are ready and reps who spend time selling.",
     "cro, vp sales, head of sales, sales director, account executive, sales development, customer success"),
    (OPS, "Owns the data, the tools and the process between the teams.",
     "revenue operations, sales operations, marketing operations, revops, operations manager"),
    (IT, "Signs off security, hosting and integrations.",
     "cto, it manager, it director, ciso, security, software engineer"),
    (EXEC, "Signs the contract: cost, risk and what it is worth.",
     "ceo, founder, coo, cfo, finance director, procurement"),
]  # fmt: skip
CRM, EMAIL, ATTR, SELF = "Smarketing CRM", "Email marketing", "Attribution & reporting", "Self-hosted Enterprise"
PRODUCTS = [CRM, EMAIL, ATTR, SELF]
# Types a rep sends to a contact; battlecards and email templates are for the rep's own eyes.
INTERNAL_TYPES = {AssetType.BATTLECARD, AssetType.EMAIL_TEMPLATE}
SITE = "https://www.demo.smarketing.local"
VIDEO = "https://video.demo.smarketing.local"


@dataclass(frozen=True)
class AssetSpec:
    """One asset of the demo library. `stages` index the pipeline's open stages (0 = first, 4 = last of five);
    days are before the seed. Status: approved (at `approved`), in_review (submitted `submitted` days ago),
    changes (sent back), retired (`retired` days ago)."""

    title: str
    asset_type: str
    owner: str
    stages: tuple[int, ...]
    funnel: tuple[str, ...]
    personas: tuple[str, ...]
    products: tuple[str, ...] = ()
    description: str = ""
    industry: str = ""
    pages: int = 0  # a PDF of that many pages; 0 for a URL asset
    url: str = ""
    status: str = "approved"
    approved: int = 365
    submitted: int = 0
    retired: int = 0
    expires_in: int | None = None  # days from now
    reminded: bool = False  # the expiry reminder went out already
    reviewers: tuple[str, ...] = ()
    first_sent_back: str = ""  # version 1 was sent back with this comment; version 2 is the approved one
    v2_approved: int = 0  # version 2 approved that many days ago, replacing version 1
    v2_in_review: int = 0  # version 2 submitted that many days ago, version 1 still served
    v2_note: str = ""
    comments: tuple[tuple[str, str], ...] = ()  # (author key, text), oldest first
    review_comment: str = ""


LIBRARY = [
    # -- case studies --------------------------------------------------------------------------------------
    AssetSpec("Case study: How Northwind doubled MQL-to-SQL conversion", AssetType.CASE_STUDY, "maya", (1, 3),
              ("mql", "sql", "opportunity"), (MKT, SALES), (CRM,), industry="Software", pages=4, approved=388,
              description="Northwind's marketing and sales teams agreed on one lead definition and one handoff; "
              "within two quarters twice as many MQLs became sales-qualified.",
              first_sent_back="Northwind's legal team has not signed off the quote on page 2 yet.",
              expires_in=200),
    AssetSpec("Case study: Harbor Logistics answers every lead within two hours", AssetType.CASE_STUDY, "noah",
              (1, 3), ("sql", "opportunity"), (SALES, OPS), (CRM,), industry="Logistics", pages=4, approved=340,
              description="Routing and an SLA both teams see cut Harbor's lead response time from two days to two "
              "hours.", expires_in=18),
    AssetSpec("Case study: Cedar Health keeps patient data in-house", AssetType.CASE_STUDY, "maya", (3, 4),
              ("opportunity",), (IT, EXEC), (SELF,), industry="Healthcare", pages=5, approved=300,
              description="A hospital group runs Smarketing on its own servers: marketing and sales on one system, "
              "no patient data with a third party."),
    AssetSpec("Case study: Summit Capital's one source of pipeline truth", AssetType.CASE_STUDY, "noah", (2, 3),
              ("opportunity",), (OPS, EXEC), (ATTR,), industry="Financial services", pages=4, approved=250,
              description="Summit replaced three spreadsheets and a weekly argument with one pipeline report."),
    AssetSpec("Case study: Pioneer Robotics' first closed-loop report", AssetType.CASE_STUDY, "noah", (1, 2),
              ("mql", "sql"), (MKT,), (ATTR, EMAIL), industry="Manufacturing", pages=3, approved=150,
              description="Pioneer's marketing team now reports revenue per campaign, not clicks."),
    AssetSpec("Case study: Atlas Retail replaced three tools with one", AssetType.CASE_STUDY, "maya", (3, 4),
              ("opportunity",), (EXEC, MKT), (CRM, EMAIL), industry="Retail", pages=4, status="in_review",
              submitted=3, reviewers=("alex", "riley"),
              description="Atlas moved CRM, email and reporting onto one system and shortened its sales cycle.",
              comments=(("riley", "Great story. Can we lead with the 40% shorter sales cycle? That's the number "
                                  "my reps will quote."),
                        ("maya", "Moved it to the headline on page 1 in this version."))),
    # -- whitepapers and e-books -------------------------------------------------------------------------------
    AssetSpec("Whitepaper: The RevOps data model", AssetType.WHITEPAPER, "noah", (1, 2), ("lead", "mql"), (OPS,),
              (CRM,), pages=6, approved=410,
              description="One model of contacts, companies, deals and touches that marketing and sales both "
              "report from."),
    AssetSpec("The State of Sales & Marketing Alignment report", AssetType.WHITEPAPER, "maya", (0,),
              ("subscriber", "lead"), (MKT, SALES, EXEC), pages=6, approved=420, expires_in=150,
              description="Our yearly survey of 600 marketing and sales leaders: where the handoff breaks and what "
              "the aligned teams do differently."),
    AssetSpec("Security & compliance overview", AssetType.WHITEPAPER, "noah", (3, 4), ("opportunity",), (IT,),
              (SELF, CRM), pages=5, approved=360, expires_in=5, reminded=True,
              description="Hosting, encryption, access control, audit log and how we handle a privacy request."),
    AssetSpec("Data protection & GDPR whitepaper", AssetType.WHITEPAPER, "noah", (4,), ("opportunity",), (IT, EXEC),
              (SELF,), pages=4, approved=280,
              description="Consent, exports, erasure and the data processing agreement, in plain words."),
    AssetSpec("Ebook: Multi-touch attribution without the math headache", AssetType.EBOOK, "maya", (0, 1),
              ("lead", "mql"), (MKT,), (ATTR,), pages=6, approved=400,
              description="First touch, last touch, linear and W-shaped, with a worked example for each."),
    AssetSpec("Guide: Lead scoring that sales trusts", AssetType.EBOOK, "noah", (0, 1), ("lead", "mql"),
              (MKT, SALES), (CRM,), pages=5, approved=380,
              description="Fit and engagement, decay, and the threshold both teams sign."),
    AssetSpec("Playbook: Running the weekly alignment meeting", AssetType.EBOOK, "maya", (1,),
              ("sql", "opportunity"), (SALES, OPS), pages=4, approved=330,
              description="Thirty minutes, five numbers, one owner per weak spot."),
    AssetSpec("Checklist: Migrating your CRM in 30 days", AssetType.EBOOK, "noah", (4,), ("opportunity", "customer"),
              (OPS, IT), (CRM,), pages=3, approved=320,
              description="What to export, map, test and switch over, week by week."),
    # -- decks -------------------------------------------------------------------------------------------------
    AssetSpec("Smarketing company overview deck", AssetType.DECK, "maya", (0,), ("lead", "mql", "sql"),
              (MKT, SALES, OPS, EXEC), (CRM, EMAIL, ATTR), pages=6, approved=415, v2_approved=95,
              v2_note="New plans and the attribution module", reviewers=("alex",),
              description="Who we are, the problem we solve and the customers who use us."),
    AssetSpec("Product demo deck: marketing and sales on one system", AssetType.DECK, "noah", (2,),
              ("sql", "opportunity"), (MKT, SALES), (CRM, EMAIL, ATTR), pages=7, approved=370, v2_in_review=2,
              v2_note="Adds the content library and the stage panel", reviewers=("maya",),
              description="The slides behind the demo: the handoff, the timeline and the closed-loop report."),
    AssetSpec("Executive business case deck", AssetType.DECK, "maya", (3,), ("opportunity",), (EXEC,), (CRM, ATTR),
              pages=5, approved=345,
              description="Cost, payback and risk on five slides for the person who signs."),
    AssetSpec("Implementation & onboarding plan", AssetType.DECK, "noah", (4,), ("opportunity", "customer"),
              (OPS, IT), (CRM, SELF), pages=5, approved=310,
              description="The first 60 days: who does what, when the data moves and when the teams switch over."),
    # -- one-pagers --------------------------------------------------------------------------------------------
    AssetSpec("One-pager: Smarketing at a glance", AssetType.ONE_PAGER, "noah", (0, 1), ("subscriber", "lead", "mql"),
              (MKT, SALES, OPS, EXEC), (CRM,), pages=2, approved=405,
              description="What Smarketing does, for whom, and the three numbers customers see first."),
    AssetSpec("Pricing & plans one-pager", AssetType.ONE_PAGER, "maya", (4,), ("opportunity",), (EXEC, SALES),
              (CRM, EMAIL, ATTR, SELF), pages=2, approved=80, expires_in=6,
              description="The plans, what each includes, and the self-hosted option."),
    AssetSpec("Price list (previous plans)", AssetType.ONE_PAGER, "maya", (4,), ("opportunity",), (EXEC, SALES),
              (CRM, EMAIL, ATTR), pages=2, approved=425, status="retired", retired=78,
              description="Last year's plans. Replaced by the pricing & plans one-pager."),
    AssetSpec("One-pager: The email marketing add-on", AssetType.ONE_PAGER, "noah", (1, 2), ("mql", "sql"), (MKT,),
              (EMAIL,), pages=2, approved=260,
              description="Campaigns, templates and deliverability, reporting revenue rather than opens."),
    AssetSpec("ROI summary: what alignment is worth", AssetType.ONE_PAGER, "maya", (3,), ("opportunity",),
              (EXEC, OPS), (ATTR,), pages=2, approved=290,
              description="Faster follow-up, fewer lost leads and one tool less, in dollars."),
    AssetSpec("Template: a marketing-to-sales SLA", AssetType.ONE_PAGER, "noah", (1,), ("mql", "sql"),
              (MKT, SALES, OPS), pages=2, approved=395,
              description="A one-page agreement: what marketing delivers, how fast sales follows up."),
    # -- battlecards (internal) --------------------------------------------------------------------------------
    AssetSpec("Battlecard: Smarketing vs. Funnelforce", AssetType.BATTLECARD, "noah", (2, 3), (), (SALES,), (CRM,),
              pages=2, approved=300, reviewers=("maya", "riley"),
              description="Where we win, where they do, and the questions that show the difference."),
    AssetSpec("Battlecard: Smarketing vs. PipeLoop", AssetType.BATTLECARD, "noah", (2, 3), (), (SALES,), (CRM,),
              pages=2, status="in_review", submitted=5, reviewers=("maya", "riley"),
              description="PipeLoop is cheap to start; show what it costs once marketing needs reporting.",
              comments=(("riley", "PipeLoop dropped their free tier last month: the pricing row is out of date."),
                        ("noah", "Thanks, fixed in this version. Over to Maya."))),
    # -- videos and blog posts (URLs) --------------------------------------------------------------------------
    AssetSpec("Video: A three-minute product tour", AssetType.VIDEO, "maya", (0, 1), ("lead", "mql"), (MKT, SALES),
              (CRM,), url=f"{VIDEO}/product-tour", approved=365,
              description="The timeline, the handoff and the report in three minutes."),
    AssetSpec("Video: Harbor Logistics customer story", AssetType.VIDEO, "noah", (1, 3), ("sql", "opportunity"),
              (SALES, OPS), (CRM,), industry="Logistics", url=f"{VIDEO}/harbor-logistics", approved=335,
              description="Harbor's head of sales on answering every lead within two hours."),
    AssetSpec("Webinar recording: Closing the loop between marketing and sales", AssetType.VIDEO, "maya", (0,),
              ("lead", "mql"), (MKT,), (ATTR,), url=f"{VIDEO}/webinars/closing-the-loop", approved=230,
              description="Forty-five minutes with a customer guest and the questions of 300 attendees."),
    AssetSpec("Webinar recording: Building a RevOps dashboard both teams own", AssetType.VIDEO, "maya", (1,),
              ("mql", "sql"), (OPS,), (ATTR,), url=f"{VIDEO}/webinars/revops-dashboard", status="in_review",
              submitted=2, reviewers=("alex", "noah"),
              description="Five numbers, one dashboard, and how to keep both teams looking at it.",
              comments=(("noah", "Trimmed the first five minutes of setup chatter."),)),
    AssetSpec("Blog: Why your MQLs don't convert (and what to do about it)", AssetType.BLOG_POST, "noah", (0,),
              ("subscriber", "lead"), (MKT,), url=f"{SITE}/blog/why-mqls-dont-convert", approved=350,
              description="Three reasons, and a fix for each that takes a week."),
    AssetSpec("Blog: Attribution models explained", AssetType.BLOG_POST, "noah", (0, 1), ("lead", "mql"), (MKT, OPS),
              (ATTR,), url=f"{SITE}/blog/attribution-models-explained", approved=180,
              description="Which model answers which question, with pictures."),
    # -- email templates (internal) ----------------------------------------------------------------------------
    AssetSpec("Email template: Following up after the demo", AssetType.EMAIL_TEMPLATE, "maya", (2,),
              ("sql", "opportunity"), (SALES,), pages=1, approved=355,
              description="The recap, the two links that matter and one next step."),
    AssetSpec("Email template: Sending the proposal", AssetType.EMAIL_TEMPLATE, "noah", (4,), ("opportunity",),
              (SALES,), pages=1, status="changes", submitted=4, reviewers=("riley",),
              description="The proposal email: price, plan, start date and who signs.",
              review_comment="Shorter, please, and link the pricing one-pager instead of attaching it."),
]  # fmt: skip

# Reviewers of an approved asset when the spec names none: the other marketer, or the admin for Maya's own.
DEFAULT_REVIEWER = {"maya": "alex", "noah": "maya"}


@dataclass(frozen=True)
class MessageSpec:
    kind: str
    title: str
    body: str
    personas: tuple[str, ...] = ()
    stages: tuple[int, ...] = ()
    lifecycle: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    competitor: str = ""
    approved: int = 300
    revised: str = ""  # a new text waiting for re-approval (the approved one stays what sales sees)


GUIDE = [
    MessageSpec(MessageKind.VALUE_PROPOSITION, "One system for marketing and sales",
                "Every lead arrives in sales with its whole story: what they read, clicked and asked.\n"
                "Both teams report from the same numbers, so the Monday meeting is about decisions, not data.\n"
                "One tool instead of three: less to pay, less to sync, less to learn.",
                (MKT, SALES, OPS, EXEC), (), ("lead", "mql", "sql"), (CRM,), approved=410),
    MessageSpec(MessageKind.VALUE_PROPOSITION, "Revenue you can trace to every campaign",
                "Closed-loop reporting: each campaign's pipeline and revenue, not its clicks.\n"
                "Attribution models side by side, so no one argues about the model.\n"
                "The same numbers on the dashboard, in the API and in the weekly report.",
                (MKT, EXEC), (), ("mql", "sql", "opportunity"), (ATTR,), approved=400),
    MessageSpec(MessageKind.KEY_MESSAGE, "For the Head of Marketing: prove pipeline, not clicks",
                "Show the board which campaigns brought revenue last quarter.\n"
                "See where MQLs stall after the handoff, and fix it with sales.\n"
                "Spend the next budget where the pipeline came from.",
                (MKT,), (0, 1), ("mql", "sql"), (ATTR,), approved=390),
    MessageSpec(MessageKind.KEY_MESSAGE, "For sales leaders: every lead arrives ready, with its story",
                "Leads reach reps scored, routed and with an SLA clock both teams see.\n"
                "The right approved content for each stage, one click from the deal.\n"
                "Reps see what the prospect read before the call.",
                (SALES,), (0, 1, 2), ("sql", "opportunity"), (CRM,), approved=385),
    MessageSpec(MessageKind.KEY_MESSAGE, "For RevOps: one data model, no sync jobs",
                "Contacts, companies, deals and every touch in one database.\n"
                "Stage rules and the handoff are configured, not scripted.\n"
                "A documented API and webhooks for what stays outside.",
                (OPS,), (1, 2), ("sql", "opportunity"), (CRM,), approved=380),
    MessageSpec(MessageKind.KEY_MESSAGE, "For IT and security: self-hosted, your data stays in-house",
                "Runs on your servers or your cloud account; files in your own S3 bucket if you like.\n"
                "Role-based access, an audit log of every change, privacy exports and erasure built in.\n"
                "No third-party trackers in the app; uploads are checked and never served inline.",
                (IT,), (3, 4), ("opportunity",), (SELF,), approved=360),
    MessageSpec(MessageKind.TALKING_POINT, "Discovery: the questions that qualify",
                "How does a lead get from marketing to sales today, and how long does it take?\n"
                "Who decides what an MQL is, and does sales agree?\n"
                "What report do you wish you had on Monday morning?",
                (MKT, SALES, OPS), (0,), ("sql",), approved=370),
    MessageSpec(MessageKind.TALKING_POINT, "Qualification: budget, timeline and the two teams' pains",
                "Confirm who owns the budget and when the current tools renew.\n"
                "Name one pain per team, in their own words.\n"
                "Agree on what a successful first quarter looks like.",
                (SALES, EXEC), (1,), ("sql", "opportunity"), approved=365),
    MessageSpec(MessageKind.TALKING_POINT, "Demo: show the handoff and the closed-loop report",
                "Start from their lead: the timeline shows every touch before sales called.\n"
                "Move it through the handoff and the SLA, then open the campaign report.\n"
                "End on the stage panel: the right content on each deal stage.",
                (MKT, SALES), (2,), ("opportunity",), (CRM, ATTR), approved=360),
    MessageSpec(MessageKind.TALKING_POINT, "Business case: the numbers the CFO asks for",
                "Tools replaced and what they cost today.\n"
                "Hours a week spent reconciling reports, times the people doing it.\n"
                "One won deal more per quarter from faster follow-up pays for the plan.",
                (EXEC, OPS), (3,), ("opportunity",), (ATTR,), approved=350),
    MessageSpec(MessageKind.TALKING_POINT, "Proposal: walk through the price and the rollout plan",
                "Walk through the proposal on a call; never just send it.\n"
                "Tie each line of the price to a pain they named in qualification.\n"
                "Show the 60-day onboarding plan and who does what in week one.\n"
                "Agree on the signer and the date before you hang up.",
                (EXEC, SALES), (4,), ("opportunity",), (CRM, SELF), approved=340),
    MessageSpec(MessageKind.OBJECTION, "“We already have a CRM.”",
                "Keep it for now: we import it in a day and run side by side for a month.\n"
                "Ask what marketing uses, and how the two talk to each other today.\n"
                "The gap is the handoff and the report, not the contact list.",
                (SALES, OPS), (0, 1), ("sql",), (CRM,), approved=330),
    MessageSpec(MessageKind.OBJECTION, "“It's too expensive.”",
                "Compare with the three tools it replaces, not with one of them.\n"
                "Start on the Growth plan; move up when the second team joins.",
                (EXEC,), (3, 4), ("opportunity",), approved=320,
                revised="Compare with the three tools it replaces, not with one of them.\n"
                        "Start on the Growth plan; move up when the second team joins.\n"
                        "Self-hosting removes the per-seat cost of a second vendor for IT."),
    MessageSpec(MessageKind.OBJECTION, "“Our data can't leave our servers.”",
                "It doesn't have to: Smarketing is self-hosted, files included.\n"
                "Share the security overview and offer a call with our engineer.",
                (IT, EXEC), (3, 4), ("opportunity",), (SELF,), approved=310),
    MessageSpec(MessageKind.COMPETITOR, "Funnelforce",
                "Strong CRM, but marketing lives in a separate product with its own data.\n"
                "Attribution is an add-on; ask them to show revenue per campaign live.\n"
                "Where they win: a large partner ecosystem. Don't fight it; show the handoff.",
                (SALES,), (2, 3), ("opportunity",), (CRM, ATTR), competitor="Funnelforce", approved=300),
    MessageSpec(MessageKind.COMPETITOR, "PipeLoop",
                "Cheap to start and quick to set up for a small sales team.\n"
                "No marketing side: email, forms and scoring need other tools.\n"
                "Ask what happens to reporting when marketing joins.",
                (SALES,), (1, 2), ("sql", "opportunity"), (CRM,), competitor="PipeLoop", approved=200),
]  # fmt: skip

# The words on the pages of each type's PDF: a heading per page and a few lines under it.
SECTIONS = {
    AssetType.CASE_STUDY: ["At a glance", "The challenge", "What they did", "The results", "In their words"],
    AssetType.WHITEPAPER: ["Summary", "The problem", "A model that works", "How to start", "Checklist", "Appendix"],
    AssetType.EBOOK: ["Introduction", "Chapter 1", "Chapter 2", "Chapter 3", "Chapter 4", "What to do next"],
    AssetType.DECK: ["Agenda", "The problem", "One system", "How it works", "Customers", "Plans", "Next steps"],
    AssetType.ONE_PAGER: ["At a glance", "Why it matters"],
    AssetType.BATTLECARD: ["Where we win", "Where they win"],
    AssetType.EMAIL_TEMPLATE: ["The email"],
}
LINES = [
    "Marketing and sales work from the same records and the same numbers.",
    "Every lead reaches sales with its whole story: what it read, clicked and asked.",
    "The handoff has an owner and a clock that both teams can see.",
    "Reports show pipeline and revenue per campaign, not only clicks and opens.",
    "Approved content for each deal stage is one click away for the rep.",
    "Fewer tools to pay for, fewer syncs to keep running, fewer logins to learn.",
    "Data stays where you decide: on your servers or in your own cloud account.",
    "Changes are audited; privacy exports and erasure are built in.",
]
