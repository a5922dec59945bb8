"""The settings index: one page that lists every admin page, for admins (all) and managers (what they may read)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from smarketing.accounts.access import is_admin, require_manager_or_admin

# (url name, title, what it is for, admins only?)
PAGES = [
    ("settings_users", "Users", "Invite people, set their role, team, time zone and working hours; deactivate.", False),
    ("settings_teams", "Teams", "Marketing, sales and RevOps teams and who is on them.", False),
    (
        "settings_pipelines",
        "Pipelines and stages",
        "Stages in order, win probability, target days, exit criteria.",
        False,
    ),
    (
        "settings_lifecycle",
        "Lifecycle stages",
        "What subscriber, lead, MQL, SQL … mean here, and who owns each.",
        False,
    ),
    # Issue 10: the sales process
    (
        "process:settings",
        "Lead handoff",
        "Who receives new MQLs, the first-touch SLA in business hours, rejection reasons, the MQL commitment.",
        True,
    ),
    (
        "process:stages",
        "Stage governance",
        "Each step's role, checklist, required records and playbook tasks.",
        True,
    ),
    ("property_list", "Custom properties", "Extra fields on contacts, companies and deals.", True),
    ("settings_senders", "Sender identities", "Who marketing email is from, reply-to, how fast it may leave.", True),
    # Issue 9, tracking part
    ("tracking:settings", "Web tracking", "The tracking snippet, consent mode, Do-Not-Track, allowed sites.", False),
    ("audit_log", "Audit log", "Who changed what, when, from what to what.", True),
    ("jobs:job_list", "Background jobs", "Imports, exports and housekeeping; failures and retries.", True),
    ("webhooks:endpoint_list", "Webhooks", "Send record changes to other systems.", True),
    ("privacy:log", "Privacy requests", "Export or erase a person's data.", True),
]


@require_GET
def settings_index(request):
    require_manager_or_admin(request.user)
    admin = is_admin(request.user)
    pages = [
        {"url": url, "title": title, "description": description}
        for url, title, description, admins_only in PAGES
        if admin or not admins_only
    ]
    return render(request, "crm/settings/index.html", {"pages": pages, "is_admin": admin})
