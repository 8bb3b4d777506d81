"""``workstation backtest``: run one strategy over a period headlessly and print its markdown report.

The arguments fill a ``ws.BacktestRequest`` and ``ws.prepare_backtest`` prepares it, as the window's form does. The
exchange is the offline ``demo`` exchange, the candle store's candles (``stored-<exchange>``), a candle CSV
(``--csv``), or any exchange a ``--strategy-file`` registers. Strategies are the built-in examples (imported only
when chosen) or those a ``--strategy-file`` registers. Every argument is checked before anything runs; a bad one
raises `ArgumentProblem`, whose message starts with the argument's flag. A failure of the engine during the run, or
a run whose strategy raised, raises `RunFailed`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any, TextIO

import pydantic
from pydantic_core import ErrorDetails

import workstation as ws
from workstation import cli_report
from workstation.cli_args import ArgumentProblem
from workstation.errors import WorkstationError
from workstation.examples.catalogue import available_builtin_strategies
from workstation.models.events import BacktestProgress, ErrorEvent
from workstation.schemas.strategy import StrategySchema
from workstation.timeutil import FRAME_INTERVAL_MINUTES, iso

DESCRIPTION = """\
Run a strategy over a period without the GUI: a progress bar on stderr, the markdown report on stdout (the account
first: net profit, return, max drawdown in money and in % of the equity peak).

Dates are UTC, YYYY-MM-DD or ISO datetimes (YYYY-MM-DDTHH:MM[:SS], optionally with Z or an offset);
an --end given as a bare date includes that whole day (up to 23:59).

A --strategy-file is a Python file that registers what it needs itself, for example:

    import workstation as ws
    ws.add_strategy(strategy_name="my-strategy", interval="5m", get_signal=my_get_signal)

