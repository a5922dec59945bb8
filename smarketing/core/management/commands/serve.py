import errno
import os
import socket
import subprocess
import sys
import time

import gunicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEFAULT_PORT = 8000  # gunicorn's, when --bind names a host only
# gunicorn 25.1 added a control socket (for `gunicornc`) at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl):
# a second instance on the same machine (two demos, a demo and a test server) would take it over from the first.
# Smarketing does not use it, so every instance runs without one.
HAS_CONTROL_SOCKET = gunicorn.version_info >= (25, 1)
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - where to reach a server listening on every address


def control_socket_args(has_control_socket: bool = HAS_CONTROL_SOCKET) -> list[str]:
    return ["--no-control-socket"] if has_control_socket else []


def gunicorn_argv(
    bind: str,
    workers: int,
    *,
    threads: int | None = None,
    access_log: bool | None = None,
    app: str = "smarketing.wsgi:application",
) -> list[str]:
    access_log = settings.SERVE_ACCESS_LOG if access_log is None else access_log
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        # The hooks: each worker's ingest flusher starts with it and delivers at exit (smarketing/gunicorn_conf.py).
        "--config",
        "python:smarketing.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        # gthread: a worker answers one request per thread; the tracking endpoints answer in well under a
        # millisecond (core/fastpath.py), slow pages keep the other threads free.
        "--threads",
        str(threads or settings.SERVE_THREADS),
        "--timeout",
        "120",
        *(["--access-logfile", "-"] if access_log else []),
        "--forwarded-allow-ips",
        settings.FORWARDED_ALLOW_IPS,
        *control_socket_args(),
    ]


def parse_bind(bind: str) -> tuple[str, int] | None:
    """(host, port) of a gunicorn --bind value; None for a Unix socket ("unix:/run/app.sock") or an fd."""
    if bind.startswith(("unix:", "fd://")):
        return None
    if bind.startswith("["):  # [::1]:8000
        host, _, rest = bind[1:].partition("]")
        port = rest.removeprefix(":")
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    else:
        host, port = bind, ""
    try:
        number = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise CommandError(f"--bind {bind}: the port must be a number, e.g. --bind 127.0.0.1:8001.")
    if not 0 < number < 65536:
        raise CommandError(f"--bind {bind}: the port must be between 1 and 65535.")
    return host or "0.0.0.0", number  # noqa: S104 - gunicorn's meaning of ":8000"


def check_bind(bind: str) -> None:
    """Refuse, with a sentence naming --bind, an address the web server could not listen on.

    Checked before anything is started so that a taken port fails at once, with exit status 1, instead of gunicorn
    logging an error after the app has announced its URL."""
    address = parse_bind(bind)
    if address is None:
        return
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CommandError(f"--bind {bind}: cannot resolve {host!r} ({exc.strerror}).")
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As gunicorn does: a port left in TIME_WAIT by a stopped server is free; one someone listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            raise CommandError(_bind_refusal(bind, host, port, exc))


def _bind_refusal(bind: str, host: str, port: int, exc: OSError) -> str:
    other = f"{host}:{port + 1}" if port < 65535 else f"{host}:8001"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} on {host} is already in use (another Smarketing, or another server). "
            f"Stop it, or choose another address with --bind {other}."
        )
    if exc.errno == errno.EACCES:
        return f"Not allowed to listen on {host}:{port} (ports below 1024 need root). Use e.g. --bind {host}:8000."
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine. Use e.g. --bind 127.0.0.1:{port}."
    return f"Cannot listen on {bind} ({exc.strerror}). Choose another address with --bind."


def wait_until_serving(web: subprocess.Popen, bind: str, timeout: float = 60.0) -> None:
    """Return once the web server accepts connections; raise CommandError (exit status 1) if it stopped instead."""
    address = parse_bind(bind)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = web.poll()
        if code is not None:
            raise CommandError(
                f"The web server stopped at start-up (exit status {code}; its log is above). "
                f"If the address is taken, choose another with --bind."
            )
        if address is None:
            return  # a Unix socket: nothing to probe, gunicorn reports its own failures
        host, port = address
        try:
            socket.create_connection((LOOPBACK.get(host, host), port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"The web server did not start listening on {bind} within {timeout:.0f} s.")


class Command(BaseCommand):
    help = "Serve the web app with gunicorn (a production WSGI server). Static files are served by whitenoise."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=settings.SERVE_BIND)
        parser.add_argument("--workers", type=int, default=settings.SERVE_WORKERS)
        parser.add_argument("--threads", type=int, default=settings.SERVE_THREADS, help="threads per worker")
        parser.add_argument(
            "--no-access-log", action="store_true", help="Log no line per request (ACCESS_LOG=false does the same)."
        )
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply pending migrations first.")

    def handle(self, *args, bind, workers, no_migrate, threads=None, no_access_log=False, **options):
        check_bind(bind)
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving Smarketing on http://{bind} (data: {settings.DATA_DIR})")
        sys.stdout.flush()
        argv = gunicorn_argv(bind, workers, threads=threads, access_log=False if no_access_log else None)
        os.execv(argv[0], argv)  # noqa: S606 - replace this process with gunicorn; its exit status is ours
