"""The peer's managed positions, replayed command by command on PositionState: every figure bit for bit.

Each managed row of the peer (``managed`` and ``managed-limit`` on 1 and 30 days, vendored in ``tests/data``) lists
the commands that succeeded with the getters read right after each (SPEC-position P19 ``commits``). Replaying them on
a ``PositionState`` at the prices the library booked them at (``get_average_price``: the VWAP of the five candles
closed before the callback, P2) must accept every one and give the same stop, take profit, effective entry, share
held, money held and invested and unrealised PnL; at the end the same entries, partial closes and closing PnL. This
checks the position arithmetic on 650 real positions without the engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from data_paths import BTC_1D_CSV, expected_rows, peer_candles

from workstation.clients.candle_data import vwap_series
from workstation.clients.position import PositionState
from workstation.config import Config
from workstation.exchanges.csv import read_candle_file
from workstation.models.signal import SignalRow
from workstation.parity import read_rows

MINUTE = 60_000
CONFIG = Config()
VWAP_CANDLES = CONFIG.avg_price_candles_count

Command = Callable[[PositionState, dict[str, Any], float], bool]

#: How each command of the peer's log is applied: ``(state, commit, avg)``, ``avg`` the price the library books at.
COMMANDS: dict[str, Command] = {
    "averageBuy": lambda state, commit, avg: state.average_buy(avg, commit["arg"], commit["t"]),
    "partialProfit": lambda state, commit, avg: state.partial_profit(commit["arg"], avg, commit["t"]),
    "partialProfitCost": lambda state, commit, avg: state.partial_profit_cost(commit["arg"], avg, commit["t"]),
    "partialLoss": lambda state, commit, avg: state.partial_loss(commit["arg"], avg, commit["t"]),
    "partialLossCost": lambda state, commit, avg: state.partial_loss_cost(commit["arg"], avg, commit["t"]),
    # The percent variants check the price the callback passes; the _cost ones the booking price.
    "trailingStop": lambda state, commit, avg: state.trailing_stop(commit["arg"], commit["price"]),
    "trailingStopCost": lambda state, commit, avg: state.trailing_stop_cost(commit["arg"], avg),
    "trailingTake": lambda state, commit, avg: state.trailing_take(commit["arg"], commit["price"]),
    "trailingTakeCost": lambda state, commit, avg: state.trailing_take_cost(commit["arg"], avg),
    "breakeven": lambda state, commit, avg: state.breakeven(avg, CONFIG),
}
#: Commands that only flag the engine (close, cancel, activate at the next candle; pause): no position arithmetic.
ENGINE_COMMANDS = {"closePending", "cancelScheduled", "activateScheduled", "pause"}


class Prices:
    """The VWAP ``get_average_price`` returns at each minute of a candle file."""

    def __init__(self, path: Path) -> None:
        candles = read_candle_file(path)
        self.first = int(candles["timestamp"][0])
        self.vwap = vwap_series(candles, VWAP_CANDLES)

    def average_at(self, when: int) -> float:
        """The VWAP of the candles closed at ``when``: the window ending at the candle that opened a minute before."""
        last_closed = (when - self.first) // MINUTE - 1
        return float(self.vwap[last_closed - (VWAP_CANDLES - 1)])


@functools.cache
def prices_of(path: Path) -> Prices:
    """Return the prices of a candle file, read once: a year of candles takes a while to read and check."""
    return Prices(path)


def opened_state(row: dict[str, Any]) -> PositionState:
    """The position of a peer row as it opened: its original entry and levels, one $100 entry at its creation."""
    signal = SignalRow(
        id=row["id"],
        position=row["position"],
        note="",
        price_open=row["originalPriceOpen"],
        # A cancelled row has no originals: nothing could move its levels.
        price_take_profit=row.get("originalPriceTakeProfit", row["priceTakeProfit"]),
        price_stop_loss=row.get("originalPriceStopLoss", row["priceStopLoss"]),
        minute_estimated_time=row["minuteEstimatedTime"],
        symbol="BTCUSDT",
        exchange_name="peer",
        strategy_name="managed",
        frame_name="",
        scheduled_at=row["scheduledAt"],
        # Commands only ever reach an open position, so the replay treats a limit order as filled from the start.
        pending_at=row["pendingAt"] or row["scheduledAt"],
        is_scheduled=False,
    )
    return PositionState(signal, 100.0)


def replay(row: dict[str, Any], prices: Prices) -> list[str]:
    """Replay ``row``'s commands and return every difference from the peer's figures (empty: bit for bit)."""
    state = opened_state(row)
    differences: list[str] = []
    for number, commit in enumerate(row["commits"]):
        name = commit["fn"]
        if name in ENGINE_COMMANDS:
            continue
        where = f"{row['id']} commit {number} {name}({commit.get('arg')}) at {commit['t']}"
        avg = prices.average_at(commit["t"])
        if not COMMANDS[name](state, commit, avg):
            return [*differences, f"{where}: refused, the peer accepted it"]
        if commit.get("open") is False:
            if not state.fully_closed():
                differences.append(f"{where}: the peer's position closed by its partials, ours holds more")
            continue
        ours = {
            "sl": state.stop_loss,
            "tp": state.take_profit,
            "eff": state.eff(),
            "held": state.held_percent(),
            "remaining": state.remaining(),
            "invested": state.invested(),
            "pnl": state.pnl(avg, CONFIG).pnl_percentage,
        }
        differences += [f"{where}: {key} {ours[key]!r} != {commit[key]!r}" for key in ours if ours[key] != commit[key]]
    if row["action"] == "closed":
        differences += closing_differences(row, state)
    return differences


def closing_differences(row: dict[str, Any], state: PositionState) -> list[str]:
    """The differences of the closed position: its records, levels and PnL at the close price."""
    pnl = state.pnl(row["pnlPriceClose"], CONFIG)
    ours = {
        "entries": [entry.model_dump() for entry in state.entries],
        "partials": [partial.model_dump(by_alias=True) for partial in state.partials],
        "priceOpen": state.eff(),
        "priceStopLoss": state.stop_loss,
        "priceTakeProfit": state.take_profit,
        "partialExecuted": state.closed_percent(),
        "pnlPercentage": pnl.pnl_percentage,
        "pnlCost": pnl.pnl_cost,
        "pnlEntries": pnl.pnl_entries,
        "pnlPriceOpen": pnl.price_open,
    }
    # The peer omits the partials of a position that never had one.
    expected = {key: row.get(key, []) for key in ours}
    return [
        f"{row['id']} closed: {key} {ours[key]!r} != {expected[key]!r}" for key in ours if ours[key] != expected[key]
    ]


@pytest.fixture(scope="module")
def candle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("candles")


@pytest.mark.parametrize("variant", ["managed", "managed-limit"])
def test_the_1_day_managed_positions_replay_bit_for_bit(variant: str) -> None:
    rows = read_rows(expected_rows(variant, "1d"))

    assert [difference for row in rows for difference in replay(row, prices_of(BTC_1D_CSV))] == []


@pytest.mark.parametrize(
    ("data", "variant", "positions"),
    [
        ("30d", "managed", 344),
        ("30d", "managed-limit", 302),
        pytest.param("365d", "managed", 4252, marks=pytest.mark.slow),
        pytest.param("365d", "managed-limit", 3898, marks=pytest.mark.slow),
    ],
)
def test_the_longer_managed_runs_replay_bit_for_bit(
    data: str, variant: str, positions: int, candle_folder: Path
) -> None:
    rows = read_rows(expected_rows(variant, data))
    replayed = [row for row in rows if {commit["fn"] for commit in row["commits"]} - ENGINE_COMMANDS]

    prices = prices_of(peer_candles(data, candle_folder))

    assert len(rows) == positions
    assert [difference for row in rows for difference in replay(row, prices)] == []
    # Every position command is exercised, on long and short positions.
    assert {commit["fn"] for row in replayed for commit in row["commits"]} >= set(COMMANDS)
    assert {row["position"] for row in replayed} == {"long", "short"}
    assert len(replayed) > positions // 2


def test_the_vwap_lookup_is_the_one_the_peer_booked_at() -> None:
    row = read_rows(expected_rows("managed", "1d"))[0]
    average_buy = row["commits"][0]

    # The entry the peer booked is the VWAP one candle before the callback's price.
    assert prices_of(BTC_1D_CSV).average_at(average_buy["t"]) == row["entries"][1]["price"] == 41154.537551190624
    assert average_buy["price"] == 41134.234274053866
