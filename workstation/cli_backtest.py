"""``workstation backtest``: run one strategy over a period headlessly and print its markdown report.

The exchange is the offline ``demo`` exchange, a candle CSV (``--csv``), or any exchange a ``--strategy-file``
registers. Strategies are the built-in examples (imported only when chosen) or those a ``--strategy-file`` registers.
Every argument is checked before anything runs; a bad one raises `ArgumentProblem`, whose message starts with the
argument's flag. A failure of the engine during the run raises `RunFailed`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import TextIO

import pydantic

import workstation as ws
from workstation import cli_report
from workstation.cli_args import ArgumentProblem
from workstation.errors import WorkstationError
from workstation.examples.catalogue import available_builtin_strategies
from workstation.exchanges.csv import make_csv_exchange, read_csv_span
from workstation.exchanges.demo import DEMO_START_MS, make_demo_exchange
from workstation.models.events import BacktestProgress
from workstation.schemas.strategy import StrategySchema
from workstation.timeutil import FRAME_INTERVAL_MINUTES, from_ms, iso, to_ms

DESCRIPTION = """\
Run a strategy over a period without the GUI: a progress bar on stderr, the markdown report on stdout.

Dates are UTC, YYYY-MM-DD or ISO datetimes (YYYY-MM-DDTHH:MM[:SS], optionally with Z or an offset);
an --end given as a bare date includes that whole day (up to 23:59).

A --strategy-file is a Python file that registers what it needs itself, for example:

    import workstation as ws
    ws.add_strategy(strategy_name="my-strategy", interval="5m", get_signal=my_get_signal)

