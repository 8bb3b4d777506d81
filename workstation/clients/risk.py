"""Risk profiles (SPEC §9): ``ClientRisk`` per name and mode, ``MergeRisk`` for several, ``NoRisk`` for none."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from workstation.clients.calls import ErrorSink, call_callback, call_maybe_async, end_run
from workstation.errors import RiskRejected
from workstation.models.events import RiskEvent
from workstation.models.risk import RiskCheckArgs, RiskCheckPayload, RiskPosition
from workstation.schemas.risk import RiskSchema, RiskValidation


class Risk(Protocol):
    """What a strategy needs from its risk: check, add, remove."""

    async def check_signal(self, args: RiskCheckArgs) -> bool:
        """Run the validations; True lets the signal go ahead."""
        ...

    async def add_signal(self, key: str, position: RiskPosition) -> None:
        """Count an opened position under ``key`` (its strategy's :func:`position_key`)."""
        ...

    async def remove_signal(self, key: str) -> None:
        """Forget the position counted under ``key``."""
        ...


def position_key(strategy_name: str, symbol: str, run_id: int | None = None) -> str:
    """Return the key a strategy's open position is counted under: ``strategy_name:symbol``, and the run.

    Live has one run per pair; backtests of one pair may run side by side (two periods, a walker beside a run tab),
    so each counts its position under its own run id and never removes another's.
    """
    return f"{strategy_name}:{symbol}" if run_id is None else f"{strategy_name}:{symbol}#{run_id}"


class ClientRisk:
    """The open positions of every strategy and symbol using one risk name in one mode, and its validations."""

    def __init__(
        self,
        schema: RiskSchema,
        *,
        backtest: bool,
        emit_rejection: Callable[[RiskEvent], None],
        on_validation_error: ErrorSink,
        on_callback_error: ErrorSink,
    ) -> None:
        self.schema = schema
        self.risk_name = schema.risk_name
        self.backtest = backtest
        self._emit_rejection = emit_rejection
        self._on_validation_error = on_validation_error
        self._on_callback_error = on_callback_error
        # How a run ended by this profile's code names it (``StrategyAbortedError``).
        self._owner = f'risk "{self.risk_name}"'
        self.positions: dict[str, RiskPosition] = {}
        #: Live only: load the positions persisted before a restart, and save the whole list after each change.
        self.load: Callable[[], Awaitable[list[RiskPosition] | None]] | None = None
        self.save: Callable[[list[RiskPosition]], Awaitable[None]] | None = None
        self._loaded = False
        self._loading = asyncio.Lock()

    async def wait_for_init(self) -> None:
        """Restore the live positions once; concurrent callers wait for the same load (backtest: nothing)."""
        if self._loaded or self.load is None:
            return
        async with self._loading:
            if self._loaded:
                return
            stored = await self.load()
            for position in stored or []:
                self.positions[position_key(position.strategy_name, position.symbol)] = position
            self._loaded = True

    @property
    def active_position_count(self) -> int:
        """Number of open positions counted by this profile."""
        return len(self.positions)

    async def check_signal(self, args: RiskCheckArgs) -> bool:
        """Run the validations in order; the first rejection stops them and is reported on ``risk``."""
        await self.wait_for_init()
        if not self.schema.validations:
            await self._callback("on_allowed", args)
            return True
        positions = list(self.positions.values())
        payload = RiskCheckPayload(
            **args.model_dump(), active_position_count=len(positions), active_positions=positions
        )
        reason: str | None = None
        for number, validation in enumerate(self.schema.validations, start=1):
            validate = validation.validate if isinstance(validation, RiskValidation) else validation
            note = validation.note if isinstance(validation, RiskValidation) else ""
            try:
                verdict = await call_maybe_async(validate, payload)
            except RiskRejected as rejected:
                reason = str(rejected)
                break
            except Exception as exc:
                self._on_validation_error(f"risk {self.risk_name} validation #{number}", exc)
                reason = str(exc)
                break
            except BaseException as raised:
                end_run(raised, where=f"validation #{number}", strategy_name=args.strategy_name, owner=self._owner)
            if verdict is False:
                reason = note or f"rejected by validation #{number}"
                break
        if reason is None:
            await self._callback("on_allowed", args)
            return True
        await self._callback("on_rejected", args)
        self._emit_rejection(
            RiskEvent(
                symbol=args.symbol,
                strategy_name=args.strategy_name,
                exchange_name=args.exchange_name,
                risk_name=self.risk_name,
                stage=args.stage,
                current_price=args.current_price,
                timestamp=args.timestamp,
                active_position_count=len(positions),
                reason=reason,
                backtest=self.backtest,
                signal_id=args.signal.id if args.signal is not None else None,
            )
        )
        return False

    async def add_signal(self, key: str, position: RiskPosition) -> None:
        """Count an opened position under ``key`` (live: persisted, rolled back if that fails)."""
        await self.wait_for_init()
        previous = self.positions.get(key)
        self.positions[key] = position
        try:
            await self._save()
        except BaseException:
            if previous is None:
                del self.positions[key]
            else:
                self.positions[key] = previous
            raise

    async def remove_signal(self, key: str) -> None:
        """Forget the position counted under ``key`` (missing is fine; live: persisted)."""
        await self.wait_for_init()
        previous = self.positions.pop(key, None)
        if previous is None:
            return
        try:
            await self._save()
        except BaseException:
            self.positions[key] = previous
            raise

    async def _save(self) -> None:
        if self.save is not None:
            await self.save(list(self.positions.values()))

    async def _callback(self, name: str, args: RiskCheckArgs) -> None:
        callback = getattr(self.schema.callbacks, name)
        if callback is None:
            return
        await call_callback(
            callback,
            args.symbol,
            args,
            where=name,
            on_error=self._on_callback_error,
            strategy_name=args.strategy_name,
            owner=self._owner,
        )


class MergeRisk:
    """Several profiles as one: checked in order, rejected at the first that rejects; adds go to all."""

    def __init__(self, members: Sequence[Risk]) -> None:
        self.members = list(members)

    async def check_signal(self, args: RiskCheckArgs) -> bool:
        """Ask each member in order; later members are not asked after a rejection."""
        for member in self.members:
            if not await member.check_signal(args):
                return False
        return True

    async def add_signal(self, key: str, position: RiskPosition) -> None:
        """Count the position in every member."""
        for member in self.members:
            await member.add_signal(key, position)

    async def remove_signal(self, key: str) -> None:
        """Forget the position in every member."""
        for member in self.members:
            await member.remove_signal(key)


class NoRisk:
    """The risk of a strategy without risk profiles: allows everything, counts nothing."""

    async def check_signal(self, args: RiskCheckArgs) -> bool:
        """Allow."""
        return True

    async def add_signal(self, key: str, position: RiskPosition) -> None:
        """Count nothing."""

    async def remove_signal(self, key: str) -> None:
        """Forget nothing."""
