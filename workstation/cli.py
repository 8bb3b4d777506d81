"""The ``workstation`` command: the desktop window (without a command) and headless sub-commands.

``workstation backtest ...`` runs one strategy over a period and prints its markdown report (see
`workstation.cli_backtest`); ``workstation report ...`` runs it quietly and writes its HTML, markdown or CSV report
to a file (see `workstation.cli_report`); ``workstation --version`` prints the version;
``workstation --demo-exchange-server`` serves a fake exchange with the demo market until Ctrl+C. Every command-line
mistake is reported as one line on stderr with exit status 2, an engine failure during a run, a report file that
cannot be written, a port that cannot be bound, or a run whose strategy raised (after its report) as one line with
exit status 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from workstation import cli_backtest, cli_report
from workstation.cli_args import ArgumentParser, ArgumentProblem, UsageError
from workstation.exchanges.fake_binance.demo_server import DEMO_PORT, serve_demo

PROG = "workstation"

_NO_WINDOW = """\
workstation {version}: a desktop trading workstation.

The window lives in the `ui` package: start it with the `workstation` command. Without it, backtest from the
command line:

  workstation backtest --exchange demo --symbol BTCUSDT --strategy sma-cross-market \\
      --start 2024-01-01 --end 2024-03-31

Run `workstation backtest --help` for every option.
"""


@dataclass(frozen=True)
class WindowOptions:
    """How the bare ``workstation`` command opens the window."""

    screenshot: Path | None
    run_demo: bool
    theme: str | None


#: Opens the window with the given options and returns the exit status (``ui.app`` provides it).
OpenWindow = Callable[[WindowOptions], int]


def package_version() -> str:
    """Return the installed version of the ``workstation`` distribution (``unknown`` when run uninstalled)."""
    try:
        return version("workstation")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> ArgumentParser:
    """Return the parser of the ``workstation`` command with its sub-commands."""
    parser = ArgumentParser(prog=PROG, description="A desktop trading workstation with a backtest-kit engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    window = parser.add_argument_group("window (without a command)")
    window.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="open the window (offscreen when there is no display), save a PNG of it to PATH and exit",
    )
    window.add_argument(
        "--run-demo",
        action="store_true",
        help="run the 30-day demo backtest of sma-cross-market on BTCUSDT as soon as the window opens",
    )
    window.add_argument("--theme", choices=("dark", "light"), help="colour theme (default: the last one used)")
    demo = parser.add_argument_group("demo exchange server (without a command)")
    demo.add_argument(
        "--demo-exchange-server",
        action="store_true",
        help="serve a fake binance spot exchange on 127.0.0.1 whose market is the demo data (orders fill on its "
        "candles; a fake key and secret are printed) until Ctrl+C",
    )
    demo.add_argument(
        "--port", type=int, metavar="N", help=f"the demo exchange server's port (default {DEMO_PORT}; 0: any free port)"
    )
    demo.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="how many times faster than real time the demo exchange server's market moves (default 1)",
    )
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    backtest = commands.add_parser(
        "backtest",
        help="run a strategy over a period headlessly and print its report",
        description=cli_backtest.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_backtest.add_arguments(backtest)
    cli_report.add_backtest_report_arguments(backtest)
    report = commands.add_parser(
        "report",
        help="run a strategy over a period quietly and write its report file (HTML, markdown or CSV)",
        description=cli_report.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_backtest.add_arguments(report)
    cli_report.add_report_command_arguments(report)
    return parser


def _serve_demo_exchange(args: argparse.Namespace, command: str) -> int:
    """Run ``--demo-exchange-server`` until Ctrl+C; return 1 if its port cannot be bound."""
    if args.command is not None or args.screenshot is not None or args.run_demo or args.theme is not None:
        raise UsageError(f"{command}: error: --demo-exchange-server runs alone: give no command and no window option")
    port = DEMO_PORT if args.port is None else args.port
    speed = 1.0 if args.speed is None else args.speed
    if not 0 <= port <= 65535:
        raise ArgumentProblem(f"--port {port}: a TCP port is 0 (any free port) to 65535")
    if not (math.isfinite(speed) and speed > 0):
        raise ArgumentProblem(f"--speed {speed:g}: the market moves forward, at a speed above 0")
    try:
        serve_demo(port=port, speed=speed)
    except OSError as problem:
        print(f"{command}: error: --port {port}: cannot listen on 127.0.0.1 ({problem.strerror})", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, *, open_window: OpenWindow | None = None) -> int:
    """Run the ``workstation`` command and return its exit status.

    Parameters
    ----------
    argv
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.
    open_window
        Opens the window when no command is given (``ui.app.main`` passes it; the model layer knows no widgets).
        Without it the bare command prints how to start the window and how to backtest headlessly.

    Returns
    -------
    int
        0 on success (also for ``--help``, ``--version`` and the bare command), 1 when a run fails, 2 for a bad
        command line.
    """
    command = PROG
    try:
        args, unknown = build_parser().parse_known_args(argv)
        command = f"{PROG} {args.command}" if args.command else PROG
        if unknown:
            # argparse would blame the top-level command; name the sub-command the options were given to.
            raise UsageError(f"{command}: error: unrecognized arguments: {' '.join(unknown)}")
        if args.demo_exchange_server:
            return _serve_demo_exchange(args, command)
        if args.port is not None or args.speed is not None:
            raise UsageError(f"{command}: error: --port and --speed go with --demo-exchange-server")
        if args.command is None:
            if open_window is None:
                print(_NO_WINDOW.format(version=package_version()), end="")
                return 0
            return open_window(WindowOptions(screenshot=args.screenshot, run_demo=args.run_demo, theme=args.theme))
        if args.screenshot is not None or args.run_demo or args.theme is not None:
            raise UsageError(f"{command}: error: --screenshot, --run-demo and --theme open the window: give no command")
        return cli_backtest.run(args)
    except SystemExit as exit_request:  # --help and --version print, then ask argparse to exit
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except UsageError as problem:
        print(problem, file=sys.stderr)
        return 2
    except ArgumentProblem as problem:
        print(f"{command}: error: {problem}", file=sys.stderr)
        return 2
    except cli_backtest.RunFailed as failure:
        print(f"{command}: error: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
