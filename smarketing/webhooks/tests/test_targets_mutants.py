"""The SSRF guard's edges that mutation testing found unguarded: allow-list semantics for addresses embedded in
IPv6 (IPv4-mapped, 6to4, NAT64, IPv4-compatible), exact messages, URL length and character bounds, and DNS
answers that are empty, odd or carry a zone. DNS is mocked; nothing here sends traffic."""

import dataclasses
import ipaddress
import os
import socket
import subprocess
import sys
from unittest import mock

from django.test import SimpleTestCase, override_settings
from hypothesis import given
from hypothesis import strategies as st

from smarketing.webhooks.targets import (
    MAX_URL_LENGTH,
    ResolutionFailed,
    UnsafeTarget,
    address_problem,
    allowed_networks,
    check_url,
    embedded_ipv4,
    parse_ip_literal,
    parse_networks,
)
from smarketing.webhooks.tests.test_targets import answers

ip = ipaddress.ip_address


def raw_answers(*sockaddrs):
    """A fake getaddrinfo returning these sockaddr tuples as they are."""
    infos = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", s) for s in sockaddrs]
    return mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", return_value=infos)


# 10.0.5.7 written in each IPv6 form that carries an IPv4 address, and 10.0.6.7 (outside the allow-list) likewise.
INSIDE = ["::ffff:10.0.5.7", "2002:a00:507::1", "64:ff9b::a00:507", "::10.0.5.7"]
OUTSIDE = ["::ffff:10.0.6.7", "2002:a00:607::1", "64:ff9b::a00:607", "::10.0.6.7"]


class EmbeddedAllowListTests(SimpleTestCase):
    ALLOWED = parse_networks(["10.0.5.0/24"])

    def test_each_form_carries_its_ipv4(self):
        for written in INSIDE:
            with self.subTest(written=written):
                self.assertEqual(embedded_ipv4(ip(written)), ip("10.0.5.7"))
        self.assertIsNone(embedded_ipv4(ip("10.0.5.7")))
        self.assertIsNone(embedded_ipv4(ip("2606:4700::1")))
        self.assertIsNone(embedded_ipv4(ip("::1")))  # loopback, not IPv4-compatible 0.0.0.1
        self.assertIsNone(embedded_ipv4(ip("::")))
        self.assertEqual(embedded_ipv4(ip("::2")), ip("0.0.0.2"))
        self.assertEqual(embedded_ipv4(ip("::255.255.255.255")), ip("255.255.255.255"))
        self.assertIsNone(embedded_ipv4(ip("::1:0:0")))  # one bit past the IPv4-compatible range
        self.assertEqual(embedded_ipv4(ip("64:ff9b::ffff:ffff")), ip("255.255.255.255"))

    def test_an_embedded_address_inside_the_allow_list_passes(self):
        for written in INSIDE:
            with self.subTest(written=written):
                self.assertIsNone(address_problem(ip(written), self.ALLOWED))

    def test_an_embedded_address_outside_the_allow_list_is_refused(self):
        for written in OUTSIDE:
            with self.subTest(written=written):
                self.assertEqual(address_problem(ip(written), self.ALLOWED), f"a private address (as {ip(written)})")

    @override_settings(WEBHOOK_ALLOWED_ADDRESSES=["10.0.5.0/24"])
    def test_through_check_url_and_dns(self):
        for written in INSIDE:
            with self.subTest(written=written):
                self.assertEqual(check_url(f"http://[{written}]/").addresses, (str(ip(written)),))
                with answers(written):
                    check_url("https://internal.example/")
        for written in OUTSIDE:
            with self.subTest(written=written), self.assertRaisesMessage(UnsafeTarget, "private"):
                check_url(f"http://[{written}]/")
            with self.subTest(written=written), answers(written), self.assertRaisesMessage(UnsafeTarget, "private"):
                check_url("https://internal.example/")

    def test_an_ipv6_allow_list_entry(self):
        allowed = parse_networks(["fd00:1234::/32", "::ffff:10.0.7.0/120"])
        self.assertIsNone(address_problem(ip("fd00:1234::9"), allowed))
        self.assertEqual(address_problem(ip("fd00:1235::9"), allowed), "a private address")
        self.assertIsNone(address_problem(ip("::ffff:10.0.7.1"), allowed))  # the mapped form itself is listed
        self.assertEqual(address_problem(ip("10.0.7.1"), allowed), "a private address")  # the plain form is not

    def test_the_allow_list_wins_over_every_rule(self):
        allowed = parse_networks(["169.254.169.254/32", "::1/128", "224.0.0.0/4"])
        for written in ["169.254.169.254", "::1", "224.0.0.1", "::ffff:169.254.169.254"]:
            with self.subTest(written=written):
                self.assertIsNone(address_problem(ip(written), allowed))

    @given(st.integers(min_value=0, max_value=2**32 - 1))
    def test_every_embedding_judges_like_the_plain_address(self, number):
        plain = ipaddress.IPv4Address(number)
        expected = address_problem(plain, self.ALLOWED)
        forms = [
            ipaddress.IPv6Address((0xFFFF << 32) | number),  # ::ffff:a.b.c.d
            ipaddress.IPv6Address((0x2002 << 112) | (number << 80)),  # 2002:aabb:ccdd::
            ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | number),
        ]
        for form in forms:
            got = address_problem(form, self.ALLOWED)
            self.assertEqual(got, expected and f"{expected} (as {form})")


