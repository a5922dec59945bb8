"""Starting points for a new form (the builder's "Start from" choice and the demo's forms): field lists in the
schema of `forms/fields.py`, each valid as it stands."""

EMAIL = {"key": "email", "label": "Work email", "type": "email", "maps_to": "contact.email", "required": True}
FIRST_NAME = {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"}
LAST_NAME = {"key": "last_name", "label": "Last name", "type": "text", "maps_to": "contact.last_name"}
COMPANY = {"key": "company", "label": "Company", "type": "text", "maps_to": "company.name", "progressive": True}
UTM = [
    {"key": name, "label": "", "type": "hidden", "maps_to": "", "source": name}
    for name in ("utm_source", "utm_medium", "utm_campaign")
]

STARTERS: dict[str, dict] = {
    "blank": {"label": "Just an email field", "fields": [EMAIL]},
    "contact_us": {
        "label": "Contact us",
        "title": "Contact us",
        "submit_label": "Send",
        "fields": [
            FIRST_NAME,
            LAST_NAME,
            EMAIL,
            COMPANY,
            {"key": "message", "label": "How can we help?", "type": "textarea", "maps_to": "", "required": True},
            *UTM,
        ],
    },
    "demo_request": {
        "label": "Demo request",
        "title": "See it in action",
        "intro": "Tell us a little about your team and we will set up a 30-minute demo.",
        "submit_label": "Request a demo",
        "fields": [
            {**FIRST_NAME, "required": True},
            {**LAST_NAME, "required": True},
            EMAIL,
            {**COMPANY, "required": True},
            {"key": "job_title", "label": "Job title", "type": "text", "maps_to": "contact.title", "progressive": True},
            {
                "key": "team_size",
                "label": "Team size",
                "type": "select",
                "maps_to": "",
                "choices": ["1-10", "11-50", "51-200", "201-1000", "1000+"],
            },
            {"key": "phone", "label": "Phone", "type": "phone", "maps_to": "contact.phone"},
            *UTM,
        ],
    },
    "webinar": {
        "label": "Webinar registration",
        "title": "Save your seat",
        "submit_label": "Register",
        "fields": [
            {**FIRST_NAME, "required": True},
            LAST_NAME,
            EMAIL,
            COMPANY,
            {
                "key": "session",
                "label": "Session",
                "type": "radio",
                "maps_to": "",
                "choices": ["Morning (Europe)", "Afternoon (Americas)"],
                "required": True,
            },
            *UTM,
        ],
    },
    "newsletter": {
        "label": "Newsletter signup",
        "title": "Get the monthly newsletter",
        "submit_label": "Subscribe",
        "fields": [
            {**EMAIL, "label": "Email"},
            {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"},
            *UTM,
        ],
    },
}


def starter_choices() -> list[tuple[str, str]]:
    return [(key, starter["label"]) for key, starter in STARTERS.items()]
