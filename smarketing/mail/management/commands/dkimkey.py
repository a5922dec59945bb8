"""`smarketing dkimkey PATH --domain D --selector S`: a new DKIM key pair and the DNS record to publish."""

import os

from django.core.management.base import BaseCommand, CommandError

from smarketing.mail import dkim


class Command(BaseCommand):
    help = "Generate a DKIM private key (PEM, mode 600) and print the DNS TXT record that publishes its public key."

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to write the private key (never overwritten)")
        parser.add_argument("--domain", required=True, help="the signing domain, e.g. example.com")
        parser.add_argument("--selector", default="smarketing", help="the DKIM selector (default: smarketing)")
        parser.add_argument("--bits", type=int, default=2048, choices=[1024, 2048, 3072, 4096])

    def handle(self, *args, path, domain, selector, bits, **options):
        pem = dkim.generate_private_key(bits)
        try:
            # O_EXCL: an existing key (perhaps the one in DNS) is never replaced by accident.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{path} exists; choose another path (a new key needs a new selector anyway)")
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        record = dkim.public_dns_record(pem)
        self.stdout.write(f"Private key written to {path}\n\n")
        self.stdout.write("Publish this TXT record:\n")
        self.stdout.write(f'  {selector}._domainkey.{domain}  TXT  "{record}"\n\n')
        self.stdout.write("Then set:\n")
        self.stdout.write(f"  DKIM_DOMAIN={domain}\n  DKIM_SELECTOR={selector}\n  DKIM_PRIVATE_KEY_FILE={path}\n")