then `--strategy my-strategy` selects it. It may also register risks and exchanges (chosen with --exchange).
"""

DEMO_EXCHANGE = "demo"
DEFAULT_CSV_EXCHANGE = "csv"

_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PROGRESS_PERIOD_SECONDS = 0.1
_PROGRESS_WIDTH = 30


class RunFailed(Exception):
    """The engine failed during the run; the message is the one line to show."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workstation backtest`` to ``parser``.

    Parameters
    ----------
    parser
        The sub-command's parser.
    """
    parser.add_argument(
        "--exchange",
        metavar="NAME",
        help=f"'{DEMO_EXCHANGE}' (synthetic candles since 2020-01-01), 'stored-<exchange>' (the candle store's "
        f"candles, e.g. stored-csv for imported ones), the name of the --csv exchange (default "
        f"'{DEFAULT_CSV_EXCHANGE}'), or one registered by --strategy-file (default: {DEMO_EXCHANGE})",
    )
    parser.add_argument("--symbol", default="BTCUSDT", help="market symbol (default: BTCUSDT)")
    parser.add_argument(
        "--strategy",
        metavar="NAME",
        default="sma-cross-market",
        help=f"strategy name: {', '.join(builtin_strategies())} or one registered by --strategy-file "
        "(default: sma-cross-market)",
    )
    parser.add_argument("--start", required=True, metavar="DATE", help="first tick, UTC: YYYY-MM-DD or an ISO datetime")
    parser.add_argument(
        "--end", required=True, metavar="DATE", help="last tick, UTC: YYYY-MM-DD (the whole day) or an ISO datetime"
    )
    parser.add_argument(
        "--strategy-file", type=Path, metavar="FILE", help="Python file that calls ws.add_strategy(...) itself"
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="candle CSV to trade on, in any layout the import dialog reads (epoch or ISO times)",
    )
    parser.add_argument(
        "--interval",
        default="1m",
        choices=list(FRAME_INTERVAL_MINUTES),
        help="time between two ticks (default: 1m)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed of the demo exchange's price paths (default: 0)")
    parser.add_argument("--fee", type=float, metavar="PERCENT", help="fee per side, in percent (default: 0.1)")
    parser.add_argument(
        "--slippage", type=float, metavar="PERCENT", help="adverse slippage per side, in percent (default: 0.1)"
    )
    parser.add_argument("--entry-cost", type=float, metavar="MONEY", help="money put into each position (default: 100)")
    parser.add_argument(
        "--starting-balance",
        type=float,
        metavar="MONEY",
        help="money in the account at the start, in the quote currency (default: 10000)",
    )
    parser.add_argument(
        "--sizing",
        metavar="METHOD[:PERCENT]",
        help="money put into each position: fixed_cost (the --entry-cost, the default), equity_share:PERCENT (a share "
        "of the equity, default 10) or risk:PERCENT (the equity lost at the stop loss, default 1)",
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter of a built-in strategy (repeat for several), e.g. --param fast=10",
    )


def builtin_strategies() -> dict[str, Callable[[], StrategySchema]]:
    """Return a factory per built-in strategy whose example module is installed.

    Returns
    -------
    dict
        Strategy name -> a function building its ``StrategySchema`` (importing the module on first use).
    """
    return {name: builtin.make for name, builtin in available_builtin_strategies().items()}


def parse_moment(flag: str, text: str, *, end_of_day: bool) -> datetime:
    """Parse a command-line date or ISO datetime as an aware UTC datetime.

    Parameters
    ----------
    flag
        The option being parsed, for the error message.
    text
        ``YYYY-MM-DD`` or an ISO datetime (``YYYY-MM-DDTHH:MM[:SS]``, naive means UTC).
    end_of_day
        Turn a bare date into its last minute (23:59) instead of its first.

    Returns
    -------
    datetime
        Timezone-aware, in UTC.

    Raises
    ------
    ArgumentProblem
        If ``text`` is neither.
    """
    if _BARE_DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ArgumentProblem(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from None
        return datetime.combine(day, day_time(23, 59) if end_of_day else day_time(0, 0), tzinfo=UTC)
    if not _BARE_DATE.match(text) or text[10:11] not in ("T", " "):
        raise ArgumentProblem(f"{flag}: {text!r} is not a date (YYYY-MM-DD)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArgumentProblem(f"{flag}: {text!r} is not an ISO datetime (YYYY-MM-DDTHH:MM[:SS][Z])") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: The command-line option of each field of ``ws.BacktestRequest``, for the messages of its errors.
OPTIONS: dict[str, str] = {
    "exchange_name": "--exchange",
    "candle_file": "--csv",
    "seed": "--seed",
    "symbol": "--symbol",
    "strategy_name": "--strategy",
    "start": "--start",
    "end": "--end",
    "interval": "--interval",
    "percent_fee": "--fee",
    "percent_slippage": "--slippage",
    "position_entry_cost": "--entry-cost",
    "starting_balance": "--starting-balance",
    "sizing": "--sizing",
    "params": "--param",
}


def backtest_request(args: argparse.Namespace) -> ws.BacktestRequest:
    """Build the ``ws.BacktestRequest`` the arguments describe, as the window's form does.

    Parameters
    ----------
    args
        Parsed by a parser set up with `add_arguments`; the ``--strategy-file`` has run already.

    Raises
    ------
    ArgumentProblem
        For the first argument the request refuses, named by its option.
    """
    start = parse_moment("--start", args.start, end_of_day=False)
    end = parse_moment("--end", args.end, end_of_day=True)
    fields: dict[str, Any] = {
        "exchange_name": args.exchange or (DEFAULT_CSV_EXCHANGE if args.csv is not None else DEMO_EXCHANGE),
        "candle_file": "" if args.csv is None else str(args.csv),
        "seed": 0 if args.seed is None else args.seed,
        "symbol": args.symbol,
        "strategy_name": args.strategy,
        "start": start,
        "end": end,
        "interval": args.interval,
        "params": parse_params(args.param or []),
    }
    for field, value in (
        ("percent_fee", args.fee),
        ("percent_slippage", args.slippage),
        ("position_entry_cost", args.entry_cost),
        ("starting_balance", args.starting_balance),
        ("sizing", None if args.sizing is None else parse_sizing(args.sizing)),
    ):
        if value is not None:
            fields[field] = value
    try:
        return ws.BacktestRequest(**fields)
    except pydantic.ValidationError as exc:
        raise ArgumentProblem(option_problem(exc.errors()[0])) from None


def option_problem(error: ErrorDetails) -> str:
    """Return one line saying why the request refused an argument: its option, where in it, the reason, the value.

    The request's own checks name the value in their reason; pydantic's bounds and types do not, so the value
    follows them (``--fee: Input should be less than or equal to 10, got 150.0``).
    """
    field = str(error["loc"][0]) if error["loc"] else ""
    inside = "".join(f"{part}: " for part in error["loc"][1:])  # a strategy parameter: --param fast: ...
    if error["type"] == "value_error":
        reason = str(error["msg"]).removeprefix("Value error, ")
    else:
        reason = f"{error['msg']}, got {error['input']!r}"
    return f"{OPTIONS.get(field, field)}: {inside}{reason}"


def parse_sizing(text: str) -> dict[str, str]:
    """Return the sizing of ``--sizing METHOD[:PERCENT]`` (``risk:1.5``); the request's model checks the values."""
    method, colon, percent = text.partition(":")
    return {"method": method.strip()} | ({"percent": percent.strip()} if colon else {})