class ExplicitAndConfiguredAllowListTests(SimpleTestCase):
    @override_settings(WEBHOOK_ALLOWED_ADDRESSES=["10.0.0.0/8"])
    def test_an_explicit_list_is_used_instead_of_the_settings(self):
        self.assertEqual(allowed_networks(), [ipaddress.ip_network("10.0.0.0/8")])
        self.assertIsNone(address_problem(ip("10.1.1.1")))
        self.assertEqual(address_problem(ip("10.1.1.1"), []), "a private address")
        self.assertIsNone(address_problem(ip("10.1.1.1"), None))

    def test_the_environment_variable_is_read_by_settings_and_checked_at_start(self):
        # A process started with the variable, as a worker or web process would be.
        code = (
            "import django; django.setup(); from smarketing.webhooks.targets import allowed_networks; "
            "print([str(n) for n in allowed_networks()])"
        )
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        ok = subprocess.run(
            [sys.executable, "-c", code],
            env={
                **env,
                "DJANGO_SETTINGS_MODULE": "smarketing.settings",
                "WEBHOOK_ALLOWED_ADDRESSES": "10.0.5.0/24, 127.0.0.1",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(ok.stdout.strip(), "['10.0.5.0/24', '127.0.0.1/32']", ok.stderr)
        bad = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "DJANGO_SETTINGS_MODULE": "smarketing.settings", "WEBHOOK_ALLOWED_ADDRESSES": "10.0.5/99"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("WEBHOOK_ALLOWED_ADDRESSES: '10.0.5/99' is not an IP address", bad.stderr)


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class MessageTests(SimpleTestCase):
    PROBLEMS = {
        "127.0.0.1": "a loopback address",
        "::1": "a loopback address",
        "0.0.0.0": "the unspecified address",  # noqa: S104 (an address under test)
        "::": "the unspecified address",
        "169.254.1.1": "a link-local address",
        "fe80::1": "a link-local address",
        "224.0.0.1": "a multicast address",
        "ff02::1": "a multicast address",
        "100.64.0.1": "a shared (carrier-grade NAT) address",
        "240.0.0.1": "a reserved address",
        "::1:0:0": "a reserved address",  # ::/8, not an IPv4-compatible address
        "10.0.0.1": "a private address",
        "fc00::1": "a private address",
        "2001::1": "a Teredo tunnel address",
        "169.254.169.254": "a cloud metadata address",
        "169.254.170.2": "a cloud metadata address",
        "168.63.129.16": "a cloud metadata address",  # public, so only the metadata list refuses it
        "100.100.100.200": "a cloud metadata address",
        "fd00:ec2::254": "a cloud metadata address",
        "::ffff:127.0.0.1": "a loopback address (as ::ffff:7f00:1)",
        "2002:7f00:1::": "a loopback address (as 2002:7f00:1::)",
        "64:ff9b::a9fe:a9fe": "a cloud metadata address (as 64:ff9b::a9fe:a9fe)",
        "::2": "a private address (as ::2)",  # IPv4-compatible 0.0.0.2
        "93.184.216.34": None,
        "2606:4700::1": None,
        "::93.184.216.34": None,
        "64:ff9b::5db8:d822": None,
    }

    def test_each_rule_names_itself(self):
        for written, problem in self.PROBLEMS.items():
            with self.subTest(written=written):
                self.assertEqual(address_problem(ip(written), []), problem)

    def test_full_messages(self):
        cases = {
            "http://127.0.0.1/": "Webhooks cannot be sent to 127.0.0.1: it is a loopback address.",
            "http://[::ffff:7f00:1]/": (
                "Webhooks cannot be sent to ::ffff:7f00:1: it is a loopback address (as ::ffff:7f00:1)."
            ),
            "http://2130706433/": "Webhooks cannot be sent to 2130706433: it means 127.0.0.1, a loopback address.",
            "http://1572395042/": "Write IPv4 addresses as four decimal numbers (like 203.0.113.7).",
            "http://exa mple.com/": "The URL contains spaces or control characters.",
            "http://[::1/": "This is not a valid URL.",
            "ftp://example.com/": "Only http:// and https:// URLs can receive webhooks.",
            "http://u@example.com/": (
                "The URL may not contain a user name or password; authenticate with the signature."
            ),
            "http:///x": "The URL has no host.",
            "http://example.com:0/": "Port 0 is not a valid port.",
            "http://[fe80::1%25eth0]/": "IPv6 zone identifiers are not allowed.",
            "http://exam!ple.com/": "The host name is not valid.",
            "http://" + "a" * 64 + ".com/": "The host name is not valid.",  # a label has at most 63 characters
            "http://[v1.a:b]/": "This is not a valid IPv6 address.",
        }
        for url, message in cases.items():
            with self.subTest(url=url), self.assertRaises(UnsafeTarget) as caught:
                check_url(url, resolve=False)
            self.assertEqual(str(caught.exception), message)

    def test_dns_messages(self):
        with answers("10.1.2.3"), self.assertRaises(UnsafeTarget) as caught:
            check_url("https://hooks.example.com/in")
        expected = "Webhooks cannot be sent to hooks.example.com: it resolves to 10.1.2.3, a private address."
        self.assertEqual(str(caught.exception), expected)


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class UrlBoundTests(SimpleTestCase):
    def test_the_longest_url_is_accepted(self):
        self.assertEqual(MAX_URL_LENGTH, 2000)
        base = "https://93.184.216.34/"
        longest = base + "p" * (2000 - len(base))
        self.assertEqual(check_url(longest).path, "/" + "p" * (2000 - len(base)))
        with self.assertRaisesMessage(UnsafeTarget, "longer than 2000 characters"):
            check_url(longest + "p")
        self.assertEqual(check_url("  " + longest + " ").path, check_url(longest).path)  # spaces around do not count

    def test_printable_characters_pass_and_control_characters_do_not(self):
        self.assertEqual(check_url("https://93.184.216.34/!~?a=%20").path, "/!~?a=%20")
        for bad in ["\x7f", "\x00", "\x1f", " ", "\t"]:
            with self.subTest(bad=bad), self.assertRaisesMessage(UnsafeTarget, "spaces or control"):
                check_url(f"https://93.184.216.34/a{bad}b")

    def test_default_ports_paths_and_schemes(self):
        target = check_url("http://93.184.216.34")
        self.assertEqual((target.scheme, target.port, target.path), ("http", 80, "/"))
        target = check_url("HTTPS://93.184.216.34?x=1")
        self.assertEqual((target.scheme, target.port, target.path), ("https", 443, "/?x=1"))
        self.assertEqual(check_url("http://93.184.216.34:1/").port, 1)
        self.assertEqual(check_url("http://93.184.216.34:65535/").port, 65535)
        with self.assertRaisesMessage(UnsafeTarget, "Only http"):
            check_url(None)

    def test_host_labels(self):
        valid = ["a.example", "a-b.example", "x_y.example", "a" * 63 + ".example", "1.example", "xn--bcher-kva.example"]
        for host in valid:
            with self.subTest(host=host):
                self.assertEqual(check_url(f"https://{host}/", resolve=False).host, host)
        for host in ["-a.example", "a-.example", "a..example", "a" * 64 + ".example", "*.example"]:
            with self.subTest(host=host), self.assertRaisesMessage(UnsafeTarget, "host name is not valid"):
                check_url(f"https://{host}/", resolve=False)

    def test_without_resolving_a_name_is_vetted_but_not_looked_up(self):
        with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo") as dns:
            target = check_url("https://Hooks.Example/x?y=1", resolve=False)
        dns.assert_not_called()
        self.assertEqual(
            (target.scheme, target.host, target.port, target.path, target.addresses),
            ("https", "hooks.example", 443, "/x?y=1", ()),
        )
        with self.assertRaises(dataclasses.FrozenInstanceError):
            target.host = "127.0.0.1"  # a vetted target cannot be redirected afterwards


class LiteralParsingTests(SimpleTestCase):
    def test_what_is_and_is_not_an_address(self):
        self.assertEqual(parse_ip_literal("93.184.216.34"), (ip("93.184.216.34"), True))
        self.assertEqual(parse_ip_literal("::1"), (ip("::1"), True))
        self.assertEqual(parse_ip_literal("0x7f.1"), (ip("127.0.0.1"), False))
        self.assertEqual(parse_ip_literal("example.com"), (None, False))
        self.assertEqual(parse_ip_literal("cafe.face"), (None, False))  # hex letters, but not a number
        self.assertEqual(parse_ip_literal("127.0.0.1."), (None, False))
        with self.assertRaisesMessage(UnsafeTarget, "This is not a valid IPv6 address."):
            parse_ip_literal("::zz")


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class ResolutionTests(SimpleTestCase):
    def test_no_addresses_at_all(self):
        with raw_answers(), self.assertRaisesMessage(ResolutionFailed, "has no addresses"):
            check_url("https://empty.example/")

    def test_an_unusable_answer(self):
        with raw_answers(("not-an-ip", 443, 0, 0)), self.assertRaisesMessage(UnsafeTarget, "unusable address"):
            check_url("https://odd.example/")

    def test_zone_ids_are_dropped_from_the_vetted_addresses(self):
        with raw_answers(("2606:4700::1%eth0", 443, 0, 2)):
            target = check_url("https://zoned.example/")
        self.assertEqual(target.addresses, ("2606:4700::1",))

    def test_the_port_is_passed_to_the_resolver(self):
        with answers("93.184.216.34") as dns:
            check_url("http://hooks.example:8080/")
        self.assertEqual(dns.call_args[0][:2], ("hooks.example", 8080))
        self.assertEqual(dns.call_args[1], {"type": socket.SOCK_STREAM})

    def test_resolver_errors_are_resolution_failures(self):
        for error in [socket.gaierror(-2, "not known"), UnicodeError("label too long"), OSError("down")]:
            with self.subTest(error=error):
                with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", side_effect=error):
                    with self.assertRaises(ResolutionFailed):
                        check_url("https://nowhere.example/")
