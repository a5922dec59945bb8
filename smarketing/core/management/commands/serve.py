import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def gunicorn_argv(bind: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "smarketing.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        "--forwarded-allow-ips",
        settings.FORWARDED_ALLOW_IPS,
    ]


class Command(BaseCommand):
    help = "Serve the web app with gunicorn (a production WSGI server). Static files are served by whitenoise."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=settings.SERVE_BIND)
        parser.add_argument("--workers", type=int, default=settings.SERVE_WORKERS)
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply pending migrations first.")

    def handle(self, *args, bind, workers, no_migrate, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving Smarketing on http://{bind} (data: {settings.DATA_DIR})")
        sys.stdout.flush()
        argv = gunicorn_argv(bind, workers)
        os.execv(argv[0], argv)  # noqa: S606 - replace this process with gunicorn
