"""DKIM signatures (RFC 6376: rsa-sha256, relaxed/relaxed) on every message that leaves, with dkimpy.

dkimpy parses the message, canonicalizes the body and headers and folds the signature header. Its RSA step is
pure Python (about 10-20 ms for a 2048-bit key on a busy machine, too slow for 500 messages a second), so when
the `cryptography` package is there the private-key operation is done by it (OpenSSL, ~1 ms) on exactly the
same canonical bytes; without it, `dkim.sign` signs. Tests verify both paths with `dkim.verify` against the TXT
record `public_dns_record()` publishes.

Settings: DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY_FILE (PEM). Signing is on when all three are set.
"""

import base64
import functools
import hashlib
import time
from pathlib import Path

import dkim as dkimpy
from django.conf import settings
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key

try:  # OpenSSL's RSA; optional (see the module docstring)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, utils
except ImportError:  # pragma: no cover - exercised where cryptography is not installed
    serialization = None

# Signed when present, in this order. From is required by RFC 6376; List-Unsubscribe and its -Post companion
# must be signed for Gmail and Yahoo to honour one-click unsubscribe (RFC 8058 section 4).
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"x-smarketing-stream",
)
# Signed once more even when absent ("oversigning"): nobody down the line can add a second From or
# List-Unsubscribe that a receiver might show instead of ours.
OVERSIGNED = (b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post")
CANONICALIZATION = (b"relaxed", b"relaxed")


class DkimError(Exception):
    """DKIM is configured but cannot sign (missing or unreadable key)."""


def dkim_enabled() -> bool:
    return bool(settings.DKIM_DOMAIN and settings.DKIM_SELECTOR and settings.DKIM_PRIVATE_KEY_FILE)


@functools.lru_cache(maxsize=4)
def _load_key(path: str, mtime: float) -> tuple[bytes, object]:
    """The PEM bytes and, when cryptography is there, its key object; cached per file version."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise DkimError(f"DKIM_PRIVATE_KEY_FILE cannot be read: {exc}") from exc
    fast = None
    if serialization is not None:
        try:
            fast = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise DkimError(f"DKIM_PRIVATE_KEY_FILE is not an unencrypted PEM private key: {exc}") from exc
    else:
        try:
            parse_pem_private_key(pem)
        except Exception as exc:
            raise DkimError(f"DKIM_PRIVATE_KEY_FILE is not a PEM RSA private key: {exc}") from exc
    return pem, fast


def _key() -> tuple[bytes, object]:
    path = str(settings.DKIM_PRIVATE_KEY_FILE)
    try:
        mtime = Path(path).stat().st_mtime
    except OSError as exc:
        raise DkimError(f"DKIM_PRIVATE_KEY_FILE cannot be read: {exc}") from exc
    return _load_key(path, mtime)


def _include_headers(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    present = {name.lower() for name, _ in headers}
    names = [name for name in SIGNED_HEADERS if name in present]
    return names + list(OVERSIGNED)


def sign(message_bytes: bytes, *, domain: str | None = None, selector: str | None = None) -> bytes:
    """`message_bytes` with a DKIM-Signature header prepended; unchanged when DKIM is not configured."""
    if not dkim_enabled():
        return message_bytes
    domain_b = (domain or settings.DKIM_DOMAIN).encode("ascii")
    selector_b = (selector or settings.DKIM_SELECTOR).encode("ascii")
    pem, fast = _key()
    headers, body = dkimpy.rfc822_parse(message_bytes)
    include = _include_headers(headers)
    if fast is None:
        signature = dkimpy.sign(
            message_bytes, selector_b, domain_b, pem, canonicalize=CANONICALIZATION, include_headers=include
        )
        return signature + message_bytes
    return _sign_fast(message_bytes, headers, body, include, domain_b, selector_b, fast) + message_bytes


def _sign_fast(message_bytes, headers, body, include, domain, selector, key) -> bytes:
    """The DKIM-Signature header dkimpy would write, the RSA step done by OpenSSL (same bytes, same tags)."""
    policy = CanonicalizationPolicy.from_c_value(b"/".join(CANONICALIZATION))
    body_hash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(body)).digest())
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", policy.to_c_value()),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", selector),
        (b"t", str(int(time.time())).encode("ascii")),
        (b"h", b" : ".join(include)),
        (b"bh", body_hash),
        (b"b", b""),
    ]
    unsigned = dkimpy.fold(b"; ".join(b"=".join(field) for field in fields), namelen=len(b"DKIM-Signature"))
    hasher = hashlib.sha256()
    dkimpy.hash_headers(
        hasher,
        policy,
        policy.canonicalize_headers(headers),
        include,
        (b"DKIM-Signature", b" " + unsigned),
        dict(fields),
    )
    raw = key.sign(hasher.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    fields[-1] = (b"b", base64.b64encode(raw))
    value = dkimpy.fold(b"; ".join(b"=".join(field) for field in fields) + b"\r\n", namelen=len(b"DKIM-Signature"))
    return b"DKIM-Signature: " + value


def public_key_base64(pem: bytes | None = None) -> str:
    """The base64 SubjectPublicKeyInfo of the configured (or given) private key: the p= of the TXT record."""
    if pem is None:
        pem, _ = _key()
    if serialization is None:
        raise DkimError("the public key needs the cryptography package (pip install cryptography)")
    key = serialization.load_pem_private_key(pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def public_dns_record(pem: bytes | None = None) -> str:
    """The TXT record value to publish at <selector>._domainkey.<domain>: "v=DKIM1; k=rsa; p=..."."""
    return f"v=DKIM1; k=rsa; p={public_key_base64(pem)}"


def dns_name() -> str:
    return f"{settings.DKIM_SELECTOR}._domainkey.{settings.DKIM_DOMAIN}"


def dnsfunc_for(record: str, name: str | None = None):
    """A dkimpy `dnsfunc` answering `record` for `name` (tests and `smarketing dkimkey --check`)."""
    expected = (name or dns_name()).rstrip(".").lower()

    def lookup(qname, timeout=5):
        asked = qname.decode("ascii") if isinstance(qname, bytes) else qname
        if asked.rstrip(".").lower() == expected:
            return record.encode("ascii")
        return None

    return lookup


def verify(message_bytes: bytes, record: str | None = None) -> bool:
    """True when dkimpy verifies the message's signature against `record` (default: our published key)."""
    record = record or public_dns_record()
    return bool(dkimpy.verify(message_bytes, dnsfunc=dnsfunc_for(record)))


def generate_private_key(bits: int = 2048) -> bytes:
    """A new RSA private key, PEM (PKCS#8, unencrypted), for `smarketing dkimkey` and tests."""
    if serialization is None:
        raise DkimError("generating a key needs the cryptography package (pip install cryptography)")
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
