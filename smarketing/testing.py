"""Test helpers shared by every app: the named cast and record factories that go through the real services.

The cast (as in healthchecks): alice is an admin in RevOps, bob a sales member, carol a sales manager,
mia a marketing member, and rory a read-only user.
"""

import itertools

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Role, Team, User
from smarketing.core.models import Origin
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline

PASSWORD = "correct-horse-42"
_counter = itertools.count(1)


def ensure_defaults() -> None:
    """Teams and the default pipeline come from a data migration; transactional tests flush them, so restore."""
    from smarketing.crm.defaults import install_defaults
    from smarketing.crm.models import Pipeline, Stage

    install_defaults(Team, Pipeline, Stage)


def team(kind: str) -> Team:
    ensure_defaults()
    return Team.objects.get(kind=kind)


def make_user(email: str, *, role: str = Role.MEMBER, team_kind: str = "sales", name: str = "") -> User:
    return User.objects.create_user(
        email, PASSWORD, role=role, team=team(team_kind), full_name=name or email.split("@")[0].title()
    )


def make_cast() -> dict[str, User]:
    return {
        "alice": make_user("alice@example.com", role=Role.ADMIN, team_kind="revops", name="Alice Admin"),
        "bob": make_user("bob@example.com", role=Role.MEMBER, team_kind="sales", name="Bob Seller"),
        "carol": make_user("carol@example.com", role=Role.MANAGER, team_kind="sales", name="Carol Manager"),
        "mia": make_user("mia@example.com", role=Role.MEMBER, team_kind="marketing", name="Mia Marketer"),
        "rory": make_user("rory@example.com", role=Role.READ_ONLY, team_kind="sales", name="Rory Reader"),
    }


def make_company(actor=None, **data):
    n = next(_counter)
    data.setdefault("name", f"Company {n}")
    data.setdefault("domain", f"company{n}.example")
    return services.create_company(actor=actor or system_actor(), data=data, origin=Origin.SYSTEM)


def make_contact(actor=None, **data):
    n = next(_counter)
    data.setdefault("email", f"person{n}@example.com")
    data.setdefault("first_name", "Person")
    data.setdefault("last_name", str(n))
    return services.create_contact(actor=actor or system_actor(), data=data, origin=Origin.SYSTEM)


def make_deal(actor=None, *, stage=None, contacts=(), **data):
    ensure_defaults()
    n = next(_counter)
    data.setdefault("name", f"Deal {n}")
    data.setdefault("amount", "1000")
    stage = stage or default_pipeline().stages.order_by("position").first()
    return services.create_deal(
        actor=actor or system_actor(),
        data=data,
        stage=stage,
        contacts=[(c, "champion") for c in contacts],
        origin=Origin.SYSTEM,
    )
