"""The ``workstation`` command: in-process through ``main([...])``, and once as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from data_paths import BTC_1D_CSV as PEER_1D_CSV

from workstation.cli import main, package_version
from workstation.cli_backtest import builtin_strategies

DEMO_DAYS = ["--exchange", "demo", "--symbol", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-03"]
# The peer's 1-day frame (SPEC §20.2): first candle + 60 min to last candle - 360 min.
PEER_1D_FRAME = ["--csv", str(PEER_1D_CSV), "--start", "2024-01-01T01:00", "--end", "2024-01-01T17:59"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def strategy_file(folder: Path, name: str, source: str) -> str:
    """Write the strategy file ``name`` in ``folder`` holding ``source`` (dedented) and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def test_demo_backtest_prints_the_report_and_a_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "backtest", *DEMO_DAYS, "--strategy", "sma-cross-market")

    assert code == 0, err
    assert out.startswith("# Backtest Report: sma-cross-market (BTCUSDT)\n")
    assert "**Total signals:** " in out
    assert "**Total signals:** 0" not in out
    assert err.startswith("\r[") and err.endswith("\n")
    assert "100.0%  2024-01-03 23:59 UTC  4,320/4,320 ticks" in err
    assert "Traceback" not in err


def test_backtest_on_the_peer_csv_gives_the_peer_trades(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "backtest", *PEER_1D_FRAME, "--strategy", "sma-cross-limit")

    assert code == 0, err
    # backtest-kit 19.5's report: its limit order cancelled is no statistic.
    assert "**Total signals:** 5\n**Win rate:** 40.00% (2W / 3L) (higher is better)\n" in out
    assert "**Total PNL:** -2.08% " in out  # SPEC §20.3: -2.083759


def test_a_strategy_file_registers_its_own_strategy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tiny = strategy_file(
        tmp_path,
        "tiny.py",
        """
        import workstation as ws


        async def get_signal(symbol, when):
            price = await ws.get_average_price(symbol)
            if when.hour % 6:
                return None
            return ws.Signal(
                position="long",
                price_take_profit=price * 1.01,
                price_stop_loss=price * 0.99,
                minute_estimated_time=60,
            )


        ws.add_strategy(strategy_name="tiny", interval="1h", get_signal=get_signal)
        """,
    )
    code, out, err = run_cli(capsys, "backtest", *DEMO_DAYS, "--strategy-file", tiny, "--strategy", "tiny")

    assert code == 0, err
    assert out.startswith("# Backtest Report: tiny (BTCUSDT)\n")
    assert "**Total signals:** 0" not in out


def test_a_strategy_file_may_register_the_exchange_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    own_exchange = strategy_file(
        tmp_path,
        "own_exchange.py",
        """
        import workstation as ws
        from workstation.examples.sma_cross import make_strategy
        from workstation.exchanges.demo import make_demo_exchange

        ws.add_exchange(make_demo_exchange("other-demo", seed=7))
        ws.add_strategy(make_strategy({"variant": "limit"}).model_copy(update={"strategy_name": "mine"}))
        """,
    )
    args = ["--strategy-file", own_exchange, "--strategy", "mine", "--exchange", "other-demo"]
    code, out, err = run_cli(capsys, "backtest", *args, "--start", "2024-01-01", "--end", "2024-01-02")

    assert code == 0, err
    assert out.startswith("# Backtest Report: mine (BTCUSDT)\n")


def test_a_strategy_file_that_fails_is_reported_with_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = strategy_file(tmp_path, "broken.py", "import workstation as ws\n\nws.add_strategy(undefined_name)\n")
    code, out, err = run_cli(capsys, "backtest", *DEMO_DAYS, "--strategy-file", broken)

    assert (code, out) == (2, "")
    assert err == (
        f"workstation backtest: error: --strategy-file: {broken!r} raised NameError: "
        "name 'undefined_name' is not defined (line 3)\n"
    )


def test_a_strategy_file_must_register_a_strategy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = strategy_file(tmp_path, "empty.py", "import workstation as ws\n")
    code, _, err = run_cli(capsys, "backtest", *DEMO_DAYS, "--strategy-file", empty)

    assert code == 2
    assert "--strategy-file" in err and "registered no strategy" in err


@pytest.mark.parametrize("name", sorted(builtin_strategies()))
def test_every_builtin_strategy_is_named_as_listed(name: str) -> None:
    assert builtin_strategies()[name]().strategy_name == name


