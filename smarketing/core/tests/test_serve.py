"""`smarketing serve` and `smarketing demo`: a taken address fails at once, naming --bind; no shared control socket."""

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase

from smarketing.core.management.commands import serve


def listening_socket() -> socket.socket:
    """A socket someone is listening on, on a free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, **extra}


class PortTakenTests(SimpleTestCase):
    def test_demo_with_its_port_taken_exits_non_zero_naming_bind_before_doing_anything(self):
        with listening_socket() as taken, tempfile.TemporaryDirectory() as data:
            port = taken.getsockname()[1]
            result = subprocess.run(
                [sys.executable, "-m", "smarketing", "demo", "--bind", f"127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=120,
                env=command_env(SMARKETING_DATA_DIR=data),
            )
            self.assertFalse((Path(data) / "smarketing.sqlite3").exists(), "fails before creating a database")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"Port {port} on 127.0.0.1 is already in use", result.stderr)
        self.assertIn(f"--bind 127.0.0.1:{port + 1}", result.stderr)
        self.assertNotIn("Open http", result.stdout)

    def test_serve_with_its_port_taken_refuses_to_start(self):
        with listening_socket() as taken:
            port = taken.getsockname()[1]
            with self.assertRaisesMessage(CommandError, "already in use"):
                call_command("serve", bind=f"127.0.0.1:{port}", no_migrate=True)

    def test_a_free_port_and_unix_sockets_pass(self):
        serve.check_bind(f"127.0.0.1:{free_port()}")
        serve.check_bind("unix:/run/smarketing.sock")

    def test_bind_values_are_read_like_gunicorn_reads_them(self):
        self.assertEqual(serve.parse_bind("127.0.0.1:8001"), ("127.0.0.1", 8001))
        self.assertEqual(serve.parse_bind("[::1]:8002"), ("::1", 8002))
        self.assertEqual(serve.parse_bind(":8003"), ("0.0.0.0", 8003))  # noqa: S104
        self.assertEqual(serve.parse_bind("localhost"), ("localhost", 8000))
        self.assertIsNone(serve.parse_bind("unix:/tmp/s.sock"))
        with self.assertRaisesMessage(CommandError, "--bind"):
            serve.parse_bind("127.0.0.1:http")
        with self.assertRaisesMessage(CommandError, "between 1 and 65535"):
            serve.parse_bind("127.0.0.1:70000")

    def test_a_web_server_that_stops_at_start_up_is_an_error_with_its_exit_status(self):
        failed = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
        with self.assertRaisesMessage(CommandError, "exit status 3"):
            serve.wait_until_serving(failed, f"127.0.0.1:{free_port()}", timeout=30)


class ControlSocketTests(SimpleTestCase):
    def test_gunicorn_runs_without_the_shared_control_socket_when_it_has_one(self):
        self.assertEqual(serve.control_socket_args(True), ["--no-control-socket"])
        self.assertEqual(serve.control_socket_args(False), [])  # gunicorn before 25.1 has no such option
        self.assertEqual("--no-control-socket" in serve.gunicorn_argv("127.0.0.1:1", 1), serve.HAS_CONTROL_SOCKET)

    def test_a_running_server_leaves_no_control_socket_in_the_home_directory(self):
        bind = f"127.0.0.1:{free_port()}"
        with tempfile.TemporaryDirectory() as home:
            env = command_env(HOME=home, SMARKETING_DATA_DIR=home)
            env.pop("XDG_RUNTIME_DIR", None)
            web = subprocess.Popen(
                serve.gunicorn_argv(bind, 1), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                serve.wait_until_serving(web, bind, timeout=60)
                self.assertEqual(list(Path(home).rglob("*.ctl")), [])
            finally:
                web.terminate()
                web.wait(timeout=30)


class StaticFilesTests(SimpleTestCase):
    def test_collectstatic_with_the_manifest_storage_accepts_every_file(self):
        """`serve` and `demo` run collectstatic with the manifest storage, which refuses a file that references one
        that is not there (a vendored library's `sourceMappingURL`, a CSS url()): the server would not start."""
        with tempfile.TemporaryDirectory() as data:
            result = subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                cwd=Path(__file__).resolve().parents[3],
                env=command_env(SMARKETING_DATA_DIR=data, DEBUG="false"),
                capture_output=True,
                text=True,
                timeout=120,
            )
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            self.assertTrue((Path(data) / "static" / "staticfiles.json").exists())
