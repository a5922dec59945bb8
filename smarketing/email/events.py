"""The outbox events email marketing publishes (webhooks offer them; workflows and scoring will consume them)."""

from smarketing.core.events import declare_events

declare_events(
    {
        "email.sent": "Marketing email sent",
        "email.opened": "Marketing email opened",
        "email.clicked": "Marketing email link clicked",
        "email.bounced": "Marketing email bounced",
        "email.unsubscribed": "Contact unsubscribed",
        "email.complained": "Marketing email marked as spam",
        "email.preferences_changed": "Email preferences changed",
        "email.resubscribed": "Contact subscribed again to marketing email",
        "campaign.sending": "Email campaign started sending",
        "campaign.sent": "Email campaign finished sending",
    }
)
