import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from smarketing.core.management.commands.serve import check_bind, gunicorn_argv, wait_until_serving


class Command(BaseCommand):
    help = "Migrate, load demo data and users when the database is empty, then serve the app with a worker."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="Address to serve on (host:port).")
        parser.add_argument("--contacts", type=int, default=2000, help="Size of the demo data set.")
        parser.add_argument("--no-serve", action="store_true", help="Set up and load data, then exit.")

    def handle(self, *args, bind, contacts, no_serve, **options):
        from smarketing.crm.models import Contact
        from smarketing.demo.users import DEMO_PASSWORD, ensure_demo_users

        if not no_serve:
            check_bind(bind)  # before minutes of loading data, not after
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        # The demo's users first: the seed gives their records to them.
        users = ensure_demo_users()
        if not Contact.objects.exists():
            self.stdout.write(f"Loading demo data ({contacts} contacts)...")
            call_command("seed", contacts=contacts, seed=42, stdout=self.stdout)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for user in users:
            self.stdout.write(f"  {user.email:<28} {user.team} / {user.get_role_display()}")
        self.stdout.write(f"\nData directory: {settings.DATA_DIR}")
        if no_serve:
            return
        self.serve(bind)

    def serve(self, bind: str) -> None:
        check_bind(bind)  # again: the data may have taken minutes to load
        sys.stdout.flush()
        worker = subprocess.Popen([sys.executable, "-m", "smarketing", "worker"])
        web = subprocess.Popen(gunicorn_argv(bind, 2))
        procs = (web, worker)
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
            self.stdout.write(f"Open http://{bind} (Ctrl+C stops the web server and the worker)\n")
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
