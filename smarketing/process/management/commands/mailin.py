"""`smarketing mailin`: the inbound SMTP receiver of the users' BCC logging addresses (process/capture/smtp.py).

In production, route MAILIN_DOMAIN to it from the company's mail server (an MX record or a transport map that
forwards log+*@MAILIN_DOMAIN to MAILIN_BIND); it speaks plain SMTP on loopback or a private network and is
no relay: it accepts mail only for existing logging addresses.
"""

import asyncio
import logging
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smarketing.mail.management.commands.mailsink import parse_bind
from smarketing.process.capture.smtp import Handler, smtp_factory


class Command(BaseCommand):
    help = "Receive BCC-logged sales email (log+<token>@MAILIN_DOMAIN) and put it on the timeline."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=settings.MAILIN_BIND, help="Address to listen on (host:port).")

    def handle(self, *args, bind, **options):
        host, port = parse_bind(bind)
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        handler = Handler()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(loop.create_server(smtp_factory(handler), host=host, port=port))
        except OSError as exc:
            raise CommandError(f"Cannot listen on {bind}: {exc.strerror or exc}") from None
        real_port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(f"mailin listening on {host}:{real_port} for log+…@{settings.MAILIN_DOMAIN}")
        sys.stdout.flush()
        try:
            loop.run_until_complete(stop.wait())
        finally:
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()
            self.stdout.write(f"mailin stopped: {handler.count} messages received")
            sys.stdout.flush()
