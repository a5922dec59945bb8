"""Where a contact or deal came from: the product's sources, and the one table that maps other tools' values to them.

A source is one of the campaign channels (`campaigns.Channel`: a campaign's channel is where its leads come
from) or one of the ways leads arrive without a campaign (a web form, a chat, a phone call, a partner, a bought
list, something entered by hand). `Contact.first_source` and `Deal.source` store the source's value; a value
that is not one of them (a source another tool invented) is kept as it was given, so nothing is lost, and shown
as it is.

`ALIASES` is the one mapping from what HubSpot, Salesforce and Pipedrive export to these values; the importer
uses it through `normalize_source()`, and the API and forms may use it the same way.
"""

import re

from smarketing.campaigns.models import Channel

# The channels first, then the sources that have no campaign behind them.
SOURCES: list[tuple[str, str]] = [
    *Channel.choices,
    ("form", "Web form"),
    ("chat", "Chat"),
    ("phone", "Phone inquiry"),
    ("partner", "Partner"),
    ("purchased_list", "Purchased list"),
    ("pr", "Public relations"),
    ("offline", "Offline (entered by hand, imported, integration)"),
    ("other", "Other"),
]
LABELS: dict[str, str] = dict(SOURCES)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


# Other tools' values (compared as lowercase letters and digits only) → a source value above.
ALIASES: dict[str, str] = {
    _key(alias): source
    for source, aliases in {
        # HubSpot's "Original Source" (hs_analytics_source), as labels and as internal values.
        "paid": [
            "Paid Search", "PAID_SEARCH", "Paid Social", "PAID_SOCIAL", "Advertisement", "Ads", "Paid", "PPC",
            "Banner Ads", "Google AdWords", "Display",
        ],
        "organic": ["Organic Search", "ORGANIC_SEARCH", "SEO", "Search"],
        "social": ["Social Media", "SOCIAL_MEDIA", "Organic Social", "Social"],
        "email": ["Email Marketing", "EMAIL_MARKETING", "Email", "Campaigns", "Newsletter"],
        "referral": [
            "Referrals", "REFERRALS", "Referral", "Employee Referral", "External Referral", "Word of mouth",
            "Customer Referral",
        ],
        "direct": ["Direct Traffic", "DIRECT_TRAFFIC", "Direct"],
        "offline": [
            "Offline Sources", "OFFLINE", "Offline", "Manually created", "Manual", "Import", "Imported",
            "Marketplace", "Integration", "API",
        ],
        "other": ["Other Campaigns", "OTHER_CAMPAIGNS", "Other"],
        # Salesforce's standard lead sources (LeadSource picklist).
        "form": ["Web", "Web forms", "Web form", "Form", "Leadbooster", "Website", "Web-to-Lead"],
        "phone": ["Phone Inquiry", "Phone", "Cold Call", "Inbound call"],
        "partner": ["Partner Referral", "Partner"],
        "purchased_list": ["Purchased List", "List"],
        "event": ["Trade Show", "Seminar - Internal", "Seminar - Partner", "Event", "Conference"],
        "webinar": ["Webinar"],
        "pr": ["Public Relations", "PR", "Press"],
        # Pipedrive's lead and deal sources (besides those above).
        "outreach": ["Prospector", "Outbound", "Sales outreach"],
        "chat": ["Messaging inbox", "Live chat", "Chatbot", "Chat"],
        "content": ["Content"],
    }.items()
    for alias in aliases
}  # fmt: skip
# Every source's own value and label is an alias of itself ("paid", "Paid ads", "purchased_list").
for _value, _label in SOURCES:
    ALIASES.setdefault(_key(_value), _value)
    ALIASES.setdefault(_key(_label), _value)


def normalize_source(raw: str) -> tuple[str, bool]:
    """(the source value, True) for a value the table knows; (the raw value trimmed, False) for any other."""
    text = " ".join(raw.split())
    found = ALIASES.get(_key(text))
    return (found, True) if found else (text, False)


def source_label(value: str) -> str:
    """A source's label; a value that is not a product source (kept from an import) shows as it is."""
    return LABELS.get(value, value)
