"""The ``workstation`` command: the desktop GUI (in a later release) and headless sub-commands.

``workstation backtest ...`` runs one strategy over a period and prints its markdown report (see
`workstation.cli_backtest`); ``workstation report ...`` runs it quietly and writes its HTML, markdown or CSV report
to a file (see `workstation.cli_report`); ``workstation --version`` prints the version. Every command-line mistake
is reported as one line on stderr with exit status 2, an engine failure during a run (or a report file that cannot
be written) as one line with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from workstation import cli_backtest, cli_report
from workstation.cli_args import ArgumentParser, ArgumentProblem, UsageError

PROG = "workstation"

_GUI_PENDING = """\
workstation {version}: a desktop trading workstation.

The GUI arrives in a later release. For now, backtest from the command line:

  workstation backtest --exchange demo --symbol BTCUSDT --strategy sma-cross-market \\
      --start 2024-01-01 --end 2024-03-31

Run `workstation backtest --help` for every option.
"""


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``workstation`` command and return its exit status.

    Parameters
    ----------
    argv
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

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
        if args.command is None:
            print(_GUI_PENDING.format(version=package_version()), end="")
            return 0
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
