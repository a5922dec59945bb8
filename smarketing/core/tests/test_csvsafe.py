"""Formula defusing: every formula start, past every skipped leading character, and nothing else touched."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smarketing.core.csvsafe import FORMULA_STARTS, defuse

SKIPPED = " \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x1a\x1b\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_start_is_defused_exactly_once(start):
    value = start + "HYPERLINK(1)"
    assert defuse(value) == "'" + value
    assert defuse(defuse(value)) == "'" + value  # an apostrophe is not a formula start


@pytest.mark.parametrize("lead", list(SKIPPED) + [" \n ", "\x00\x1b"])
def test_formula_starts_are_found_past_skipped_characters(lead):
    assert defuse(lead + "=cmd()") == "'" + lead + "=cmd()"


@pytest.mark.parametrize("value", ["", "Acme", " Acme", "a=b", "a-b", "x@y.com", "'quoted", "\x00", "   ", "1+1"])
def test_safe_text_is_unchanged(value):
    assert defuse(value) == value


@pytest.mark.parametrize("value", [None, 0, -1, 2.5, True, ["=1"]])
def test_non_text_is_returned_as_is(value):
    assert defuse(value) is value


@given(st.text(max_size=30))
def test_defused_text_never_starts_a_formula(value):
    out = defuse(value)
    assert out in (value, "'" + value)
    assert not out.lstrip(SKIPPED).startswith(FORMULA_STARTS)
    if out == value:
        assert not value.lstrip(SKIPPED).startswith(FORMULA_STARTS)
