"""The mail side of the demo: the sender identities the seeded campaigns went out under, and the columns of the
global suppression list that the email demo fills from the seeded unsubscribes, complaints and hard bounces."""

from smarketing.mail.models import FeedbackKind, FeedbackNotice, SenderIdentity, Suppression, SuppressionReason

DEMO_MAIL_DOMAIN = "demo.smarketing.local"

# key, name people pick it by, from name, from address, reply-to
IDENTITIES = [
    ("news", "Newsletter (Maya)", "Maya at Smarketing", f"news@{DEMO_MAIL_DOMAIN}", f"maya@{DEMO_MAIL_DOMAIN}"),
    ("events", "Webinars and events", "Smarketing Events", f"events@{DEMO_MAIL_DOMAIN}", f"maya@{DEMO_MAIL_DOMAIN}"),
    ("product", "Product news", "Smarketing Product", f"product@{DEMO_MAIL_DOMAIN}", f"noah@{DEMO_MAIL_DOMAIN}"),
]

SUPPRESSION_COLUMNS = "id email reason source created_at".split()
# The evidence of each hard bounce and complaint, as a parsed DSN or feedback report would have left it.
NOTICE_COLUMNS = "id kind email message_id diagnostic channel received_at".split()
TABLES = {"suppression": (Suppression, SUPPRESSION_COLUMNS), "feedbacknotice": (FeedbackNotice, NOTICE_COLUMNS)}
NOTICES = {
    "email_bounced": (FeedbackKind.HARD_BOUNCE.value, "550 5.1.1 The email account does not exist", "dsn"),
    "email_complained": (FeedbackKind.COMPLAINT.value, "abuse report from the mailbox provider", "dsn"),
}
REASONS = {
    "unsubscribed": SuppressionReason.UNSUBSCRIBED.value,
    "email_complained": SuppressionReason.COMPLAINT.value,
    "email_bounced": SuppressionReason.HARD_BOUNCE.value,
}


def sender_identities() -> dict[str, int]:
    """The demo's sender identities, created once (matched by from address); key -> id."""
    existing = {s.from_email: s.id for s in SenderIdentity.objects.filter(from_email__in=[i[3] for i in IDENTITIES])}
    has_default = SenderIdentity.objects.filter(is_default=True).exists()
    out = {}
    for key, name, from_name, from_email, reply_to in IDENTITIES:
        if from_email not in existing:
            existing[from_email] = SenderIdentity.objects.create(
                name=name,
                from_name=from_name,
                from_email=from_email,
                reply_to=reply_to,
                is_default=not has_default and key == "news",
            ).id
        out[key] = existing[from_email]
    return out
