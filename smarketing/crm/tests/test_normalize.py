import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from smarketing.core.csvsafe import defuse
from smarketing.crm.normalize import normalize_domain, normalize_email


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("WWW.ACME.CO.UK.", "acme.co.uk"),
        ("sales@acme.io", "acme.io"),
        ("http://bücher.de", "xn--bcher-kva.de"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_domain(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", ["not a domain", "http://", "localhost", "-bad-.com", "a" * 300 + ".com"])
def test_bad_domains_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_domain(raw)


def test_normalize_email():
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    for bad in ("", "jane", "jane@", "@x.com", "a b@x.com"):
        with pytest.raises(ValidationError):
            normalize_email(bad)


@given(st.emails())
def test_normalize_email_is_idempotent(email):
    once = normalize_email(email)
    assert normalize_email(once) == once
    assert once == once.lower()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =cmd()", "\x00=cmd()", " \n@x"])
def test_defuse_neutralizes_formulas(value):
    assert defuse(value).startswith("'")


@pytest.mark.parametrize("value", ["Acme", "a=b", "", "hello-world", 42, None])
def test_defuse_leaves_safe_values(value):
    assert defuse(value) == value
