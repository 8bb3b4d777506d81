"""V8's ``Math.log`` and ``Math.pow`` in pure Python (SPEC-statistics §1.5): the same double as node, bit for bit.

``tests/data/v8/math_cases.json`` holds node's results for arguments where Python's ``math.log``/``math.pow``
(glibc) differ from it, so each case fails with the C library and passes only with the fdlibm/V8 forms.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.data_paths import DATA
from workstation.reports.v8_math import v8_log, v8_pow

CASES = json.loads((DATA / "v8" / "math_cases.json").read_text())


def test_log_matches_node_where_glibc_does_not() -> None:
    assert len(CASES["log"]) == 150
    for x, expected in CASES["log"]:
        assert math.log(x) != expected
        assert v8_log(x) == expected, x


def test_pow_matches_node_where_glibc_does_not() -> None:
    assert len(CASES["pow"]) == 150
    for x, y, expected in CASES["pow"]:
        assert math.pow(x, y) != expected
        assert v8_pow(x, y) == expected, (x, y)


def test_pow_of_the_sideways_probe() -> None:
    # SPEC-statistics §1.5: V8 gives ...819, glibc ...82.
    assert v8_pow(0.9918275981308566, 20.137931034482758) == 0.8476805370659819
    assert math.pow(0.9918275981308566, 20.137931034482758) == 0.847680537065982


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1.0, 0.0),
        (math.e, 1.0),
        (2.0, 0.6931471805599453),
        (0.0, -math.inf),
        (math.inf, math.inf),
        (5e-324, -744.4400719213812),
    ],
)
def test_log_known_values(x: float, expected: float) -> None:
    assert v8_log(x) == expected


def test_log_of_a_negative_number_is_nan() -> None:
    assert math.isnan(v8_log(-1.0))
    assert math.isnan(v8_log(math.nan))


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (2.0, 10.0, 1024.0),
        (2.0, -1.0, 0.5),
        (9.0, 0.5, 3.0),
        (1.5, 2.0, 2.25),
        (-2.0, 3.0, -8.0),
        (0.0, -1.0, math.inf),
        (10.0, 400.0, math.inf),
        (10.0, -400.0, 0.0),
        (3.0, 0.0, 1.0),
    ],
)
def test_pow_known_values(x: float, y: float, expected: float) -> None:
    assert v8_pow(x, y) == expected


def test_pow_special_cases_follow_js() -> None:
    assert math.isnan(v8_pow(-2.0, 0.5))
    assert math.isnan(v8_pow(1.0, math.inf))
    assert math.isnan(v8_pow(math.nan, 2.5))
    assert v8_pow(math.nan, 0.0) == 1.0