then `--strategy my-strategy` selects it. It may also register risks and exchanges (chosen with --exchange).
"""

DEMO_EXCHANGE = "demo"
DEFAULT_CSV_EXCHANGE = "csv"
FRAME_NAME = "cli-backtest"

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
        help=f"'{DEMO_EXCHANGE}' (synthetic candles since 2020-01-01), the name of the --csv exchange "
        f"(default '{DEFAULT_CSV_EXCHANGE}'), or one registered by --strategy-file (default: {DEMO_EXCHANGE})",
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
        "--csv", type=Path, metavar="FILE", help="candle CSV (timestamp,open,high,low,close,volume) to trade on"
    )
    parser.add_argument(
        "--interval",
        default="1m",
        choices=list(FRAME_INTERVAL_MINUTES),
        help="time between two ticks (default: 1m)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed of the demo exchange's price paths (default: 0)")


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


@dataclass(frozen=True)
class BacktestRequest:
    """A checked backtest: everything it names is registered."""

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str


def prepare(args: argparse.Namespace) -> BacktestRequest:
    """Check the arguments, run the strategy file, and register the exchange, strategy and frame.

    Parameters
    ----------
    args
        Parsed by a parser set up with `add_arguments`.

    Returns
    -------
    BacktestRequest
        What to run.

    Raises
    ------
    ArgumentProblem
        For the first argument that cannot be used.
    """
    symbol = args.symbol.strip()
    if not symbol:
        raise ArgumentProblem(f"--symbol: {args.symbol!r} is empty")
    start = parse_moment("--start", args.start, end_of_day=False)
    end = parse_moment("--end", args.end, end_of_day=True)
    if end < start:
        raise ArgumentProblem(f"--end: {args.end!r} is before --start {args.start!r}")
    now = datetime.now(UTC)
    if end > now:
        raise ArgumentProblem(f"--end: {args.end!r} is in the future (now: {iso(to_ms(now))})")
    if args.csv is not None:
        _check_csv_covers(args, start, end)
    if args.strategy_file is not None:
        _run_strategy_file(args.strategy_file)
    exchange_name = _register_exchange(args, start)
    strategy_name = _register_strategy(args.strategy)
    ws.add_frame(ws.FrameSchema(frame_name=FRAME_NAME, interval=args.interval, start_date=start, end_date=end))
    return BacktestRequest(symbol, strategy_name, exchange_name, FRAME_NAME)


def _check_csv_covers(args: argparse.Namespace, start: datetime, end: datetime) -> None:
    if not args.csv.is_file():
        raise ArgumentProblem(f"--csv: {str(args.csv)!r} is not a file")
    try:
        span = read_csv_span(args.csv)
    except ValueError as exc:
        raise ArgumentProblem(f"--csv: {exc}") from None
    if start < from_ms(span.first_ms):
        raise ArgumentProblem(f"--start: {args.start!r} is before the CSV's first candle ({iso(span.first_ms)})")
    if end > from_ms(span.last_ms):
        raise ArgumentProblem(f"--end: {args.end!r} is after the CSV's last candle ({iso(span.last_ms)})")


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


def _register_exchange(args: argparse.Namespace, start: datetime) -> str:
    registered = {schema.exchange_name for schema in ws.list_exchanges()}
    name = args.exchange or (DEFAULT_CSV_EXCHANGE if args.csv is not None else DEMO_EXCHANGE)
    if args.seed is not None and (args.csv is not None or name in registered):
        raise ArgumentProblem(f"--seed: {args.seed} applies to the demo exchange only, not to {name!r}")
    if args.csv is not None:
        try:
            ws.add_exchange(make_csv_exchange(name, args.csv))
        except pydantic.ValidationError as exc:
            reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ArgumentProblem(f"--exchange: {name!r} is not a valid name: {reason}") from None
        except ws.DuplicateSchemaError:
            raise ArgumentProblem(f"--exchange: {name!r} is already registered by --strategy-file") from None
        _fail_fast_on_missing_candles()
        return name
    if name in registered:
        return name
    if name != DEMO_EXCHANGE:
        raise ArgumentProblem(
            f"--exchange: {name!r} is not a known exchange (use {DEMO_EXCHANGE!r}, give --csv FILE, "
            "or register it in --strategy-file)"
        )
    if start < from_ms(DEMO_START_MS):
        raise ArgumentProblem(f"--start: {args.start!r} is before the demo exchange's first candle (2020-01-01)")
    ws.add_exchange(make_demo_exchange(DEMO_EXCHANGE, seed=args.seed or 0))
    _fail_fast_on_missing_candles()
    return name


def _fail_fast_on_missing_candles() -> None:
    # A file or the seeded demo gives the same answer every time: retrying a missing candle only waits.
    ws.set_config(get_candles_retry_count=1)


def _register_strategy(name: str) -> str:
    if name in {schema.strategy_name for schema in ws.list_strategies()}:
        return name
    builtins = builtin_strategies()
    make = builtins.get(name)
    if make is None:
        known = [schema.strategy_name for schema in ws.list_strategies()] + list(builtins)
        raise ArgumentProblem(f"--strategy: {name!r} is not a known strategy (known: {', '.join(known)})")
    return ws.add_strategy(make()).strategy_name


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
        self.addFilter(_not_repeating_the_failure)

    def emit(self, record: logging.LogRecord) -> None:
        """Print ``workstation: <level>: <message>`` on one line."""
        message = " ".join(record.getMessage().split())
        self._progress.print_line(f"workstation: {record.levelname.lower()}: {message}")


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
    request: BacktestRequest, progress: ProgressBar, report_file: cli_report.ReportFile | None, *, quiet: bool
) -> tuple[str, Path | None]:
    unsubscribe = None if quiet else ws.listen_progress_backtest(progress)
    try:
        async for _ in ws.Backtest.run(
            request.symbol,
            strategy_name=request.strategy_name,
            exchange_name=request.exchange_name,
            frame_name=request.frame_name,
        ):
            pass
    finally:
        if unsubscribe is not None:
            unsubscribe()
        progress.finish()
    report = await ws.Backtest.get_report(request.symbol, request.strategy_name)
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
        When the engine fails during the run, or the report file cannot be written.
    """
    quiet = args.command == "report"
    progress = ProgressBar(sys.stderr)
    engine_log = EngineLog(progress)
    logger = logging.getLogger("workstation")
    logger.addHandler(engine_log)
    try:
        target = cli_report.report_file(args)
        request = prepare(args)
        try:
            report, written = asyncio.run(_run(request, progress, target, quiet=quiet))
        except RunFailed:  # already one line: the report file could not be written
            raise
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
    return 0