BAD_ARGUMENTS = [
    pytest.param(["--start", "2024-13-01", "--end", "2024-02-01"], "--start", id="bad-date"),
    pytest.param(["--start", "2024-01-01", "--end", "2024-01-01T25:00"], "--end", id="bad-datetime"),
    pytest.param(["--start", "01/02/2024", "--end", "2024-01-03"], "--start", id="not-iso"),
    pytest.param(["--start", "2024-02-01", "--end", "2024-01-01"], "--end", id="end-before-start"),
    pytest.param(["--start", "2024-01-01", "--end", "2999-01-01"], "--end", id="future-end"),
    pytest.param(["--start", "2019-06-01", "--end", "2019-07-01"], "--start", id="demo-before-2020"),
    pytest.param(
        ["--exchange", "binance", "--start", "2024-01-01", "--end", "2024-01-02"], "--exchange", id="exchange"
    ),
    pytest.param(["--strategy", "nope", "--start", "2024-01-01", "--end", "2024-01-02"], "--strategy", id="strategy"),
    pytest.param(["--csv", "missing.csv", "--start", "2024-01-01", "--end", "2024-01-02"], "--csv", id="csv-missing"),
    pytest.param(
        ["--csv", str(PEER_1D_CSV), "--start", "2024-01-01T01:00", "--end", "2024-01-02"], "--end", id="csv-range"
    ),
    pytest.param([*PEER_1D_FRAME, "--exchange", "a:b"], "--exchange", id="csv-exchange-name"),
    pytest.param([*PEER_1D_FRAME, "--seed", "3"], "--seed", id="seed-with-csv"),
    pytest.param(["--strategy-file", "missing.py", "--start", "2024-01-01", "--end", "2024-01-02"], "--strategy-file"),
    pytest.param(["--interval", "7m", "--start", "2024-01-01", "--end", "2024-01-02"], "--interval", id="interval"),
    pytest.param(["--seed", "x", "--start", "2024-01-01", "--end", "2024-01-02"], "--seed", id="seed-not-int"),
    pytest.param(["--symbol", " ", "--start", "2024-01-01", "--end", "2024-01-02"], "--symbol", id="symbol"),
    pytest.param(["--start", "2024-01-01"], "--end", id="end-missing"),
    pytest.param(["--start", "2024-01-01", "--end", "2024-01-02", "--bogus"], "--bogus", id="unknown-option"),
]


@pytest.mark.parametrize(("args", "flag"), BAD_ARGUMENTS)
def test_a_bad_argument_exits_2_with_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    code, out, err = run_cli(capsys, "backtest", *args)

    assert (code, out) == (2, "")
    assert err.startswith("workstation backtest: error: ") and err.count("\n") == 1, err
    assert flag in err


def test_a_bad_date_message_quotes_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run_cli(capsys, "backtest", "--start", "2024-13-01", "--end", "2024-02-01")

    assert err == "workstation backtest: error: --start: '2024-13-01' is not a date (YYYY-MM-DD)\n"


def test_an_engine_error_exits_1_with_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    feed_down = strategy_file(
        tmp_path,
        "feed_down.py",
        """
        import workstation as ws


        async def get_candles(symbol, interval, since, limit):
            raise ConnectionError("feed down")


        ws.set_config(get_candles_retry_count=1)
        ws.add_exchange(exchange_name="down", get_candles=get_candles)
        ws.add_strategy(strategy_name="idle", interval="1m", get_signal=lambda symbol, when: None)
        """,
    )
    args = ["--strategy-file", feed_down, "--exchange", "down", "--strategy", "idle"]
    code, out, err = run_cli(capsys, "backtest", *args, "--start", "2024-01-01T00:00", "--end", "2024-01-01T03:00")

    assert (code, out) == (1, "")
    last_line = err.splitlines()[-1]
    assert last_line == "workstation backtest: error: ConnectionError: feed down"
    assert [line for line in err.splitlines() if "error" in line] == [last_line]
    assert "Traceback" not in err


def test_the_model_s_command_line_without_the_window_says_how_to_start_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys)

    assert (code, err) == (0, "")
    assert "start it with the `workstation` command" in out
    assert "workstation backtest --help" in out


def test_the_bare_command_hands_the_window_options_over(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from workstation.cli import WindowOptions

    opened: list[WindowOptions] = []

    def open_window(options: WindowOptions) -> int:
        opened.append(options)
        return 7

    assert main(["--screenshot", str(tmp_path / "w.png"), "--run-demo"], open_window=open_window) == 7
    assert opened == [WindowOptions(screenshot=tmp_path / "w.png", run_demo=True, theme=None)]


def test_window_options_with_a_command_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--run-demo", "backtest", *DEMO_DAYS, "--strategy", "sma-cross-market")

    assert code == 2
    assert err.strip() == (
        "workstation backtest: error: --screenshot, --run-demo and --theme open the window: give no command"
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")

    assert (code, out) == (0, f"workstation {package_version()}\n")


def test_the_module_runs_as_a_command_without_a_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "workstation.cli", "backtest", "--start", "2024-03-01", "--end", "2024-03-02"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )

    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.returncode == 0
    assert completed.stdout.startswith("# Backtest Report: sma-cross-market (BTCUSDT)\n")
