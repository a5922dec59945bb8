"""The demo's people: eight users with one published password, for `smarketing demo` and `seed --demo-users`.

They are real, active accounts (one an admin) that anyone who read the docs can log in as, so nothing creates
them silently: `smarketing demo` creates and prints them, `smarketing seed` only with --demo-users.
"""

from django.contrib.auth.hashers import make_password

from smarketing.accounts.models import Role, Team, TeamKind, User

DEMO_DOMAIN = "demo.smarketing.local"
DEMO_PASSWORD = "smarketing-demo"

# key, full name, team kind, role, time zone: the product's personas and the people around them.
DEMO_USERS = [
    ("alex", "Alex Morgan", TeamKind.REVOPS, Role.ADMIN, "Europe/London"),
    ("riley", "Riley Chen", TeamKind.SALES, Role.MANAGER, "America/New_York"),
    ("sam", "Sam Okafor", TeamKind.SALES, Role.MEMBER, "America/New_York"),
    ("jordan", "Jordan Price", TeamKind.SALES, Role.MEMBER, "America/Chicago"),
    ("taylor", "Taylor Brooks", TeamKind.SALES, Role.MEMBER, "Europe/Berlin"),
    ("maya", "Maya Lopez", TeamKind.MARKETING, Role.MANAGER, "America/Los_Angeles"),
    ("noah", "Noah Fischer", TeamKind.MARKETING, Role.MEMBER, "Europe/Berlin"),
    ("evelyn", "Evelyn Hart", TeamKind.REVOPS, Role.READ_ONLY, "America/New_York"),
]
TEAM_NAMES = {TeamKind.MARKETING: "Marketing", TeamKind.SALES: "Sales", TeamKind.REVOPS: "RevOps"}


def demo_email(key: str) -> str:
    return f"{key}@{DEMO_DOMAIN}"


def _team(kind: str) -> Team:
    team = Team.objects.filter(kind=kind).order_by("id").first()
    return team or Team.objects.create(name=TEAM_NAMES[kind], kind=kind)


def ensure_demo_users() -> list[User]:
    """The demo's users (Maya, Sam, Riley, Alex and colleagues), created once; existing ones are kept as is."""
    existing = {u.email: u for u in User.objects.filter(email__in=[demo_email(key) for key, *_ in DEMO_USERS])}
    hashed = None
    users = []
    for key, name, kind, role, tz in DEMO_USERS:
        user = existing.get(demo_email(key))
        if user is None:
            # One hash for all: the password hasher is deliberately slow, and they share the demo password.
            hashed = hashed or make_password(DEMO_PASSWORD)
            user = User.objects.create_user(
                demo_email(key), None, full_name=name, team=_team(kind), role=role, time_zone=tz
            )
            user.password = hashed
            user.save(update_fields=["password"])
        users.append(user)
    return users


def missing_demo_users() -> int:
    """How many of the demo users do not exist yet (what ensure_demo_users would create)."""
    emails = [demo_email(key) for key, *_ in DEMO_USERS]
    return len(emails) - User.objects.filter(email__in=emails).count()


def seed_people() -> dict[str, User | None]:
    """Who owns and acts in generated data, by persona key.

    The demo users when they exist; otherwise the install's assignable users (active, not read-only) in turn,
    so seeded records still have owners; with no such user, nobody (unassigned records, system touches).
    """
    by_email = {u.email: u for u in User.objects.filter(email__in=[demo_email(key) for key, *_ in DEMO_USERS])}
    if len(by_email) == len(DEMO_USERS):
        return {key: by_email[demo_email(key)] for key, *_ in DEMO_USERS}
    others = list(User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY).order_by("id")[: len(DEMO_USERS)])
    return {key: (others[i % len(others)] if others else None) for i, (key, *_) in enumerate(DEMO_USERS)}
