"""The live engine's side of the broker contract: calling a hook, reading its verdict, the retry budgets (19.5).

A live run with a broker asks it before it changes a position (the *gates*) and on every tick while it holds one
(the *checks*); this module holds what those calls share: :func:`call_hook` reads what a hook raised as 19.5's
verdict, the budget rules say when a failure is retried and when it is final, and :class:`BrokerGateError` is the
error event every failure is reported as, naming the strategy, the symbol, the signal, the gate and the attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

from workstation.brokers.errors import Channel, Verdict, verdict_of
from workstation.errors import WorkstationError

if TYPE_CHECKING:
    from workstation.clients.position import PositionState

#: The hooks of :class:`~workstation.brokers.broker.Broker` in the words of the error events.
GateName = Literal[
    "open schedule",
    "open active",
    "close",
    "check schedule",
    "check active",
    "partial close",
    "average buy",
    "level move",
    "schedule cancelled",
]

#: What each hook was about, in the trader's words (the blotter's note of a broker's failure).
GATE_WORDS: dict[str, str] = {
    "open schedule": "limit order",
    "open active": "entry",
    "close": "close",
    "check schedule": "check of the limit order",
    "check active": "check of the position",
    "partial close": "partial close",
    "average buy": "average buy",
    "level move": "move of the stop or take profit",
    "schedule cancelled": "cancel of the limit order",
}

#: The position commands a broker confirms before they change the position.
ChangeKind = Literal["partial_profit", "partial_loss", "average_buy", "trailing_stop", "trailing_take", "breakeven"]

P = TypeVar("P")


class BrokerGateError(WorkstationError):
    """A broker gate or check failed; the message says which, of which signal, at which attempt, and what follows."""

    def __init__(
        self,
        *,
        gate: GateName,
        strategy_name: str,
        symbol: str,
        signal_id: str,
        attempt: int,
        outcome: str,
        cause: BaseException | None = None,
    ) -> None:
        said = "" if cause is None else f": {type(cause).__name__}: {cause}"
        super().__init__(
            f'broker {gate} of signal "{signal_id}" ({strategy_name} on {symbol}), attempt {attempt}, {outcome}{said}'
        )
        #: What failed in the trader's words, less what changes from one signal or try to the next: the same for
        #: every signal refused alike (a halted desk refuses each entry of a run with the same reason), so a view
        #: can count repeats. The cause's own words, without its class: the message above keeps that for the log.
        because = "" if cause is None else f" — {cause}"
        self.reason = f"{GATE_WORDS[gate].capitalize()} {outcome}{because}"
        self.gate = gate
        self.strategy_name = strategy_name
        self.symbol = symbol
        self.signal_id = signal_id
        self.attempt = attempt


class ProposedChange(NamedTuple):
    """A position command about to change the open position: what the broker is asked to confirm first.

    ``state`` is a copy of the position with the change made (the real one is changed only once confirmed);
    ``held`` the position as it is.
    """

    kind: ChangeKind
    held: PositionState
    state: PositionState
    price: float
    #: When the command was issued (epoch ms).
    when: int
    #: A partial close: the % of the money held it closes; an average buy: None.
    percent: float | None = None
    #: A partial close: the money it closes; an average buy: the money it adds.
    cost: float | None = None


#: Asks the broker to confirm a position command; False: refused (reported), nothing may change.
ConfirmChange = Callable[[ProposedChange], Awaitable[bool]]


async def call_hook(
    hook: Callable[[P], Awaitable[None]], payload: P, channel: Channel
) -> tuple[Verdict, Exception | None]:
    """Call ``hook`` with ``payload``; return 19.5's verdict of the outcome and the error it raised (if any).

    Only an ``Exception`` is an outcome: a cancellation or an exit goes on up, as it would without a broker.
    """
    try:
        await hook(payload)
    except Exception as exc:
        return verdict_of(exc, channel), exc
    return "confirmed", None


def open_exhausted(tries: int, budget: int) -> bool:
    """Tell whether an open whose ``tries`` all failed transiently is given up (``order_open_retry_attempts``).

    A budget of 0 is 19.5's legacy behaviour: no retry, the open is dropped at once.
    """
    return budget <= 0 or tries > budget


def close_forced(tries: int, budget: int) -> bool:
    """Tell whether a close whose ``tries`` all failed transiently is forced (``order_close_retry_attempts``).

    A budget of 0 is 19.5's legacy behaviour: the close is tried again forever.
    """
    return budget > 0 and tries > budget


def check_given_up(failures: int, budget: int) -> bool:
    """Tell whether ``failures`` checks failed in a row are too many (``order_check_retry_attempts``).

    A budget of 0 is 19.5's legacy behaviour: the first failure is final.
    """
    return budget <= 0 or failures > budget
