"""Bad schema input (SPEC §2, acceptance point 5): every ``ws.add_*`` refuses a broken schema and registers nothing.

Order of work (SPEC §2): validate (pydantic; failure -> nothing registered), then refuse a duplicate name with
``DuplicateSchemaError('<kind> "<name>" already exists')``, then store. A schema object and keyword fields together
are a ``TypeError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

import workstation as ws


def _fn(*_args: Any) -> None:
    return None


async def _async_fn(*_args: Any) -> None:
    return None


START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 2, tzinfo=UTC)

# One valid field set per kind; tests break exactly one thing at a time.
VALID: dict[str, dict[str, Any]] = {
    "exchange": {"exchange_name": "ex", "get_candles": _fn},
    "strategy": {"strategy_name": "st", "interval": "5m", "get_signal": _fn},
    "frame": {"frame_name": "fr", "interval": "1m", "start_date": START, "end_date": END},
    "risk": {"risk_name": "rk"},
    "sizing": {"sizing_name": "sz", "method": "fixed_percentage", "risk_percentage": 2.0},
    "walker": {"walker_name": "wk", "exchange_name": "ex", "frame_name": "fr", "strategies": ["a", "b"]},
    "optimizer": {
        "optimizer_name": "op",
        "strategy_factory": _fn,
        "grid": {"fast": [5, 10]},
        "exchange_name": "ex",
        "frame_name": "fr",
        "symbols": ["BTCUSDT"],
    },
}
NAME_FIELD = {
    "exchange": "exchange_name",
    "strategy": "strategy_name",
    "frame": "frame_name",
    "risk": "risk_name",
    "sizing": "sizing_name",
    "walker": "walker_name",
    "optimizer": "optimizer_name",
}
# Every field that holds a schema name (SPEC §2 "Names": every *_name field), per kind.
NAME_FIELDS = {
    "exchange": ["exchange_name"],
    "strategy": ["strategy_name", "risk_name"],
    "frame": ["frame_name"],
    "risk": ["risk_name"],
    "sizing": ["sizing_name"],
    "walker": ["walker_name", "exchange_name", "frame_name"],
    "optimizer": ["optimizer_name", "exchange_name", "frame_name"],
}
REQUIRED = {
    "exchange": ["exchange_name", "get_candles"],
    "strategy": ["strategy_name", "interval", "get_signal"],
    "frame": ["frame_name", "interval", "start_date", "end_date"],
    "risk": ["risk_name"],
    "sizing": ["sizing_name", "risk_percentage"],
    "walker": ["walker_name", "exchange_name", "frame_name", "strategies"],
    "optimizer": ["optimizer_name", "strategy_factory", "grid", "exchange_name", "frame_name", "symbols"],
}
CALLBACK_NAMES = {
    "exchange": ["on_candle_data"],
    "strategy": [
        "on_tick",
        "on_open",
        "on_active",
        "on_idle",
        "on_close",
        "on_schedule",
        "on_cancel",
        "on_write",
        "on_partial_profit",
        "on_partial_loss",
    ],
    "frame": ["on_timeframe"],
    "risk": ["on_rejected", "on_allowed"],
    "sizing": ["on_calculate"],
    "walker": ["on_strategy_start", "on_strategy_complete", "on_strategy_error", "on_complete"],
    "optimizer": ["on_job_complete", "on_complete"],
}
KINDS = list(VALID)
SIZING_TAGS = ("fixed_percentage", "kelly_criterion", "atr_based")


def _add(kind: str) -> Callable[..., Any]:
    return getattr(ws, f"add_{kind}")


def _schema_class(kind: str, fields: dict[str, Any]) -> Any:
    if kind == "sizing":
        return {
            "fixed_percentage": ws.FixedPercentageSizing,
            "kelly_criterion": ws.KellyCriterionSizing,
            "atr_based": ws.AtrBasedSizing,
        }[fields["method"]]
    return {
        "exchange": ws.ExchangeSchema,
        "strategy": ws.StrategySchema,
        "frame": ws.FrameSchema,
        "risk": ws.RiskSchema,
        "walker": ws.WalkerSchema,
        "optimizer": ws.OptimizerSchema,
    }[kind]


def _registered() -> dict[str, list[Any]]:
    return {
        "exchange": ws.list_exchanges(),
        "strategy": ws.list_strategies(),
        "frame": ws.list_frames(),
        "risk": ws.list_risks(),
        "sizing": ws.list_sizings(),
        "walker": ws.list_walkers(),
        "optimizer": ws.list_optimizers(),
    }


def _refused(kind: str, *args: Any, error: type[Exception] = pydantic.ValidationError, **fields: Any) -> Exception:
    """``add_<kind>(*args, **fields)`` must raise ``error`` and leave every registry exactly as it was."""
    before = _registered()
    with pytest.raises(error) as caught:
        _add(kind)(*args, **fields)
    after = _registered()
    assert after == before
    for name in before:
        assert [id(schema) for schema in after[name]] == [id(schema) for schema in before[name]]
    return caught.value


def _locs(error: Exception) -> list[tuple[Any, ...]]:
    assert isinstance(error, pydantic.ValidationError)
    # The sizing union prefixes locations with the method tag: drop it.
    return [tuple(part for part in item["loc"] if part not in SIZING_TAGS) for item in error.errors()]


def _preload_other_kinds(kind: str) -> None:
    """Register one valid schema of every other kind, so 'nothing registered' is checked against non-empty lists."""
    for other in KINDS:
        if other != kind:
            _add(other)(**VALID[other])


# ------------------------------------------------------------------------------------------------ valid baseline


@pytest.mark.parametrize("kind", KINDS)
def test_valid_fields_register_and_return_the_stored_schema(kind: str) -> None:
    stored = _add(kind)(**VALID[kind])
    assert _registered()[kind] == [stored]
    assert getattr(stored, NAME_FIELD[kind]) == VALID[kind][NAME_FIELD[kind]]


# ------------------------------------------------------------------------------------------------ missing fields


REQUIRED_CASES = [(kind, field) for kind, fields in REQUIRED.items() for field in fields]


@pytest.mark.parametrize(("kind", "field"), REQUIRED_CASES, ids=[f"{k}-{f}" for k, f in REQUIRED_CASES])
def test_missing_required_field_is_named(kind: str, field: str) -> None:
    _preload_other_kinds(kind)
    fields = {key: value for key, value in VALID[kind].items() if key != field}
    error = _refused(kind, **fields)
    assert _locs(error) == [(field,)]
    assert error.errors()[0]["type"] == "missing"  # type: ignore[attr-defined]
    assert field in str(error)


def test_sizing_without_method_names_the_discriminator() -> None:
    error = _refused("sizing", sizing_name="sz", risk_percentage=2.0)
    assert "method" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_no_fields_at_all_is_a_validation_error(kind: str) -> None:
    _refused(kind)


# ------------------------------------------------------------------------------------------------ wrong types

WRONG_TYPES: list[tuple[str, str, Any]] = [
    ("exchange", "exchange_name", 5),
    ("exchange", "exchange_name", b"ex"),
    ("exchange", "exchange_name", None),
    ("exchange", "get_candles", "not callable"),
    ("exchange", "get_candles", None),
    ("exchange", "format_price", 3),
    ("exchange", "format_quantity", "x"),
    ("exchange", "callbacks", 5),
    ("exchange", "note", 3),
    ("strategy", "strategy_name", 1.5),
    ("strategy", "interval", "2m"),
    ("strategy", "interval", "3d"),  # a frame interval, not a signal interval
    ("strategy", "interval", 5),
    ("strategy", "get_signal", 42),
    ("strategy", "risk_name", 7),
    ("strategy", "risk_list", "rk"),
    ("strategy", "risk_list", [1]),
    ("strategy", "callbacks", "on_tick"),
    ("strategy", "note", ["n"]),
    ("frame", "frame_name", ["fr"]),
    ("frame", "interval", "2d"),
    ("frame", "interval", None),
    ("frame", "start_date", "not a date"),
    ("frame", "end_date", 3.5j),
    ("frame", "note", 0),
    ("risk", "risk_name", 0),
    ("risk", "validations", 5),
    ("risk", "validations", [5]),
    ("risk", "validations", [{"validate": 5}]),
    ("risk", "note", object()),
    ("sizing", "sizing_name", 3),
    ("sizing", "risk_percentage", "two"),
    ("sizing", "max_position_percentage", "x"),
    ("sizing", "min_position_size", [1]),
    ("sizing", "max_position_size", "big"),
    ("sizing", "note", 1),
    ("walker", "walker_name", 3),
    ("walker", "strategies", "a"),
    ("walker", "strategies", [1, 2]),
    ("walker", "metric", "profit"),
    ("walker", "metric", 1),
    ("walker", "exchange_name", None),
    ("optimizer", "strategy_factory", "factory"),
    ("optimizer", "grid", [1, 2]),
    ("optimizer", "grid", {"fast": 5}),
    ("optimizer", "metric", "pnl"),
    ("optimizer", "symbols", "BTCUSDT"),
    ("optimizer", "frame_name", 2),
]


def _stable_id(value: Any) -> str:
    # A bare object's repr holds its address, which differs between xdist workers.
    return type(value).__name__ if type(value) is object else repr(value)


@pytest.mark.parametrize(
    ("kind", "field", "value"), WRONG_TYPES, ids=[f"{k}-{f}-{_stable_id(v)}" for k, f, v in WRONG_TYPES]
)
def test_wrong_type_names_the_field(kind: str, field: str, value: Any) -> None:
    _preload_other_kinds(kind)
    error = _refused(kind, **{**VALID[kind], field: value})
    locs = _locs(error)
    assert locs
    assert all(loc[0] == field for loc in locs), locs
    assert field in str(error)


def test_sizing_kelly_and_atr_fields_are_typed() -> None:
    error = _refused("sizing", sizing_name="k", method="kelly_criterion", kelly_multiplier="half")
    assert _locs(error) == [("kelly_multiplier",)]
    error = _refused("sizing", sizing_name="a", method="atr_based", risk_percentage=1.0, atr_multiplier=[2])
    assert _locs(error) == [("atr_multiplier",)]


SIZING_OUT_OF_RANGE: list[tuple[dict[str, Any], str]] = [
    ({"method": "fixed_percentage", "risk_percentage": -1.0}, "risk_percentage"),
    ({"method": "fixed_percentage", "risk_percentage": 0.0}, "risk_percentage"),
    ({"method": "fixed_percentage", "risk_percentage": 150.0}, "risk_percentage"),
    ({"method": "atr_based", "risk_percentage": math.inf}, "risk_percentage"),
    ({"method": "atr_based", "risk_percentage": 1.0, "atr_multiplier": 0.0}, "atr_multiplier"),
    ({"method": "kelly_criterion", "kelly_multiplier": -0.25}, "kelly_multiplier"),
    ({"method": "kelly_criterion", "kelly_multiplier": math.nan}, "kelly_multiplier"),
    ({"method": "kelly_criterion", "max_position_percentage": 0.0}, "max_position_percentage"),
    ({"method": "kelly_criterion", "min_position_size": -0.01}, "min_position_size"),
    ({"method": "kelly_criterion", "max_position_size": 0.0}, "max_position_size"),
]


@pytest.mark.parametrize(
    ("fields", "field"), SIZING_OUT_OF_RANGE, ids=[f"{f['method']}-{n}" for f, n in SIZING_OUT_OF_RANGE]
)
def test_sizing_values_that_would_size_absurdly_are_refused_by_name(fields: dict[str, Any], field: str) -> None:
    error = _refused("sizing", sizing_name="sz", **fields)
    assert _locs(error) == [(field,)]
    assert field in str(error)


def test_sizing_limits_out_of_order_are_refused_with_both_values() -> None:
    error = _refused("sizing", sizing_name="sz", method="kelly_criterion", min_position_size=0.5, max_position_size=0.1)
    assert "min_position_size (0.5) must not exceed max_position_size (0.1)" in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("garbage", ["ex", 5, ["ex"], 3.5], ids=repr)
def test_a_positional_argument_that_is_not_a_schema_is_a_validation_error(kind: str, garbage: Any) -> None:
    _preload_other_kinds(kind)
    _refused(kind, garbage)


@pytest.mark.parametrize("kind", KINDS)
def test_a_schema_object_of_another_kind_is_a_validation_error(kind: str) -> None:
    other = "risk" if kind != "risk" else "exchange"
    wrong = _schema_class(other, VALID[other])(**VALID[other])
    _refused(kind, wrong)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_field_is_named(kind: str) -> None:
    _preload_other_kinds(kind)
    error = _refused(kind, **VALID[kind], bogus_field=1)
    assert _locs(error) == [("bogus_field",)]
    assert "bogus_field" in str(error)


# ------------------------------------------------------------------------------------------------ names

BAD_NAMES: list[tuple[str, str]] = [
    ("", "empty"),
    ("a" * 101, "101 chars"),
    ("a:b", "colon"),
    ("a/b", "slash"),
    ("/", "only slash"),
    ("a\x00b", "NUL"),
    ("a\nb", "newline"),
    ("a\tb", "tab"),
    ("a\x1fb", "unit separator"),
    ("a\x7fb", "DEL"),
]
NAME_CASES = [
    (kind, field, name) for kind, fields in NAME_FIELDS.items() for field in fields for name, _label in BAD_NAMES
]


@pytest.mark.parametrize(
    ("kind", "field", "name"),
    NAME_CASES,
    ids=[f"{k}-{f}-{label}" for k, fields in NAME_FIELDS.items() for f in fields for _n, label in BAD_NAMES],
)
def test_bad_name_names_the_field_and_the_value(kind: str, field: str, name: str) -> None:
    _preload_other_kinds(kind)
    error = _refused(kind, **{**VALID[kind], field: name})
    assert _locs(error) == [(field,)]
    text = str(error)
    assert field in text
    if name and len(name) <= 100:
        assert repr(name) in text  # the offending value, escaped as Python shows it
    if len(name) > 100:
        assert "100" in text
        assert "101" in text


@pytest.mark.parametrize("kind", KINDS)
def test_name_of_exactly_100_characters_is_accepted(kind: str) -> None:
    name = "n" * 100
    stored = _add(kind)(**{**VALID[kind], NAME_FIELD[kind]: name})
    assert getattr(stored, NAME_FIELD[kind]) == name


@pytest.mark.parametrize("name", ["BTC-USDT", "ünïcode ñame", "with space", "a.b_c-1", "x"])
def test_other_characters_are_allowed_in_names(name: str) -> None:
    assert ws.add_strategy(**{**VALID["strategy"], "strategy_name": name}).strategy_name == name


def test_symbols_are_free_strings() -> None:
    stored = ws.add_optimizer(**{**VALID["optimizer"], "symbols": ["BTC/USDT", "ETH:USDT"]})
    assert stored.symbols == ["BTC/USDT", "ETH:USDT"]


@pytest.mark.parametrize(("name", "label"), BAD_NAMES, ids=[label for _n, label in BAD_NAMES])
def test_bad_names_in_strategy_risk_list_are_named(name: str, label: str) -> None:
    error = _refused("strategy", **{**VALID["strategy"], "risk_list": ["ok", name]})
    assert _locs(error) == [("risk_list", 1)]


@pytest.mark.parametrize(("name", "label"), BAD_NAMES, ids=[label for _n, label in BAD_NAMES])
def test_bad_names_in_walker_strategies_are_named(name: str, label: str) -> None:
    error = _refused("walker", **{**VALID["walker"], "strategies": ["ok", name]})
    assert _locs(error) == [("strategies", 1)]


# ------------------------------------------------------------------------------------------------ frames and dates


@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_naive_datetime_names_the_field_a4(field: str) -> None:
    naive = datetime(2024, 1, 1) if field == "start_date" else datetime(2024, 1, 2)  # noqa: DTZ001
    error = _refused("frame", **{**VALID["frame"], field: naive})
    assert _locs(error) == [(field,)]
    assert field in str(error)


def test_start_after_end_is_refused_a4() -> None:
    error = _refused("frame", **{**VALID["frame"], "start_date": END, "end_date": START})
    text = str(error)
    assert "start_date" in text
    assert "end_date" in text


def test_start_equal_to_end_is_allowed() -> None:
    stored = ws.add_frame(**{**VALID["frame"], "start_date": START, "end_date": START})
    assert stored.start_date == stored.end_date == START


def test_aware_datetimes_are_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    stored = ws.add_frame(
        **{
            **VALID["frame"],
            "start_date": datetime(2024, 1, 1, 2, 0, tzinfo=plus_two),
            "end_date": datetime(2024, 1, 1, 3, 0, tzinfo=plus_two),
        }
    )
    assert stored.start_date == START
    assert stored.start_date.utcoffset() == timedelta(0)
    assert stored.end_date == datetime(2024, 1, 1, 1, 0, tzinfo=UTC)


def test_order_is_judged_in_utc() -> None:
    # 01:30+02:00 is 23:30 UTC of the previous day: before 2024-01-01 00:00Z.
    plus_two = timezone(timedelta(hours=2))
    _refused(
        "frame",
        **{**VALID["frame"], "start_date": START, "end_date": datetime(2024, 1, 1, 1, 30, tzinfo=plus_two)},
    )


def test_frame_interval_3d_is_valid() -> None:
    assert ws.add_frame(**{**VALID["frame"], "interval": "3d"}).interval == "3d"


# ------------------------------------------------------------------------------------------------ callbacks

CALLBACK_CASES = [(kind, name) for kind, names in CALLBACK_NAMES.items() for name in names]


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_callback_name_is_named(kind: str) -> None:
    _preload_other_kinds(kind)
    error = _refused(kind, **{**VALID[kind], "callbacks": {"on_bogus": _fn}})
    assert _locs(error) == [("callbacks", "on_bogus")]
    assert "on_bogus" in str(error)


@pytest.mark.parametrize(("kind", "name"), CALLBACK_CASES, ids=[f"{k}-{n}" for k, n in CALLBACK_CASES])
def test_every_known_callback_is_accepted_sync_or_async(kind: str, name: str) -> None:
    stored = _add(kind)(**{**VALID[kind], "callbacks": {name: _async_fn}})
    assert getattr(stored.callbacks, name) is _async_fn


@pytest.mark.parametrize(("kind", "name"), CALLBACK_CASES, ids=[f"{k}-{n}" for k, n in CALLBACK_CASES])
def test_a_callback_that_is_not_callable_is_named(kind: str, name: str) -> None:
    error = _refused(kind, **{**VALID[kind], "callbacks": {name: "not callable"}})
    assert _locs(error) == [("callbacks", name)]


def test_risk_validation_objects_and_dicts() -> None:
    stored = ws.add_risk(risk_name="rk", validations=[_fn, {"validate": _fn, "note": "n"}])
    assert len(stored.validations) == 2
    error = _refused("risk", risk_name="rk2", validations=[{"validate": _fn, "bogus": 1}])
    assert _locs(error)[0][0] == "validations"


# ------------------------------------------------------------------------------------------------ lists and grids


def test_walker_strategies_empty() -> None:
    error = _refused("walker", **{**VALID["walker"], "strategies": []})
    assert _locs(error) == [("strategies",)]


def test_walker_strategies_duplicated_names_the_strategy() -> None:
    error = _refused("walker", **{**VALID["walker"], "strategies": ["a", "b", "a"]})
    assert _locs(error) == [("strategies",)]
    assert "'a'" in str(error) or '"a"' in str(error)


@pytest.mark.parametrize("empty", [[], (), range(0)], ids=repr)
def test_optimizer_grid_value_empty_names_the_key(empty: Any) -> None:
    error = _refused("optimizer", **{**VALID["optimizer"], "grid": {"fast": [5], "slow": empty}})
    assert _locs(error)[0][0] == "grid"
    assert "slow" in str(error)


@pytest.mark.parametrize("values", [[1, 2], (1, 2), range(1, 3)], ids=repr)
def test_optimizer_grid_accepts_lists_tuples_ranges(values: Any) -> None:
    assert len(ws.add_optimizer(**{**VALID["optimizer"], "grid": {"fast": values}}).grid["fast"]) == 2


def test_optimizer_symbols_empty() -> None:
    error = _refused("optimizer", **{**VALID["optimizer"], "symbols": []})
    assert _locs(error) == [("symbols",)]


@pytest.mark.parametrize("method", ["unknown", "fixed-percentage", "FixedPercentage", "", "kelly"])
def test_sizing_method_unknown_is_named(method: str) -> None:
    error = _refused("sizing", **{**VALID["sizing"], "method": method})
    text = str(error)
    assert "method" in text
    assert repr(method) in text


@pytest.mark.parametrize(
    ("method", "extra"),
    [("fixed_percentage", {"risk_percentage": 1.0}), ("kelly_criterion", {}), ("atr_based", {"risk_percentage": 1.0})],
)
def test_each_sizing_method_registers(method: str, extra: dict[str, Any]) -> None:
    stored = ws.add_sizing(sizing_name=f"s-{method}", method=method, **extra)
    assert stored.method == method
    assert ws.list_sizings() == [stored]


def test_sizing_field_of_another_method_is_refused() -> None:
    error = _refused("sizing", sizing_name="k", method="kelly_criterion", risk_percentage=1.0)
    assert _locs(error) == [("risk_percentage",)]


# ------------------------------------------------------------------------------------------------ duplicates


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_name_is_refused_with_the_exact_message(kind: str) -> None:
    first = _add(kind)(**VALID[kind])
    name = VALID[kind][NAME_FIELD[kind]]
    error = _refused(kind, error=ws.DuplicateSchemaError, **VALID[kind])
    assert str(error) == f'{kind} "{name}" already exists'
    assert isinstance(error, ValueError)
    assert isinstance(error, ws.WorkstationError)
    assert _registered()[kind] == [first]
    assert _registered()[kind][0] is first


def test_duplicate_strategy_s_a3() -> None:
    first = ws.add_strategy(strategy_name="s", interval="1m", get_signal=_fn)
    with pytest.raises(ws.DuplicateSchemaError) as caught:
        ws.add_strategy(strategy_name="s", interval="5m", get_signal=_async_fn)
    assert str(caught.value) == 'strategy "s" already exists'
    assert ws.list_strategies() == [first]
    assert ws.list_strategies()[0].interval == "1m"


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_given_as_schema_object_is_refused_too(kind: str) -> None:
    _add(kind)(**VALID[kind])
    schema = _schema_class(kind, VALID[kind])(**VALID[kind])
    error = _refused(kind, schema, error=ws.DuplicateSchemaError)
    assert str(error) == f'{kind} "{VALID[kind][NAME_FIELD[kind]]}" already exists'


def test_invalid_schema_with_a_taken_name_reports_validation_first() -> None:
    ws.add_strategy(**VALID["strategy"])
    error = _refused("strategy", **{**VALID["strategy"], "interval": "2m"})
    assert _locs(error) == [("interval",)]


def test_a_failed_registration_does_not_reserve_the_name() -> None:
    _refused("exchange", exchange_name="ex", get_candles=5)
    stored = ws.add_exchange(exchange_name="ex", get_candles=_fn)
    assert ws.list_exchanges() == [stored]


# ------------------------------------------------------------------------------------------------ object vs kwargs


@pytest.mark.parametrize("kind", KINDS)
def test_schema_object_and_keyword_fields_together_is_a_type_error(kind: str) -> None:
    _preload_other_kinds(kind)
    schema = _schema_class(kind, VALID[kind])(**VALID[kind])
    _refused(kind, schema, error=TypeError, note="x")
    # The same object alone registers and is returned.
    assert _add(kind)(schema) == schema
    assert _registered()[kind] == [schema]


def test_object_and_fields_register_in_insertion_order_a3() -> None:
    first = ws.add_exchange(ws.ExchangeSchema(exchange_name="one", get_candles=_fn))
    second = ws.add_exchange(exchange_name="two", get_candles=_fn)
    assert ws.list_exchanges() == [first, second]
    assert second.format_quantity("BTCUSDT", 0.123456789) == "0.12345679"


@pytest.mark.parametrize("kind", KINDS)
def test_list_is_empty_after_reset(kind: str) -> None:
    _add(kind)(**VALID[kind])
    ws.reset()
    assert _registered()[kind] == []
