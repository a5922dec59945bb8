import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from smarketing.core.management.commands.serve import check_bind, gunicorn_argv, wait_until_serving


def check_mail_bind(mail_bind: str) -> None:
    """check_bind's sentence, naming the option that needs another value."""
    try:
        check_bind(mail_bind)
    except CommandError as exc:
        raise CommandError(str(exc).replace("--bind", "--mail-bind")) from None


class Command(BaseCommand):
    help = "Migrate, load demo data and users when the database is empty, then serve the app with a worker."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="Address to serve on (host:port).")
        parser.add_argument("--contacts", type=int, default=2000, help="Size of the demo data set.")
        parser.add_argument("--no-serve", action="store_true", help="Set up and load data, then exit.")
        parser.add_argument(
            "--mail-bind",
            default="127.0.0.1:1025",
            help="Where the demo's SMTP sink listens (host:port); what the app sends is read at /mail/viewer/.",
        )

    def handle(self, *args, bind, contacts, no_serve, mail_bind, **options):
        from smarketing.crm.models import Contact
        from smarketing.demo.users import DEMO_PASSWORD, ensure_demo_users

        if not no_serve:
            check_bind(bind)  # before minutes of loading data, not after
            check_mail_bind(mail_bind)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        # The demo's users first: the seed gives their records to them.
        users = ensure_demo_users()
        if not Contact.objects.exists():
            self.stdout.write(f"Loading demo data ({contacts} contacts)...")
            call_command("seed", contacts=contacts, seed=42, demo_users=True, automation=True, stdout=self.stdout)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for user in users:
            self.stdout.write(f"  {user.email:<28} {user.team} / {user.get_role_display()}")
        self.stdout.write(f"\nData directory: {settings.DATA_DIR}")
        if no_serve:
            return
        self.serve(bind, mail_bind)

    def serve(self, bind: str, mail_bind: str = "127.0.0.1:1025") -> None:
        check_bind(bind)  # again: the data may have taken minutes to load
        check_mail_bind(mail_bind)
        sys.stdout.flush()
        # No mail server needed: everything the web and the worker send goes to the local sink (a child process
        # like them), and the mail viewer shows it. Bounce reports sent to the sink are read as real ones.
        mail_host, _, mail_port = mail_bind.rpartition(":")
        env = {
            **os.environ,
            "EMAIL_HOST": mail_host.strip("[]"),
            "EMAIL_PORT": mail_port,
            "EMAIL_USE_TLS": "false",
            "MAIL_VIEWER": "true",
        }
        env.setdefault("MAIL_BOUNCE_ADDRESS", "bounces@demo.smarketing.local")
        sink = subprocess.Popen([sys.executable, "-m", "smarketing", "mailsink", "--bind", mail_bind], env=env)
        worker = subprocess.Popen([sys.executable, "-m", "smarketing", "worker"], env=env)
        # The BCC receiver of sales email capture (MAILIN_BIND); the demo goes on without it if its port is taken.
        mailin = subprocess.Popen([sys.executable, "-m", "smarketing", "mailin"], env=env)
        web = subprocess.Popen(gunicorn_argv(bind, 2), env=env)
        procs = (web, worker, sink, mailin)
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            wait_until_serving(web, bind)
            self.stdout.write(
                f"Mail sent by the demo is caught by the sink on {mail_bind}: read it at http://{bind}/mail/viewer/"
            )
            self.stdout.write(f"Open http://{bind} (Ctrl+C stops the web server, the worker and the mail sink)\n")
            sys.stdout.flush()
            code = web.wait()
        except KeyboardInterrupt:
            stopping, code = True, 0
        finally:
            stop()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if code and not stopping:
            raise CommandError(f"The web server stopped (exit status {code}; its log is above).")
