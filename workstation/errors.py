"""The exception hierarchy of the engine: every error the engine raises on purpose is a ``WorkstationError``."""

from __future__ import annotations


class WorkstationError(Exception):
    """Base class of every error the workstation raises deliberately."""


class DuplicateSchemaError(WorkstationError, ValueError):
    """A schema was registered under a name that is already taken."""


class SchemaNotFoundError(WorkstationError, LookupError):
    """A referenced schema name is not registered."""


class ContextError(WorkstationError, RuntimeError):
    """A strategy helper was used outside ``get_signal``."""


class SignalValidationError(WorkstationError, ValueError):
    """A signal breaks a business rule (reported on the ``error`` stream, never raised to the user)."""


class CandleAnomalyError(WorkstationError, ValueError):
    """Candle data failed the anomaly checks."""


class CandleWindowError(WorkstationError, ValueError):
    """The exchange returned an incomplete candle window."""


class RiskRejected(WorkstationError):
    """Raise from a risk validation to reject a signal deliberately; the message is the reason."""


class SizingError(WorkstationError, ValueError):
    """Position sizing input is invalid."""


class RunAlreadyActiveError(WorkstationError, RuntimeError):
    """A run of the same ``symbol:strategy_name`` is already active in the same mode."""


class RunNotFoundError(WorkstationError, LookupError):
    """No active run of the named ``symbol:strategy_name``: a command for it has nothing to act on."""


class PersistedStateConflictError(WorkstationError):
    """Live restore found persisted state that belongs to another exchange."""


class PreparationError(WorkstationError, ValueError):
    """A validated request cannot be prepared to run; ``field`` names the request field the problem concerns.

    The message is ``"<field>: <reason>"``; a form shows ``reason`` next to the field, the command line puts the
    field's option in front of it.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class LiveRunFailedError(WorkstationError, RuntimeError):
    """A live run stopped because its ticks kept failing the same way."""


class StateInUseError(WorkstationError, RuntimeError):
    """Another process trades the same pair from the same live state store; the message names that process."""


class OptimizerError(WorkstationError):
    """A parameter sweep cannot be started."""


class StrategyAbortedError(WorkstationError, RuntimeError):
    """User code raised what is not an ``Exception``: its run ends with this error, the application goes on.

    ``SystemExit`` (``sys.exit()``), ``KeyboardInterrupt``, a ``CancelledError`` the code raised itself or any
    other ``BaseException`` would otherwise end the program or leave the run's task dead without an outcome.
    ``strategy_name`` names the strategy whose run ended ("" when the code does not belong to one strategy's run),
    ``where`` the code that raised (``get_signal``, ``on_open``, ``validation #1``, ...).
    """

    def __init__(self, message: str, *, strategy_name: str = "", where: str = "") -> None:
        super().__init__(message)
        self.strategy_name = strategy_name
        self.where = where

    @classmethod
    def of(cls, raised: BaseException, *, strategy_name: str, where: str, owner: str = "") -> StrategyAbortedError:
        """Describe ``raised``, thrown by ``where`` of ``owner`` (by default the strategy ``strategy_name``).

        ``owner`` names code that is not the strategy's own, as ``risk "max3"`` or ``frame "2024"``.
        """
        what = type(raised).__name__ + (f": {raised}" if str(raised) else "")
        owner = owner or f'strategy "{strategy_name}"'
        return cls(
            f"{owner} raised {what} in {where}; its run was ended",
            strategy_name=strategy_name,
            where=where,
        )
