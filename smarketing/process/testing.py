"""A real IMAP server for the capture tests: Dovecot from Debian's packages (dovecot-imapd), run in the
foreground on a free loopback port with a throwaway config, one user and maildirs in a temporary directory.

    with DovecotServer(user="rep@acme.example", password="secret") as server:
        server.append("CRM", raw_bytes)        # a message in the folder the rep syncs
        ... server.port ...

`DovecotServer.available()` is False where Dovecot is not installed (CI installs it: .ci/run).
"""

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from smarketing.mail.testing import free_port

DOVECOT = "/usr/sbin/dovecot"


class DovecotServer:
    def __init__(self, *, user: str, password: str):
        self.user, self.password = user, password
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="smk-dovecot-"))
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return os.path.exists(DOVECOT)

    def _config(self) -> str:
        me = pwd.getpwuid(os.getuid())
        # Dovecot refuses to run mail processes as root: as root, mail belongs to nobody.
        owner = pwd.getpwnam("nobody") if os.getuid() == 0 else me
        os.chmod(self.dir, 0o755)  # noqa: S103 - the mail user must reach the maildirs inside
        mail = self.dir / "mail"
        mail.mkdir()
        os.chmod(mail, 0o777)  # noqa: S103 - a throwaway test directory that the mail user (nobody) writes to
        (self.dir / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/run
log_path = {self.dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
default_login_user = {me.pw_name if os.getuid() != 0 else "dovenull"}
default_internal_user = {me.pw_name}
default_internal_group = {grp.getgrgid(os.getgid()).gr_name}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""

    def start(self) -> "DovecotServer":
        (self.dir / "run").mkdir()
        config = self.dir / "dovecot.conf"
        config.write_text(self._config())
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.client().logout()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, folder: str, raw: bytes) -> None:
        client = self.client()
        try:
            client.create(folder)  # "already exists" is fine
            status, _ = client.append(folder, None, None, raw)
            assert status == "OK", status
        finally:
            client.logout()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "DovecotServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
