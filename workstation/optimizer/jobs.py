"""One sweep job and its outcome: plain picklable values that cross into a worker process and back (SPEC §18.2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workstation.account.settings import AccountSettings
from workstation.config import Config
from workstation.schemas.exchange import ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.schemas.risk import RiskSchema
from workstation.schemas.strategy import StrategySchema

__all__ = ["CandleBlock", "OptimizerJob", "OptimizerJobResult", "build_strategy", "job_strategy_name"]


@dataclass(frozen=True)
class CandleBlock:
    """Where a sweep's workers find the 1m candles the sweep read once (`workstation.optimizer.shared_candles`).

    ``name`` is unique to the sweep; with ``in_shared_memory`` it names the block of shared memory holding the
    candles, otherwise (dask) the candles travel beside the job. They are ``length`` contiguous 1m candles of
    ``symbol`` from ``first_ms``.
    """

    name: str
    symbol: str
    first_ms: int
    length: int
    in_shared_memory: bool


@dataclass(frozen=True)
class OptimizerJob:
    """Everything a worker needs to run one backtest of a sweep in a process of its own.

    Every callable inside pickles by reference (module-level functions, objects of module-level classes), so the
    job costs a few hundred bytes however large the data behind the exchange.
    """

    optimizer_name: str
    index: int
    symbol: str
    params: dict[str, Any]
    strategy_factory: Callable[[dict[str, Any]], StrategySchema | Mapping[str, Any]]
    exchange: ExchangeSchema
    frame: FrameSchema
    risks: tuple[RiskSchema, ...]
    config: Config
    account: AccountSettings
    #: The sweep's shared candles, when it could read them.
    candles: CandleBlock | None = None

    @property
    def strategy_name(self) -> str:
        """The name the job's strategy runs under: ``{optimizer_name}#{index}``."""
        return job_strategy_name(self.optimizer_name, self.index)


@dataclass(frozen=True)
class OptimizerJobResult:
    """What a job reports back: the backtest statistics (no signal list) or the error that stopped it.

    ``statistics`` holds every field of ``BacktestStatistics`` except ``signal_list``, and the run's account figures
    under the account metrics' names (``net_profit``, ``max_drawdown_percent``, ...); ``closed_pnls`` the
    ``pnl_percentage`` of each closed signal in arrival order (walk-forward stitches them).
    """

    index: int
    statistics: dict[str, Any] | None
    closed_pnls: tuple[float, ...] = ()
    error: str | None = None
    error_type: str | None = None


def job_strategy_name(optimizer_name: str, index: int) -> str:
    """Return the strategy name of job ``index`` of a sweep: ``{optimizer_name}#{index}``."""
    return f"{optimizer_name}#{index}"


def build_strategy(
    factory: Callable[[dict[str, Any]], StrategySchema | Mapping[str, Any]], params: dict[str, Any], name: str
) -> StrategySchema:
    """Call the strategy factory with ``params`` and name its strategy ``name``.

    Parameters
    ----------
    factory
        The optimizer's ``strategy_factory``.
    params
        One parameter set of the grid (a fresh copy is passed, so the factory cannot alter the job's).
    name
        Replaces any ``strategy_name`` the factory chose.

    Returns
    -------
    StrategySchema
        The validated strategy.

    Raises
    ------
    TypeError
        If the factory returns neither a ``StrategySchema`` nor a mapping of its fields.
    pydantic.ValidationError
        If the returned fields do not make a valid strategy.
    """
    built = factory(dict(params))
    if isinstance(built, StrategySchema):
        return built.model_copy(update={"strategy_name": name})
    if isinstance(built, Mapping):
        return StrategySchema.model_validate({**built, "strategy_name": name})
    raise TypeError(
        f"strategy_factory returned {type(built).__name__}; expected a StrategySchema or a dict of its fields"
    )
