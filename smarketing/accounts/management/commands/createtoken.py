"""`smarketing createtoken --email E --scope read|read_write`: a new personal API token for scripts and operators.

The same service as the API tokens page (api/tokens.py: hashed at rest, at most 50 active, audited), so the token
shows up on that page and its owner can revoke it there. The secret is printed once, alone on stdout, so a script
can capture it (`TOKEN=$(smarketing createtoken ...)`); everything else goes to stderr.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from smarketing.accounts.models import User
from smarketing.api.models import TokenScope
from smarketing.api.tokens import create_token
from smarketing.core.models import Origin


class Command(BaseCommand):
    help = "Print a new personal API token for a user (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The user the token acts as (their role applies)")
        parser.add_argument("--scope", required=True, choices=TokenScope.values)
        parser.add_argument("--name", default="Command line", help="How the token is listed on the tokens page")

    def handle(self, *args, email, scope, name, **options):
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user with the email {email!r}.")
        try:
            token, secret = create_token(user, name=name, scope=scope, origin=Origin.SYSTEM)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stderr.write(
            f"Created {token.get_scope_display()} token {token.prefix}… for {user.email}; it is shown once:"
        )
        self.stdout.write(secret)
