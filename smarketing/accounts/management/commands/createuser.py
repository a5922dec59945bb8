import getpass
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from smarketing.accounts.models import Role
from smarketing.accounts.services import create_user, find_team


class Command(BaseCommand):
    help = "Create a user who logs in with email and password."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--team", required=True, help="Marketing, Sales or RevOps (or any team's name)")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="", help="Full name")
        parser.add_argument("--password", help="Password (prompted for when omitted; '-' generates one)")

    def handle(self, *args, email, team, role, name, password, **options):
        try:
            team_obj = find_team(team)
            if password is None:
                password = getpass.getpass("Password: ")
            elif password == "-":
                password = secrets.token_urlsafe(12)
                self.stdout.write(f"Generated password: {password}")
            validate_password(password)
            user = create_user(email=email, password=password, team=team_obj, role=role, full_name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} ({team_obj} / {user.get_role_display()})"))
