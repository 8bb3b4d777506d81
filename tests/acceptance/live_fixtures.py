"""Live scenarios of SPEC §19.4: a ReplayClock from 00:10, ticks of 60 s, ``until`` 02:59, exchange ``ladder``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import workstation as ws

from .fixtures import EXCHANGE, STRATEGY, SYMBOL, OneShot, add_strategy, at, ladder, signal


@dataclass
class LiveRun:
    """What a live scenario observed: yielded results, every live result, partial events, errors."""

    results: list[Any] = field(default_factory=list)
    ticks: list[Any] = field(default_factory=list)
    partials: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)

    def listen(self) -> None:
        ws.listen_signal_live(self.ticks.append)
        ws.listen_partial_profit(self.partials.append)
        ws.listen_partial_loss(self.partials.append)
        ws.listen_error(self.errors.append)

    def actions(self) -> list[str]:
        return [result.action for result in self.results]


def register_live(
    sig: Any,
    *,
    steps: Mapping[int, float] | None = None,
    wicks: Mapping[int, tuple[float, float]] | None = None,
    callbacks: Mapping[str, Any] | None = None,
    start: int = 10,
    exchange_name: str = EXCHANGE,
) -> tuple[ws.ReplayClock, OneShot]:
    """Register the replayed ``ladder`` exchange and ``one-shot``; return the clock (at ``start``) and strategy."""
    clock = ws.ReplayClock(at(start))
    ws.add_exchange(ws.make_replay_exchange(exchange_name, ladder(steps=steps, wicks=wicks), clock))
    one_shot = OneShot(signal(sig) if isinstance(sig, Mapping) else sig)
    add_strategy(one_shot, callbacks=callbacks)
    return clock, one_shot


async def run_live(clock: ws.ReplayClock, run: LiveRun, *, until: int = 179) -> LiveRun:
    """Consume ``ws.Live.run`` to its end, appending the yielded results to ``run``."""
    async for result in ws.Live.run(
        SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(until)
    ):
        run.results.append(result)
    return run
