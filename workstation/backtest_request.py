"""What a backtest run is, as one validated request, and how it becomes registered schemas and a config.

The window's form, the command line (``workstation backtest``) and scripts all fill a `BacktestRequest`; its
validation names the field of every problem (``params.slow`` for a strategy parameter). `prepare_backtest` then
registers what the run needs and is still missing (the demo exchange with its seed, a candle file's exchange, the
candle store's candles as ``stored-<exchange>``, a built-in strategy with the requested parameters, a frame for the
period), checks that the period fits the candles, and returns the names and the config to run with::

    prepared = await ws.prepare_backtest(request)
    async for result in prepared.run(): ...
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails

from workstation.account.settings import AccountSettings, AccountSizing, FixedCostSizing, StartingBalance
from workstation.backtest import Backtest
from workstation.backtest_run import BacktestRun
from workstation.config import Config, CostPercent, PositionCost, get_config
from workstation.errors import PreparationError, SchemaNotFoundError
from workstation.examples.catalogue import BuiltinStrategy, available_builtin_strategies
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.exchanges.demo import DemoCandles, make_demo_exchange
from workstation.exchanges.span import candle_span, check_period
from workstation.exchanges.stored import StoredCandles, make_stored_exchange, stored_exchange_names, stored_source
from workstation.registry import (
    add_exchange,
    add_frame,
    add_strategy,
    exchanges,
    list_exchanges,
    list_frames,
    list_strategies,
)
from workstation.schemas.common import Name, is_name
from workstation.schemas.frame import FrameInterval, FrameSchema

#: The offline exchange `prepare_backtest` registers when a request names it and nothing else has.
DEMO_EXCHANGE = "demo"

_MAX_NAME_LENGTH = 100  # SPEC §2: names are parts of memo keys and file names


def exchange_choices(*, stored: bool = False) -> list[str]:
    """Return the exchanges a request may name: the registered ones, then ``demo`` if it is not among them.

    Parameters
    ----------
    stored
        Also offer ``stored-<exchange>`` for every exchange the candle store holds 1m candles of (reads the store).
    """
    names = [schema.exchange_name for schema in list_exchanges()]
    if DEMO_EXCHANGE not in names:
        names.append(DEMO_EXCHANGE)
    if stored:
        names += [name for name in stored_exchange_names() if name not in names]
    return names


def check_exchange_name(exchange_name: str) -> str:
    """Return ``exchange_name`` if a run may name it: registered, ``demo``, or a ``stored-…`` name.

    Raises
    ------
    ValueError
        Naming the exchange and the known ones (the candle store's included).
    """
    if exchange_name not in exchange_choices() and stored_source(exchange_name) is None:
        raise ValueError(f'exchange "{exchange_name}" not found; known: {_quoted(exchange_choices(stored=True))}')
    return exchange_name


#: A period's first tick, as the forms show it (`utc_whole_minute` checks it).
FirstTick = Annotated[AwareDatetime, Field(title="Start (UTC)", description="The first tick, on a whole minute.")]
#: A period's last tick, as the forms show it (`utc_whole_minute` and `end_after_start` check it).
LastTick = Annotated[
    AwareDatetime, Field(title="End (UTC)", description="The last tick, on a whole minute, after the start.")
]


def utc_whole_minute(moment: datetime, info: ValidationInfo) -> datetime:
    """Validate a period's end point: ``moment`` in UTC, refused unless on a whole minute (frames tick on them)."""
    moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        raise ValueError(f"{info.field_name} must be on a whole minute, got {moment.isoformat()}")
    return moment


def end_after_start(end: datetime, info: ValidationInfo) -> datetime:
    """Validate a period's ``end``: refused unless after the ``start`` validated before it."""
    start = info.data.get("start")
    if start is not None and end <= start:
        raise ValueError(f"end must be after start ({start:%Y-%m-%d %H:%M} UTC), got {end:%Y-%m-%d %H:%M} UTC")
    return end


def demo_exchange_name(seed: int) -> str:
    """Return the name the demo exchange with ``seed`` is registered under: ``demo``, or ``demo[seed=7]``."""
    return DEMO_EXCHANGE if seed == 0 else f"{DEMO_EXCHANGE}[seed={seed}]"


def strategy_among(strategy_name: str, known: list[str], refusal: str) -> str:
    """Return ``strategy_name`` when it is one of ``known``; refuse it otherwise (``strategy "…" <refusal>``)."""
    if strategy_name not in known:
        raise ValueError(f'strategy "{strategy_name}" {refusal}')
    return strategy_name


def strategy_choices() -> list[str]:
    """Return the strategies a request may name: the registered ones, then the built-in ones not registered yet."""
    names = [schema.strategy_name for schema in list_strategies()]
    return names + [name for name in available_builtin_strategies() if name not in names]


def strategy_params_model(strategy_name: str) -> type[BaseModel] | None:
    """Return the model of the parameters a request may give ``strategy_name``.

    Parameters
    ----------
    strategy_name
        A built-in strategy (``sma-cross-market``, ``rsi-reversion``, …) or any other name.

    Returns
    -------
    type[BaseModel] | None
        The built-in strategy's parameters (the ones its name fixes narrowed to their one value), or None for a
        strategy that takes no parameters from a request (one registered by the user).
    """
    builtin = available_builtin_strategies().get(strategy_name)
    return None if builtin is None else builtin.params_model


class BacktestRequest(BaseModel):
    """One backtest as a user asks for it: market, strategy and its parameters, period, and costs.

    Validation consults the registries: the exchange must be among `exchange_choices`, a ``stored-…`` name, or the
    name a ``candle_file`` is served under; the strategy among `strategy_choices`; ``params`` must fit
    `strategy_params_model` (errors are located at ``params.<field>``); a ``seed`` other than 0 needs the demo
    exchange. ``start`` and ``end`` are timezone-aware, converted to UTC, on whole minutes, and ``end`` is after
    ``start``. Whether the candles cover the period is checked by `prepare_backtest`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_name: Name = Field(
        DEMO_EXCHANGE,
        title="Exchange",
        description="Where the candles come from: 'demo' is synthetic and offline, 'stored-…' the candle store's; "
        "with a candle file, the name its candles are served under.",
    )
    candle_file: str = Field(
        "",
        title="Candle file",
        description="A candle CSV to trade on instead of the exchange (any layout the import dialog reads).",
    )
    seed: int = Field(
        0, ge=0, title="Demo seed", description="Seed of the demo exchange's price paths; 0 is the usual demo."
    )
    symbol: str = Field("BTCUSDT", title="Symbol", description="The market traded, as the exchange names it.")
    strategy_name: Name = Field(
        "sma-cross-market", title="Strategy", description="A built-in strategy or one registered by a strategy file."
    )
    start: FirstTick
    end: LastTick
    interval: FrameInterval = Field("1m", title="Tick every", description="Time between two ticks of the strategy.")
    # The costs are bounded as the run's config bounds them: a request is refused, not its preparation.
    percent_fee: CostPercent = Field(0.1, strict=True, title="Fee (%)", description="Fee per side, in percent.")
    percent_slippage: CostPercent = Field(
        0.1, strict=True, title="Slippage (%)", description="Adverse slippage per side, in percent."
    )
    position_entry_cost: PositionCost = Field(
        100.0, strict=True, title="Position cost", description="Money put into each position; gives the PnL in money."
    )
    starting_balance: StartingBalance = Field(
        10_000.0, title="Starting balance", description="Money in the account at the start, in the quote currency."
    )
    sizing: AccountSizing = Field(
        default_factory=FixedCostSizing,
        validate_default=True,  # the default fixed cost must fit the starting balance too
        title="Sizing",
        description="Money put into each position: the position cost, a share of the equity, or the equity risked "
        "at the stop loss.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        title="Strategy parameters",
        description="Parameters of a built-in strategy; those left out keep their defaults.",
    )

    @field_validator("candle_file")
    @classmethod
    def _candle_file_exists(cls, candle_file: str) -> str:
        candle_file = candle_file.strip()
        if candle_file and not Path(candle_file).expanduser().is_file():
            raise ValueError(f"{candle_file!r} is not a file")
        return candle_file

    @field_validator("symbol")
    @classmethod
    def _symbol_present(cls, symbol: str) -> str:
        symbol = symbol.strip()
        if not symbol:
            raise ValueError("symbol must not be empty")
        return symbol

    @field_validator("strategy_name")
    @classmethod
    def _known_strategy(cls, strategy_name: str) -> str:
        known = strategy_choices()
        return strategy_among(strategy_name, known, f"not found; known: {_quoted(known)}")

    _start_and_end_on_minutes = field_validator("start", "end")(utc_whole_minute)
    _end_after_the_start = field_validator("end")(end_after_start)

    @field_validator("sizing")
    @classmethod
    def _balance_pays_a_position(cls, sizing: AccountSizing, info: ValidationInfo) -> AccountSizing:
        balance, cost = info.data.get("starting_balance"), info.data.get("position_entry_cost")
        if isinstance(sizing, FixedCostSizing) and balance is not None and cost is not None and cost > balance:
            raise ValueError(
                f"a fixed cost of {cost:g} per position (position_entry_cost) is more than the starting_balance "
                f"{balance:g}: the run could not open a position"
            )
        return sizing

    @model_validator(mode="wrap")
    @classmethod
    def _params_fit_the_strategy(cls, data: Any, handler: ModelWrapValidatorHandler[BacktestRequest]) -> Any:
        # The parameters' model depends on another field, as do the exchange's check (a candle file names its own
        # exchange) and the seed's, so they are checked here, before the fields, and their errors located at their
        # field and reported together with those of the other fields.
        if not isinstance(data, dict):
            return handler(data)
        params = data.get("params", {})
        strategy_name = data.get("strategy_name", cls.model_fields["strategy_name"].default)
        errors: list[InitErrorDetails] = _check_source(data)
        if isinstance(params, dict) and isinstance(strategy_name, str):
            params, params_errors = _check_params(strategy_name, params)
            errors += params_errors
            data = {**data, "params": params}
        try:
            request = handler(data)
        except ValidationError as exc:
            errors = [_details(error) for error in exc.errors()] + errors
            request = None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return request


class PreparedBacktest(BaseModel):
    """A request made runnable: every name it refers to is registered, and the config to run with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(title="Symbol", description="The market traded.")
    strategy_name: str = Field(title="Strategy", description="The registered strategy to run.")
    exchange_name: str = Field(title="Exchange", description="The registered exchange.")
    frame_name: str = Field(title="Frame", description="The registered 1m frame of the request's period.")
    config: Config = Field(title="Config", description="The run's config: pass it to Backtest.run(config=...).")
    account: AccountSettings = Field(
        default_factory=AccountSettings, title="Account", description="The run's starting balance and sizing."
    )

    def run(self) -> BacktestRun:
        """Start the backtest (``Backtest.run`` with these names, config and account): an async iterator of results."""
        return Backtest.run(
            self.symbol,
            strategy_name=self.strategy_name,
            exchange_name=self.exchange_name,
            frame_name=self.frame_name,
            config=self.config,
            account=self.account,
        )


async def prepare_backtest(request: BacktestRequest) -> PreparedBacktest:
    """Register what ``request`` needs and is missing, check the period against the candles, and return what to run.

    The exchange is registered on demand: the demo exchange (``demo[seed=N]`` for another seed), a candle file's
    exchange under the request's exchange name, the candle store's candles as ``stored-<exchange>``. A built-in
    strategy is registered under its own name with the default parameters, and under a derived name such as
    ``sma-cross-market[fast=10,slow=30]`` (the parameters that differ from the defaults) otherwise; a strategy of
    that name already registered is used as it is. The period becomes a frame of the request's interval named after
    its first and last tick, so the same period reuses the same frame.

    Parameters
    ----------
    request
        A validated request.

    Returns
    -------
    PreparedBacktest
        The names to pass to ``Backtest.run``, the current config with the request's fee, slippage and position
        cost, for its ``config`` argument, and the request's starting balance and sizing, for its ``account``.
        Candles from the demo, a file or the store are asked for once: asking again gives the same answer.

    Raises
    ------
    PreparationError
        When the candles do not fit the request: a period that starts before the first usable start or ends after
        the last candle, a symbol the candle store does not hold, a candle file that cannot be read, an exchange
        name a candle file cannot take; ``field`` names the request's field.
    SchemaNotFoundError
        If the exchange or the strategy is neither registered nor built in (the registries changed since the
        request was validated).
    """
    exchange_name = _ensure_source(request)
    offline = _is_offline(exchange_name)
    config = Config.model_validate(
        {
            **get_config().model_dump(),
            "percent_fee": request.percent_fee,
            "percent_slippage": request.percent_slippage,
            "position_entry_cost": request.position_entry_cost,
            **({"get_candles_retry_count": 1} if offline else {}),
        }
    )
    span = await candle_span(exchanges.get(exchange_name, "prepare_backtest"), request.symbol)
    if span is not None:
        check_period(span, request.start, request.end, vwap_candles=config.avg_price_candles_count)
    strategy_name = ensure_strategy(request.strategy_name, request.params)
    frame_name = _ensure_frame(request.start, request.end, request.interval)
    return PreparedBacktest(
        symbol=request.symbol,
        strategy_name=strategy_name,
        exchange_name=exchange_name,
        frame_name=frame_name,
        config=config,
        account=AccountSettings(starting_balance=request.starting_balance, sizing=request.sizing),
    )


def _ensure_source(request: BacktestRequest) -> str:
    """Register the exchange the request's candles come from and return its name."""
    if request.candle_file:
        return _ensure_file_exchange(request.exchange_name, Path(request.candle_file).expanduser())
    if request.exchange_name == DEMO_EXCHANGE and request.seed:
        name = demo_exchange_name(request.seed)
        if not exchanges.has(name):
            add_exchange(make_demo_exchange(name, seed=request.seed))
        return name
    return ensure_exchange(request.exchange_name, source="prepare_backtest")


def _ensure_file_exchange(exchange_name: str, path: Path) -> str:
    if exchanges.has(exchange_name):
        candles = exchanges.get(exchange_name, "prepare_backtest").get_candles
        if isinstance(candles, CsvCandles) and candles.path.resolve() == path.resolve():
            return exchange_name
        raise PreparationError(
            "exchange_name",
            f'"{exchange_name}" is already an exchange; name the exchange of {path.name} differently',
        )
    return add_exchange(make_csv_exchange(exchange_name, path)).exchange_name


def _is_offline(exchange_name: str) -> bool:
    """Tell whether the exchange answers from data at hand (demo, file, store): a retry would get the same answer."""
    candles = exchanges.get(exchange_name, "prepare_backtest").get_candles
    return isinstance(candles, DemoCandles | CsvCandles | StoredCandles)


def ensure_exchange(exchange_name: str, *, source: str = "ensure_exchange") -> str:
    """Return ``exchange_name`` once it is registered, registering the demo or a ``stored-…`` exchange on demand.

    Raises
    ------
    SchemaNotFoundError
        If the exchange is neither registered, the demo exchange nor a ``stored-…`` name; ``source`` names the
        caller in the message.
    """
    registered = [schema.exchange_name for schema in list_exchanges()]
    if exchange_name in registered:
        return exchange_name
    stored = stored_source(exchange_name)
    if stored is not None:
        return add_exchange(make_stored_exchange(exchange_name, stored)).exchange_name
    if exchange_name != DEMO_EXCHANGE:
        raise SchemaNotFoundError(
            f'exchange "{exchange_name}" not found (source: {source}); registered: [{_quoted(registered)}]'
        )
    return add_exchange(make_demo_exchange(DEMO_EXCHANGE)).exchange_name


def ensure_strategy(strategy_name: str, params: dict[str, Any] | None = None) -> str:
    """Return the registered name to run ``strategy_name`` with ``params`` under, registering a built-in on demand.

    A built-in example (``ws.strategy_choices()``) with parameters is registered under a derived name such as
    ``sma-cross-market[fast=10,slow=30]``; a strategy registered by the user is returned as is.

    Raises
    ------
    SchemaNotFoundError
        If the name is neither registered nor a built-in.
    pydantic.ValidationError
        If ``params`` do not fit the built-in's parameter model.
    """
    params = params or {}
    registered = {schema.strategy_name for schema in list_strategies()}
    builtin = available_builtin_strategies().get(strategy_name)
    if builtin is None:
        if strategy_name in registered:
            return strategy_name
        raise SchemaNotFoundError(
            f'strategy "{strategy_name}" not found (source: prepare_backtest); '
            f"registered: [{_quoted(list(registered))}]"
        )
    name = _derived_name(builtin, params)
    if name not in registered:
        add_strategy(builtin.make(params).model_copy(update={"strategy_name": name}))
    return name


def _derived_name(builtin: BuiltinStrategy, params: dict[str, Any]) -> str:
    chosen = builtin.parse(params).model_dump()
    defaults = builtin.parse().model_dump()
    changed = [f"{key}={value}" for key, value in chosen.items() if value != defaults[key]]
    if not changed:
        return builtin.strategy_name
    name = f"{builtin.strategy_name}[{','.join(changed)}]"
    if len(name) > _MAX_NAME_LENGTH:
        # Too many changes to spell out: a digest keeps the name short and still one per set of parameters.
        digest = hashlib.sha256(",".join(changed).encode()).hexdigest()[:16]
        name = f"{builtin.strategy_name}[{digest}]"
    return name


def _ensure_frame(start: datetime, end: datetime, interval: FrameInterval = "1m") -> str:
    base = f"backtest-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}" + ("" if interval == "1m" else f"-{interval}")
    frames = {schema.frame_name: schema for schema in list_frames()}
    name, suffix = base, 1
    while (frame := frames.get(name)) is not None:
        if (frame.interval, frame.start_date, frame.end_date) == (interval, start, end):
            return name
        suffix += 1  # a frame of the same name but another period was registered by someone else
        name = f"{base}-{suffix}"
    return add_frame(FrameSchema(frame_name=name, interval=interval, start_date=start, end_date=end)).frame_name


def _check_source(data: dict[str, Any]) -> list[InitErrorDetails]:
    """Return the errors of the exchange (unknown without a candle file) and the seed (only the demo has one)."""
    exchange_name = data.get("exchange_name", DEMO_EXCHANGE)
    candle_file = data.get("candle_file", "")
    seed = data.get("seed", 0)
    with_file = isinstance(candle_file, str) and bool(candle_file.strip())
    errors: list[InitErrorDetails] = []
    if not is_name(exchange_name):
        return errors  # the field's own validation says why
    if with_file and (exchange_name == DEMO_EXCHANGE or stored_source(exchange_name) is not None):
        reason = ValueError(f'"{exchange_name}" is not a candle file\'s exchange; name its candles, e.g. "csv"')
        errors.append(_value_error("exchange_name", exchange_name, reason))
    elif not with_file:
        try:
            check_exchange_name(exchange_name)
        except ValueError as unknown:
            errors.append(_value_error("exchange_name", exchange_name, unknown))
    if isinstance(seed, int) and seed and (with_file or exchange_name != DEMO_EXCHANGE):
        source = f"the candle file {candle_file.strip()!r}" if with_file else f'"{exchange_name}"'
        reason = ValueError(f"seed {seed} applies to the demo exchange only, not to {source}")
        errors.append(_value_error("seed", seed, reason))
    return errors


def _value_error(field: str, value: Any, reason: ValueError) -> InitErrorDetails:
    return InitErrorDetails(type="value_error", loc=(field,), input=value, ctx={"error": reason})


def _check_params(strategy_name: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[InitErrorDetails]]:
    """Return ``params`` coerced by the strategy's model (only the keys given) and its errors under ``params``."""
    model = strategy_params_model(strategy_name)
    if model is None:
        if not params or strategy_name not in strategy_choices():
            return params, []  # an unknown strategy is reported on its own field
        reason = ValueError(f'strategy "{strategy_name}" takes no parameters, got {", ".join(sorted(params))}')
        return params, [_value_error("params", params, reason)]
    try:
        parsed = model.model_validate(params)
    except ValidationError as exc:
        return params, [_param_details(strategy_name, model, error) for error in exc.errors()]
    return parsed.model_dump(include=set(params)), []


def _param_details(strategy_name: str, model: type[BaseModel], error: ErrorDetails) -> InitErrorDetails:
    """Return an error of the strategy's parameters under ``params``; a name it does not take lists the ones it does."""
    if error["type"] != "extra_forbidden":
        return _details(error, ("params",))
    known = ", ".join(model.model_fields)
    reason = ValueError(f"{strategy_name} takes no such parameter; its parameters: {known}")
    return InitErrorDetails(
        type="value_error", loc=("params", *error["loc"]), input=error["input"], ctx={"error": reason}
    )


def _details(error: ErrorDetails, prefix: tuple[str, ...] = ()) -> InitErrorDetails:
    """Turn a reported error back into one that can be raised again, its location under ``prefix``."""
    details = InitErrorDetails(type=error["type"], loc=(*prefix, *error["loc"]), input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)
