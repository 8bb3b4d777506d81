"""Every example strategy runs a short backtest on the demo exchange in a fresh interpreter (DESIGN §3.16).

A subprocess sees what a user sees: an import-time problem, a traceback logged by the engine for a failing
``get_signal`` or an invalid signal, or a crash all show up on stderr, and any ``Traceback`` there fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

EXAMPLES = ["breakout", "rsi_reversion", "sma_cross"]

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import sys
    from collections import Counter
    from datetime import UTC, datetime

    import workstation as ws
    from workstation.examples.{module} import make_strategy
    from workstation.exchanges import make_demo_exchange


    async def main() -> int:
        ws.add_exchange(make_demo_exchange())
        ws.add_frame(
            frame_name="smoke",
            interval="1m",
            start_date=datetime(2024, 3, 1, tzinfo=UTC),
            end_date=datetime(2024, 3, 4, tzinfo=UTC),
        )
        strategy = ws.add_strategy(make_strategy(None))
        errors = []
        ws.listen_error(errors.append)
        actions = Counter()
        async for result in ws.Backtest.run(
            "BTCUSDT", strategy_name=strategy.strategy_name, exchange_name="demo", frame_name="smoke"
        ):
            actions[result.action] += 1
        for error in errors:
            print(f"error event from {{error.source}}: {{error.message}}", file=sys.stderr)
        print(f"{{strategy.strategy_name}}: {{dict(sorted(actions.items()))}}")
        return 1 if errors else 0


    sys.exit(asyncio.run(main()))
    """
)


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_backtests_on_the_demo_exchange(module: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(module=module)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.returncode == 0, completed.stderr
    assert "closed" in completed.stdout, completed.stdout
