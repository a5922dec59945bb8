"""Which URLs webhooks may be sent to: protection against server-side request forgery (SSRF).

A webhook URL is typed by an admin, but the request leaves from our servers, which can reach the loopback
interface, the private network and the cloud metadata service. So a target is refused when ANY address its host
resolves to is loopback, private, link-local, multicast, reserved, unspecified, shared (CGNAT 100.64/10) or a
cloud metadata address, in every notation (IPv4-mapped IPv6, 6to4, NAT64, decimal 2130706433, octal 0177.0.0.1,
hex 0x7f.0.0.1, short 127.1). Checked when the endpoint is saved and again before every delivery, and the
request then connects to one of the vetted addresses (see sender.py), so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot redirect it.

WEBHOOK_ALLOWED_ADDRESSES (comma-separated CIDRs, e.g. "10.0.5.0/24,127.0.0.1/32") allows addresses that would
otherwise be refused, for tests and private deployments.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from smarketing.env import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2000

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure wire server (a public address, so named here)
}
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why, for the admin."""


class ResolutionFailed(UnsafeTarget):
    """The host did not resolve (may be temporary: deliveries retry it)."""


def parse_networks(values: list[str]) -> list[Network]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(f"WEBHOOK_ALLOWED_ADDRESSES: {value!r} is not an IP address or CIDR network")
    return networks


def allowed_networks() -> list[Network]:
    """The allow-list of WEBHOOK_ALLOWED_ADDRESSES (validated when settings load, so a typo fails at start)."""
    return parse_networks(list(settings.WEBHOOK_ALLOWED_ADDRESSES))


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to: mapped, 6to4, NAT64, or IPv4-compatible."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d (deprecated IPv4-compatible form)
        return ipaddress.IPv4Address(int(ip))
    return None


def address_problem(ip: IPAddress, allowed: list[Network] | None = None) -> str | None:
    """Why `ip` may not receive webhooks, or None when it may."""
    allowed = allowed_networks() if allowed is None else allowed
    inner = embedded_ipv4(ip)
    if any(ip in net for net in allowed) or (inner and any(inner in net for net in allowed)):
        return None
    if inner is not None:
        problem = address_problem(inner, allowed)
        return f"{problem} (as {ip})" if problem else None
    if ip.version == 6 and ip.teredo:
        return "a Teredo tunnel address"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.version == 4 and ip in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def parse_ip_literal(host: str) -> tuple[IPAddress | None, bool]:
    """(address, canonical) when `host` is an IP address in any notation inet_aton/inet_pton accept.

    canonical is False for the legacy IPv4 forms (decimal, octal, hex, short) that resolvers accept too.
    """
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host), True
        except ValueError:
            raise UnsafeTarget("This is not a valid IPv6 address.")
    try:
        return ipaddress.IPv4Address(host), True
    except ValueError:
        pass
    # Only digits, dots and hex letters can form a legacy numeric address (inet_aton ignores text after a space).
    if re.fullmatch(r"[0-9a-fx.]+", host) and not host.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host)), False
        except OSError:
            pass
    return None, False


@dataclass(frozen=True)
class Target:
    """A vetted webhook destination: where to connect and what to send as Host/SNI."""

    url: str
    scheme: str
    host: str  # the name as written (IDNA-encoded), for the Host header and TLS SNI
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]  # the vetted IP addresses to connect to


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a well-formed http(s) URL without credentials; UnsafeTarget otherwise."""
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeTarget("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("This is not a valid URL.")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeTarget("Only http:// and https:// URLs can receive webhooks.")
    if "@" in parts.netloc or parts.username or parts.password:
        raise UnsafeTarget("The URL may not contain a user name or password; authenticate with the signature.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.")
    if port == 0:
        raise UnsafeTarget("Port 0 is not a valid port.")
    if "%" in host:
        raise UnsafeTarget("IPv6 zone identifiers are not allowed.")
    if ":" not in host:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeTarget("The host name is not valid.")
        if not all(HOST_LABEL.match(label) for label in host.split(".")):
            raise UnsafeTarget("The host name is not valid.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or SCHEMES[scheme], path


def check_url(url: str, *, resolve: bool = True) -> Target:
    """Vet a webhook URL; raise UnsafeTarget (or ResolutionFailed) with an explanation when it is refused."""
    scheme, host, port, path = split_url(url)
    allowed = allowed_networks()
    literal, canonical = parse_ip_literal(host)
    if literal is not None:
        problem = address_problem(literal, allowed)
        if problem:
            meaning = f"it means {literal}, " if not canonical else "it is "
            raise UnsafeTarget(f"Webhooks cannot be sent to {host}: {meaning}{problem}.")
        if not canonical:
            raise UnsafeTarget("Write IPv4 addresses as four decimal numbers (like 203.0.113.7).")
        return Target(url, scheme, host, port, path, (str(literal),))
    if not resolve:
        return Target(url, scheme, host, port, path, ())
    addresses = resolve_host(host, port)
    for ip in addresses:
        problem = address_problem(ip, allowed)
        if problem:
            raise UnsafeTarget(f"Webhooks cannot be sent to {host}: it resolves to {ip}, {problem}.")
    return Target(url, scheme, host, port, path, tuple(dict.fromkeys(str(ip) for ip in addresses)))


def resolve_host(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ResolutionFailed(f"The host {host} could not be resolved ({exc}).")
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            raise UnsafeTarget(f"The host {host} resolved to an unusable address {sockaddr[0]!r}.")
    if not addresses:
        raise ResolutionFailed(f"The host {host} has no addresses.")
    return addresses