def parse_params(texts: list[str]) -> dict[str, str]:
    """Return the strategy parameters of ``--param NAME=VALUE`` options (the request's model reads the values).

    Raises
    ------
    ArgumentProblem
        For an option without ``=`` or without a name.
    """
    params: dict[str, str] = {}
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals or not name.strip():
            raise ArgumentProblem(f"--param: {text!r} is not NAME=VALUE")
        params[name.strip()] = value.strip()
    return params


async def prepare(request: ws.BacktestRequest) -> ws.PreparedBacktest:
    """Prepare ``request`` as the window does (``ws.prepare_backtest``).

    Raises
    ------
    ArgumentProblem
        When the candles do not fit the request, named by the option of the field concerned.
    """
    try:
        return await ws.prepare_backtest(request)
    except ws.PreparationError as problem:
        reason = "; ".join(problem.reason.splitlines())  # a candle file's errors come one per line
        raise ArgumentProblem(f"{OPTIONS.get(problem.field, problem.field)}: {reason}") from None


def _run_strategy_file(path: Path) -> None:
    try:
        ws.StrategyFiles().load(path)
    except ws.StrategyFileError as error:
        what = {
            "missing": "is not a file",
            "raised": f"raised {error.cause}",
            "empty": "registered no strategy (call ws.add_strategy in it)",
        }[error.problem]
        raise ArgumentProblem(f"--strategy-file: {str(path)!r} {what}") from None


class ProgressBar:
    """A text progress bar for ``listen_progress_backtest``, redrawn in place (carriage return) up to 10 times a second.

    Parameters
    ----------
    stream
        Where to draw (the terminal's stderr).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._started = time.monotonic()
        self._next_draw = self._started
        self._last: BacktestProgress | None = None
        self._drawn = 0  # length of the bar on the current line; 0 when the line is empty

    def __call__(self, event: BacktestProgress) -> None:
        """Remember the progress and redraw when the last drawing is old enough."""
        self._last = event
        now = time.monotonic()
        if now >= self._next_draw:
            self._next_draw = now + _PROGRESS_PERIOD_SECONDS
            self._draw()

    def print_line(self, text: str) -> None:
        """Print a line of text above the bar (the bar is wiped, the text printed, the bar drawn again)."""
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
        self._stream.write(text + "\n")
        if self._drawn:
            self._draw()
        self._stream.flush()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self._last is not None:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = 0

    def _draw(self) -> None:
        event = self._last
        assert event is not None
        filled = round(event.progress * _PROGRESS_WIDTH)
        text = (
            f"[{'#' * filled}{'-' * (_PROGRESS_WIDTH - filled)}] {event.progress * 100:5.1f}%  "
            f"{iso(event.when)[:16].replace('T', ' ')} UTC  {event.processed_frames:,}/{event.total_frames:,} ticks  "
            f"{time.monotonic() - self._started:.1f}s"
        )
        # Pad over a longer previous drawing, which a carriage return alone would leave visible.
        self._stream.write("\r" + text.ljust(self._drawn))
        self._stream.flush()
        self._drawn = len(text)


class EngineLog(logging.Handler):
    """Show the engine's warnings and errors as one line each (no traceback), above the progress bar.

    Parameters
    ----------
    progress
        The bar the lines are printed above.
    """

    def __init__(self, progress: ProgressBar) -> None:
        super().__init__(logging.WARNING)
        self._progress = progress
        self._shown: set[str] = set()
        self.addFilter(_not_repeating_the_failure)

    def emit(self, record: logging.LogRecord) -> None:
        """Print ``workstation: <level>: <message>`` on one line, once per distinct message.

        A strategy that fails on every tick fails the same way each time: the run's last line counts the failures.
        """
        line = f"workstation: {record.levelname.lower()}: {' '.join(record.getMessage().split())}"
        if line not in self._shown:
            self._shown.add(line)
            self._progress.print_line(line)


class RunErrors:
    """Count the errors a run reports (``ws.listen_error``) and keep the first, for the command's last line."""

    def __init__(self) -> None:
        self.count = 0
        self.first = ""

    def __call__(self, event: ErrorEvent) -> None:
        """Count ``event``; remember its message when it is the first."""
        if not self.count:
            self.first = " ".join(f"{event.source} failed: {event.exception_type}: {event.message}".split())
        self.count += 1

    def summary(self) -> str:
        """Return ``the run finished with N errors (first: …)``."""
        errors = "1 error" if self.count == 1 else f"{self.count:,} errors"
        return f"the run finished with {errors}; its results are incomplete (first: {self.first})"


