"""Formatting helpers shared by every report (SPEC §11.1)."""

from __future__ import annotations

import math

import pytest

from workstation import timeutil
from workstation.reports.formatting import escape_cell, fixed, iso, markdown_table, or_na, safe, signed, usd


def test_fixed_formats_with_exact_decimals_and_binary_rounding() -> None:
    assert fixed(1.5, 2) == "1.50"
    assert fixed(-0.8, 3) == "-0.800"
    assert fixed(3153.6000000000004, 2) == "3153.60"
    # 1.005 is stored as 1.00499999999999989..., so it rounds down: the rule is format(), not decimal rounding.
    assert fixed(1.005, 2) == "1.00"
    assert fixed(2.0, 0) == "2"


def test_signed_adds_plus_only_for_strictly_positive_values() -> None:
    assert signed(1.5, 2) == "+1.50"
    assert signed(-0.8, 2) == "-0.80"
    assert signed(0.0, 2) == "0.00"
    # A tiny positive value keeps its sign even when it rounds to zero.
    assert signed(0.001, 2) == "+0.00"


def test_usd_has_eight_decimals_and_the_unit() -> None:
    assert usd(42000.0) == "42000.00000000 USD"
    # SPEC §7's effective entry for 42000 differs in the last bit only, which 8 decimals round away.
    assert usd(41999.99999999999) == "42000.00000000 USD"


def test_iso_is_the_engine_time_format() -> None:
    assert iso is timeutil.iso
    assert iso(1704067680000) == "2024-01-01T00:08:00.000Z"
    assert iso(1704067680123) == "2024-01-01T00:08:00.123Z"
    # JavaScript's toISOString pads years below 1000 to four digits.
    assert iso(-30610224000000) == "1000-01-01T00:00:00.000Z"
    assert iso(-30641760000001) == "0998-12-31T23:59:59.999Z"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None])
def test_safe_turns_non_finite_and_missing_values_into_none(value: float | None) -> None:
    assert safe(value) is None


@pytest.mark.parametrize("value", [0.0, -0.0, 1.5, -2.797202797202556, 1e308])
def test_safe_keeps_finite_values(value: float) -> None:
    assert safe(value) == value


def test_or_na_replaces_value_and_unit() -> None:
    assert or_na(None, lambda value: fixed(value, 2) + "%") == "N/A"
    assert or_na(1.25, lambda value: fixed(value, 2) + "%") == "1.25%"
    assert or_na(0.0, lambda value: fixed(value, 1)) == "0.0"


def test_escape_cell_escapes_pipes_and_flattens_line_breaks() -> None:
    assert escape_cell("a|b") == "a\\|b"
    assert escape_cell("one\ntwo") == "one two"
    assert escape_cell("one\r\ntwo\rthree") == "one two three"
    assert escape_cell("x|\ny") == "x\\| y"
    assert escape_cell("plain") == "plain"


def test_markdown_table_lines() -> None:
    lines = markdown_table(["Name", "Value"], [["a", "1"], ["b|c", "line\nbreak"], ["", "N/A"]])
    assert lines == [
        "| Name | Value |",
        "| --- | --- |",
        "| a | 1 |",
        "| b\\|c | line break |",
        "|  | N/A |",
    ]


def test_markdown_table_escapes_the_header_too() -> None:
    assert markdown_table(["A|B"], []) == ["| A\\|B |", "| --- |"]


def test_markdown_table_refuses_a_row_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells, the header has 2"):
        markdown_table(["A", "B"], [["1", "2"], ["3"]])
