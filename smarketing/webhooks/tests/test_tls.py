"""HTTPS deliveries connect to the vetted address but verify the certificate (and send SNI) for the URL's name."""

import shutil
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.test import TestCase, override_settings

from smarketing.webhooks import sender, services
from smarketing.webhooks.models import Delivery, Endpoint
from smarketing.webhooks.tests.receiver import Receiver


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command to make a test certificate")
@override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"])
class TlsTests(TestCase):
    def deliver_to(self, server_cert_name: str) -> tuple[Receiver, Delivery]:
        directory = Path(tempfile.mkdtemp())
        cert, key = self_signed(server_cert_name, directory)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        receiver = Receiver(tls=server_ctx)
        self.addCleanup(receiver.close)
        endpoint = Endpoint.objects.create(url=receiver.url("/in", host="hooks.example"), events=["*"])
        delivery = Delivery.objects.create(endpoint=endpoint, event_name="webhook.test", request_body="{}")

        real = ssl.create_default_context

        def trusting_context():
            return real(cafile=str(cert))  # trust the test certificate only

        dns = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        with (
            mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", return_value=dns),
            mock.patch.object(sender.ssl, "create_default_context", trusting_context),
        ):
            services.deliver(delivery.id)
        delivery.refresh_from_db()
        return receiver, delivery

    def test_the_certificate_and_sni_are_for_the_name_in_the_url(self):
        receiver, delivery = self.deliver_to("hooks.example")
        self.assertEqual((delivery.status, delivery.response_status), (Delivery.Status.SUCCEEDED, 200))
        self.assertEqual(receiver.server_names, ["hooks.example"])
        [request] = receiver.received
        self.assertEqual(request.headers["host"], f"hooks.example:{receiver.port}")

    def test_a_certificate_for_another_name_is_rejected(self):
        receiver, delivery = self.deliver_to("other.example")
        self.assertEqual(delivery.status, Delivery.Status.RETRYING)
        self.assertIn("TLS certificate rejected", delivery.error)
        self.assertEqual(receiver.received, [])
