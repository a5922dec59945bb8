"""The SSRF guard: unit tests of the URL vetting, with DNS answers mocked (no traffic to any tested address)."""

import ipaddress
import socket
from unittest import mock

from django.test import SimpleTestCase, override_settings

from smarketing.env import ConfigError
from smarketing.webhooks.targets import (
    ResolutionFailed,
    UnsafeTarget,
    address_problem,
    check_url,
    parse_ip_literal,
    parse_networks,
)


def answers(*addresses):
    """A fake getaddrinfo returning these addresses."""

    def fake(host, port, *args, **kwargs):
        out = []
        for a in addresses:
            family = socket.AF_INET6 if ":" in a else socket.AF_INET
            sockaddr = (a, port, 0, 0) if family == socket.AF_INET6 else (a, port)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    return mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", side_effect=fake)


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class LiteralAddressTests(SimpleTestCase):
    # Every one of these hosts names a forbidden address; none may pass, in any notation.
    REFUSED = {
        "127.0.0.1": "loopback",
        "127.1": "loopback",  # short form
        "2130706433": "loopback",  # decimal
        "0177.0.0.1": "loopback",  # octal
        "0x7f.0.0.1": "loopback",  # hex
        "0x7f.1": "loopback",
        "0x7f000001": "loopback",
        "017700000001": "loopback",
        "0177.1": "loopback",
        "127.255.255.254": "loopback",
        "[::1]": "loopback",
        "[::ffff:127.0.0.1]": "loopback",  # IPv4-mapped IPv6
        "[::ffff:7f00:1]": "loopback",
        "[0:0:0:0:0:ffff:127.0.0.1]": "loopback",
        "[::127.0.0.1]": "loopback",  # IPv4-compatible IPv6
        "[2002:7f00:1::]": "loopback",  # 6to4
        "[64:ff9b::7f00:1]": "loopback",  # NAT64
        "10.0.0.1": "private",
        "012.0.0.1": "private",  # octal 10.0.0.1
        "172.16.5.4": "private",
        "192.168.1.1": "private",
        "0xc0.0xa8.1.1": "private",
        "[::ffff:192.168.1.1]": "private",
        "[fc00::1]": "private",
        "198.18.0.1": "private",
        "169.254.169.254": "metadata",
        "2852039166": "metadata",  # 169.254.169.254 in decimal
        "0xa9.0xfe.0xa9.0xfe": "metadata",
        "[::ffff:169.254.169.254]": "metadata",
        "[fd00:ec2::254]": "metadata",
        "100.100.100.200": "metadata",
        "169.254.1.1": "link-local",
        "[fe80::1]": "link-local",
        "100.64.0.1": "shared",  # CGNAT
        "100.127.255.254": "shared",
        "0.0.0.0": "unspecified",  # noqa: S104 (a URL host under test, not a bind address)
        "0": "unspecified",
        "[::]": "unspecified",
        "224.0.0.1": "multicast",
        "[ff02::1]": "multicast",
        "240.0.0.1": "reserved",
        "255.255.255.255": "reserved",
        "192.0.2.1": "private",  # documentation range
        "[2001:db8::1]": "private",
        "[2001:0::1]": "Teredo",
    }

    def test_every_notation_of_a_forbidden_address_is_refused(self):
        with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo") as dns:
            for host, reason in self.REFUSED.items():
                for url in (f"http://{host}/hook", f"https://{host}:8443/hook?x=1"):
                    with self.subTest(url=url), self.assertRaises(UnsafeTarget) as caught:
                        check_url(url)
                    self.assertIn(reason, str(caught.exception), url)
            dns.assert_not_called()  # literals are judged as written, never looked up

    def test_the_message_shows_what_an_odd_notation_means(self):
        with self.assertRaisesMessage(
            UnsafeTarget, "Webhooks cannot be sent to 0x7f.1: it means 127.0.0.1, a loopback address."
        ):
            check_url("http://0x7f.1/")

    def test_public_literals_pass_but_only_in_plain_notation(self):
        target = check_url("https://93.184.216.34:8443/hooks?a=1")
        self.assertEqual(target.addresses, ("93.184.216.34",))
        self.assertEqual(
            (target.scheme, target.host, target.port, target.path), ("https", "93.184.216.34", 8443, "/hooks?a=1")
        )
        self.assertEqual(
            check_url("http://[2606:2800:220:1:248:1893:25c8:1946]/").addresses[0], "2606:2800:220:1:248:1893:25c8:1946"
        )
        with self.assertRaisesMessage(UnsafeTarget, "four decimal numbers"):
            check_url("http://1572395042/")  # 93.184.216.34 in decimal
        self.assertEqual(parse_ip_literal("0x5d.0xb8.0xd8.0x22"), (ipaddress.IPv4Address("93.184.216.34"), False))
        # a public address embedded in IPv6 is fine
        self.assertIsNone(address_problem(ipaddress.ip_address("::ffff:93.184.216.34"), []))


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class HostNameTests(SimpleTestCase):
    def test_a_name_is_refused_when_any_of_its_addresses_is_forbidden(self):
        with answers("93.184.216.34", "10.1.2.3"):
            with self.assertRaisesMessage(UnsafeTarget, "hooks.example.com: it resolves to 10.1.2.3, a private"):
                check_url("https://hooks.example.com/in")
        with answers("2606:4700::1", "::ffff:127.0.0.1"):
            with self.assertRaisesMessage(UnsafeTarget, "loopback"):
                check_url("https://hooks.example.com/in")
        with answers("fe80::1%eth0"):
            with self.assertRaisesMessage(UnsafeTarget, "link-local"):
                check_url("https://hooks.example.com/in")

    def test_a_public_name_passes_with_its_vetted_addresses(self):
        with answers("93.184.216.34", "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
            target = check_url("https://Hooks.Example.COM./in")
        self.assertEqual(target.host, "hooks.example.com")
        self.assertEqual(target.port, 443)
        self.assertEqual(target.addresses, ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"))

    def test_localhost_is_refused(self):
        with self.assertRaisesMessage(UnsafeTarget, "loopback"):
            check_url("http://localhost:8000/")  # resolved from /etc/hosts, no traffic

    def test_international_names_are_idna_encoded(self):
        with answers("93.184.216.34") as dns:
            target = check_url("https://bücher.example/hook")
        self.assertEqual(target.host, "xn--bcher-kva.example")
        self.assertEqual(dns.call_args[0][0], "xn--bcher-kva.example")

    def test_a_name_that_does_not_resolve(self):
        with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", side_effect=socket.gaierror(-2, "not known")):
            with self.assertRaises(ResolutionFailed):
                check_url("https://nowhere.example/")


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class UrlShapeTests(SimpleTestCase):
    def test_malformed_or_dangerous_urls_are_refused(self):
        cases = {
            "ftp://93.184.216.34/": "Only http",
            "file:///etc/passwd": "Only http",
            "gopher://93.184.216.34/": "Only http",
            "javascript:alert(1)": "Only http",
            "//93.184.216.34/": "Only http",
            "93.184.216.34/hook": "Only http",
            "http://user:pw@93.184.216.34/": "user name or password",
            "http://user@93.184.216.34/": "user name or password",
            "http://93.184.216.34@127.0.0.1/": "user name or password",
            "http://example.com\\@127.0.0.1/": "user name or password",
            "http:///path": "no host",
            "http://": "no host",
            "http://93.184.216.34:0/": "Port 0",
            "http://93.184.216.34:99999/": "not a valid URL",
            "http://[fe80::1%25eth0]/": "zone",
            "http://exa mple.com/": "spaces or control",
            "http://example.com/\r\nX: y": "spaces or control",
            "http://exam!ple.com/": "host name is not valid",
            "http://[::1/": "not a valid URL",
            "http://" + "a" * 2000 + ".com/": "longer than",
        }
        for url, message in cases.items():
            with self.subTest(url=url), self.assertRaises(UnsafeTarget) as caught:
                check_url(url, resolve=False)
            self.assertIn(message, str(caught.exception))


class AllowListTests(SimpleTestCase):
    @override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32", "10.20.0.0/16"])
    def test_allow_listed_networks_pass(self):
        self.assertEqual(check_url("http://127.0.0.1:9000/").addresses, ("127.0.0.1",))
        self.assertEqual(check_url("http://10.20.3.4/").addresses, ("10.20.3.4",))
        with answers("10.20.9.9"):
            check_url("https://internal.example/")
        with self.assertRaises(UnsafeTarget):
            check_url("http://127.0.0.2/")
        with self.assertRaises(UnsafeTarget):
            check_url("http://10.21.0.1/")
        with self.assertRaises(UnsafeTarget):
            check_url("http://169.254.169.254/")

    def test_bad_allow_list_entries_fail_loudly(self):
        with self.assertRaises(ConfigError):
            parse_networks(["10.0.0.0/8", "not-a-network"])
        self.assertEqual(parse_networks(["10.1.2.3/8"]), [ipaddress.ip_network("10.0.0.0/8")])
