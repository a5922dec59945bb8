"""The install's tracking choices as a small frozen value, cached per process for a few seconds.

Every hit needs them (parse_hit runs on the ingest fast path too), so they are read from TrackingSettings at most
once per CACHE_SECONDS per process; saving the settings page clears this process's copy at once, the other
processes follow within CACHE_SECONDS.
"""

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CACHE_SECONDS = 10.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_cached: tuple[float, "TrackingConfig"] | None = None


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL or origin, lower-cased and without a default port; None for
    anything else ("null", other schemes, no host, a malformed port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except (ValueError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """(the valid origins, the lines that are not one) of a one-origin-per-line text; blank lines are skipped."""
    good, bad = [], []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        origin = normalize_origin(line)
        if origin is None or urlsplit(line).path not in ("", "/"):
            bad.append(line)
        elif origin not in good:
            good.append(origin)
    return good, bad


@dataclass(frozen=True)
class TrackingConfig:
    """What parse_hit and the script need to know about the install's tracking settings."""

    enabled: bool = True
    honour_dnt: bool = True  # Do-Not-Track and Global Privacy Control
    require_consent: bool = False
    allowed_origins: frozenset[str] = field(default_factory=frozenset)  # empty: any site
    stitch_origins: frozenset[str] = field(default_factory=frozenset)  # empty: no email link carries a token

    def origin_allowed(self, origin: str | None) -> bool:
        return origin is not None and (not self.allowed_origins or origin in self.allowed_origins)

    @classmethod
    def from_model(cls, row) -> "TrackingConfig":
        return cls(
            enabled=row.enabled,
            honour_dnt=row.honour_dnt,
            require_consent=row.require_consent,
            allowed_origins=frozenset(parse_origins(row.allowed_origins)[0]),
            stitch_origins=frozenset(parse_origins(row.stitch_origins)[0]),
        )


def current_settings() -> TrackingConfig:
    """The settings now (at most CACHE_SECONDS old). No row yet means the defaults; reading never writes."""
    global _cached
    now = time.monotonic()
    if _cached is not None and _cached[0] > now:
        return _cached[1]
    from smarketing.forms.models import TrackingSettings

    row = TrackingSettings.objects.filter(pk=1).first()
    config = TrackingConfig.from_model(row) if row else TrackingConfig()
    _cached = (now + CACHE_SECONDS, config)
    return config


def clear_settings_cache() -> None:
    global _cached
    _cached = None