def _not_repeating_the_failure(record: logging.LogRecord) -> bool:
    # Both records below carry the error that then propagates out of Backtest.run, which the command prints as
    # its one error line; they are matched by the engine's log arguments, so a changed message only costs a line.
    args = record.args if isinstance(record.args, tuple) else ()
    if args[:1] == ("Backtest.run",):  # report_error logs the fatal error just before Backtest.run re-raises it
        return False
    # The exchange logs each failed attempt and raises the last attempt's error.
    is_last_attempt = str(record.msg).startswith("get_candles attempt") and len(args) >= 2 and args[0] == args[1]
    return not is_last_attempt


async def _run(
    asked: ws.BacktestRequest,
    progress: ProgressBar,
    report_file: cli_report.ReportFile | None,
    errors: RunErrors,
    *,
    quiet: bool,
) -> tuple[str, Path | None]:
    request = await prepare(asked)
    unsubscribe = None if quiet else ws.listen_progress_backtest(progress)
    stop_counting = ws.listen_error(errors)
    try:
        async for _ in request.run():
            pass
    finally:
        stop_counting()
        if unsubscribe is not None:
            unsubscribe()
        progress.finish()
    report = await ws.Backtest.get_report(request.symbol, request.strategy_name, with_account=True)
    if report_file is None:
        return report, None
    try:
        written = await ws.Backtest.dump(
            request.symbol, request.strategy_name, report_file.path, format=report_file.format
        )
    except OSError as exc:
        raise RunFailed(f"{report_file.flag}: cannot write {exc.filename!r}: {exc.strerror}") from exc
    return report, written


def run(args: argparse.Namespace) -> int:
    """Run ``workstation backtest`` or ``workstation report``: check and register, run, print or write the report.

    ``backtest`` draws a progress bar on stderr and prints the markdown report on stdout; with ``--report`` it also
    writes the report file and says where on stderr. ``report`` runs without the progress bar, writes the report
    file and prints its path.

    Parameters
    ----------
    args
        Parsed by a parser set up with `add_arguments` and the `workstation.cli_report` options.

    Returns
    -------
    int
        0 (errors are raised).

    Raises
    ------
    ArgumentProblem
        For an argument that cannot be used (nothing has run).
    RunFailed
        When the engine fails during the run, the report file cannot be written, or the run reported errors (its
        strategy raised): the report is printed or written first, the message counts the errors.
    """
    quiet = args.command == "report"
    progress = ProgressBar(sys.stderr)
    engine_log = EngineLog(progress)
    errors = RunErrors()
    logger = logging.getLogger("workstation")
    logger.addHandler(engine_log)
    try:
        target = cli_report.report_file(args)
        if args.strategy_file is not None:
            _run_strategy_file(args.strategy_file)
        request = backtest_request(args)
        try:
            report, written = asyncio.run(_run(request, progress, target, errors, quiet=quiet))
        except (ArgumentProblem, RunFailed):
            raise  # already one line: a request its candles do not fit, or a report file that cannot be written
        except Exception as exc:
            message = str(exc) if isinstance(exc, WorkstationError) and str(exc) else f"{type(exc).__name__}: {exc}"
            raise RunFailed(" ".join(message.split())) from exc
    finally:
        logger.removeHandler(engine_log)
    if quiet:
        print(written)
    else:
        print(report)
        if written is not None:
            print(f"workstation: report written to {written}", file=sys.stderr)
    if errors.count:
        raise RunFailed(errors.summary())
    return 0
