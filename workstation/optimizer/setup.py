"""Everything checked and gathered before a sweep submits its first job (SPEC §18.1, §18.4).

The strategy factory also runs here, once per job, to learn which risk profiles the strategy names: those schemas
travel with the job. Its return value stays here; the worker builds its own strategy from the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workstation import registry
from workstation.config import Config, get_config
from workstation.optimizer.grid import params_at
from workstation.optimizer.jobs import (
    CandleBlock,
    OptimizerJob,
    OptimizerJobResult,
    build_strategy,
    job_strategy_name,
)
from workstation.optimizer.references import check_exchange, check_frame, check_reference, check_risk
from workstation.schemas.exchange import ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.schemas.optimizer import OptimizerSchema
from workstation.schemas.risk import RiskSchema
from workstation.services.connections import risk_members

__all__ = ["SweepSetup", "check_sweep"]


@dataclass
class SweepSetup:
    """A sweep's schemas, config snapshot, the risk profiles already checked for workers and its shared candles."""

    optimizer: OptimizerSchema
    symbol: str
    exchange: ExchangeSchema
    frame: FrameSchema
    config: Config
    main_allowed: bool
    source: str
    _checked_risks: dict[str, RiskSchema] = field(default_factory=dict)
    #: Where the workers find the candles the sweep shares, while it shares them.
    candles: CandleBlock | None = None

    @property
    def optimizer_name(self) -> str:
        """The optimizer's name."""
        return self.optimizer.optimizer_name

    def job(self, index: int, frame: FrameSchema | None = None) -> OptimizerJob | OptimizerJobResult:
        """Build job ``index`` (on ``frame``, by default the optimizer's), or its error when it cannot run.

        A strategy the factory cannot build, or one naming an unknown risk profile or a risk profile with a
        callable workers cannot import, is an error of that job only; the sweep goes on.
        """
        try:
            return self.strict_job(index, frame)
        except Exception as exc:
            return OptimizerJobResult(
                index=index, statistics=None, error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__
            )

    def strict_job(self, index: int, frame: FrameSchema | None = None) -> OptimizerJob:
        """Build job ``index`` like :meth:`job`, raising whatever keeps it from running."""
        params = params_at(self.optimizer.grid, index)
        strategy = build_strategy(
            self.optimizer.strategy_factory, params, job_strategy_name(self.optimizer_name, index)
        )
        risks = tuple(self._risk(name) for name in risk_members(strategy.risk_name, strategy.risk_list))
        return OptimizerJob(
            optimizer_name=self.optimizer_name,
            index=index,
            symbol=self.symbol,
            params=params,
            strategy_factory=self.optimizer.strategy_factory,
            exchange=self.exchange,
            frame=frame or self.frame,
            risks=risks,
            config=self.config,
            account=self.optimizer.account,
            candles=self.candles,
        )

    def check_risks(self, index: int) -> None:
        """Check the risk profiles the strategy of job ``index`` names; a factory that fails is the job's error.

        Raises
        ------
        SchemaNotFoundError
            If a named risk profile is not registered.
        OptimizerError
            If a callable of one cannot be pickled by reference.
        """
        try:
            strategy = build_strategy(
                self.optimizer.strategy_factory,
                params_at(self.optimizer.grid, index),
                job_strategy_name(self.optimizer_name, index),
            )
        except Exception:
            return
        for name in risk_members(strategy.risk_name, strategy.risk_list):
            self._risk(name)

    def _risk(self, name: str) -> RiskSchema:
        checked = self._checked_risks.get(name)
        if checked is None:
            checked = registry.risks.get(name, self.source)
            check_risk(checked, main_allowed=self.main_allowed)
            self._checked_risks[name] = checked
        return checked


def check_sweep(
    symbol: str, optimizer_name: str, *, main_allowed: bool, source: str, first_index: int | None
) -> SweepSetup:
    """Look up and check everything a sweep of ``symbol`` needs, before any job starts.

    Parameters
    ----------
    symbol
        One of the optimizer's ``symbols``.
    optimizer_name
        A registered optimizer.
    main_allowed
        Whether callables defined in ``__main__`` can reach the workers (dask: yes; a process pool: no).
    source
        The caller, named in a ``SchemaNotFoundError``.
    first_index
        The sweep's first job, whose strategy is built here so that its risk profiles are checked too; None when
        the sweep has no job.

    Returns
    -------
    SweepSetup
        With a snapshot of the current config.

    Raises
    ------
    SchemaNotFoundError
        If the optimizer, its exchange or frame, or a risk profile of the first job's strategy is not registered.
    ValueError
        If ``symbol`` is not one of the optimizer's symbols.
    OptimizerError
        If a callable a worker needs cannot be pickled by reference (SPEC §18.4).
    """
    optimizer = registry.optimizers.get(optimizer_name, source)
    if symbol not in optimizer.symbols:
        known = ", ".join(repr(known) for known in optimizer.symbols)
        raise ValueError(f'symbol {symbol!r} is not one of the symbols of optimizer "{optimizer_name}": [{known}]')
    exchange = registry.exchanges.get(optimizer.exchange_name, source)
    frame = registry.frames.get(optimizer.frame_name, source)
    check_reference(
        optimizer.strategy_factory, "strategy_factory", "optimizer", optimizer_name, main_allowed=main_allowed
    )
    check_exchange(exchange, main_allowed=main_allowed)
    check_frame(frame, main_allowed=main_allowed)
    setup = SweepSetup(optimizer, symbol, exchange, frame, get_config(), main_allowed, source)
    if first_index is not None:
        setup.check_risks(first_index)
    return setup
