"""A live start made ready: the exchange whose candles the run reads, the desk its orders pass, and the broker.

``ws.prepare_live_start(request)`` turns a ``ws.LiveStartRequest`` into the arguments of ``ws.Live.background``:
paper orders fill in the paper account of the exchange's candles (``paper-on-<exchange>``, shared by every live run
with paper orders on that exchange), exchange orders go to the exchange account through ccxt with the key from the
OS keyring (the exchange, its testnet, or a local exchange on this computer). The first start on a desk reconciles
it; a start is refused while the desk disagrees with the engine. What each pair was last started with is remembered,
so its stored position resumes on the same desk after a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from workstation import registry
from workstation.atomic_file import write_text_atomically
from workstation.backtest_request import ensure_exchange, ensure_strategy
from workstation.brokers.errors import OrderRejectedError
from workstation.brokers.paper_venue import symbol_assets
from workstation.brokers.signal_broker import SignalBroker
from workstation.desk import OrderDesk
from workstation.engine.clock import SystemClock
from workstation.errors import PreparationError
from workstation.exchanges.ccxt_exchange import (
    POPULAR_CCXT_EXCHANGES,
    ensure_ccxt_exchange,
    load_ccxt,
    make_ccxt_exchange,
)
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS
from workstation.run_requests import LiveStartRequest
from workstation.trading_desks import PAPER_STARTING_BALANCE, Account, Desks, ExchangeAccount, PaperAccount

#: The clock of live runs started from requests, and of their paper accounts (one clock: one exchange client).
LIVE_CLOCK = SystemClock()


@dataclass(frozen=True, slots=True)
class LiveRun:
    """The arguments of ``ws.Live.background`` for one live start, and the desk its orders go through."""

    symbol: str
    strategy_name: str
    #: The registered exchange whose candles the run reads.
    exchange_name: str
    clock: SystemClock
    desk: OrderDesk
    broker: SignalBroker
    request: LiveStartRequest

    @property
    def where(self) -> str:
        """Say where the run's orders go: ``paper account on demo``, ``binance (real money)``, ..."""
        if self.request.orders == "paper":
            return f"paper orders, filled on {self.exchange_name}'s candles"
        if self.request.api_url:
            return f"orders to the local exchange at {self.request.api_url}"
        if self.request.sandbox:
            return f"orders to the {self.request.exchange_name} testnet"
        return f"orders to {self.request.exchange_name} with real money"


def candle_exchange(request: LiveStartRequest) -> str:
    """Register (once) and return the exchange whose candles a run of ``request`` reads.

    A local exchange (``api_url``) serves its own candles: ``<exchange>@<host>-<port>``; a ccxt exchange id its
    public candles; any other name must be registered (the demo market).

    Raises
    ------
    SchemaNotFoundError
        If the exchange is neither registered nor a ccxt exchange the window offers.
    """
    if request.api_url:
        where = urlsplit(request.api_url)
        name = f"{request.exchange_name}@{where.hostname}-{where.port or 80}"
        if not registry.exchanges.has(name):
            options = FAKE_BINANCE_OPTIONS if request.exchange_name == "binance" else {}
            registry.add_exchange(make_ccxt_exchange(name, request.exchange_name, api_url=request.api_url, **options))
        return name
    if request.exchange_name in POPULAR_CCXT_EXCHANGES or (
        request.orders == "exchange" and not registry.exchanges.has(request.exchange_name)
    ):
        return ensure_ccxt_exchange(request.exchange_name)
    return ensure_exchange(request.exchange_name, source="Start live")


async def prepare_live_start(request: LiveStartRequest) -> LiveRun:
    """Make ``request`` ready to start: its candles' exchange, its desk (reconciled at its first start), its broker.

    Raises
    ------
    PreparationError
        If the symbol names no quote asset a paper account could hold (field ``symbol``).
    ApiKeyMissingError
        For orders on an exchange whose API key is not in the OS keyring.
    DeskDisagreesError
        If the desk's venue and the engine's stored positions of the runs trading on it disagree.
    SchemaNotFoundError
        If the strategy or the exchange is unknown.
    """
    strategy_name = ensure_strategy(request.strategy_name)
    if request.orders == "exchange" or request.api_url or request.exchange_name in POPULAR_CCXT_EXCHANGES:
        await load_ccxt()
    exchange_name = candle_exchange(request)
    account: Account
    if request.orders == "paper":
        try:
            quote = symbol_assets(request.symbol)[1]
        except OrderRejectedError as exc:
            raise PreparationError("symbol", str(exc).removeprefix("paper: ")) from exc
        account = PaperAccount(
            name=f"paper-on-{exchange_name}",
            exchange_name=exchange_name,
            clock=LIVE_CLOCK,
            opening_balances={quote: PAPER_STARTING_BALANCE},
        )
    else:
        account = ExchangeAccount(request.exchange_name, sandbox=request.sandbox, api_url=request.api_url)
    desk = await Desks.desk_for(account)
    await Desks.check_start(desk, request.symbol, strategy_name)
    remember_live_start(request)
    return LiveRun(
        symbol=request.symbol,
        strategy_name=strategy_name,
        exchange_name=exchange_name,
        clock=LIVE_CLOCK,
        desk=desk,
        broker=SignalBroker(desk),
        request=request,
    )


def _starts_path() -> Path:
    return Path(platformdirs.user_data_dir("workstation")) / "desk" / "live_starts.json"


def _starts() -> dict[str, dict[str, object]]:
    try:
        stored = json.loads(_starts_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def remember_live_start(request: LiveStartRequest) -> None:
    """Remember where the live run of ``request``'s pair sends its orders (its stored position resumes there)."""
    starts = _starts()
    starts[f"{request.symbol}:{request.strategy_name}"] = request.model_dump(mode="json")
    write_text_atomically(_starts_path(), json.dumps(starts, indent=1, sort_keys=True), make_folders=True)


def live_start_of(symbol: str, strategy_name: str) -> LiveStartRequest | None:
    """Return how the live run of the pair was last started, to resume its stored position on the same desk.

    None when the pair was never started from a request: its position was stored by a run that sent no orders, and
    resumes the way it ran, tracked without orders.
    """
    stored = _starts().get(f"{symbol}:{strategy_name}")
    if stored is None:
        return None
    try:
        return LiveStartRequest.model_validate(stored)
    except ValueError:
        return None
