"""Report files from the command line: ``workstation report`` and ``workstation backtest --report``.

A command-line process keeps no runs between invocations, so ``workstation report`` runs the backtest itself (without
the progress bar) and writes its report; ``workstation backtest --report PATH`` writes the file beside printing the
markdown. Both take the format from the file's extension unless it is given. The report's path is checked before
the run, so a directory or a path under a file fails at once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from workstation.backtest import REPORT_FORMATS
from workstation.cli_args import ArgumentProblem

DESCRIPTION = """\
Run a strategy over a period quietly and write its report to a file: the HTML report (statistics, equity and
underwater curves, monthly returns, trade list; one self-contained page), the markdown report, or the trade list as
CSV. A command-line process keeps no runs, so the backtest runs first, without a progress bar; the path of the
file written is printed on stdout.

The format is --format, else --out's extension (.html, .md, .csv), else html. Without --out the file goes to
<user data dir>/reports/backtest/<symbol>_<strategy>.<format>. The other options are those of `workstation backtest`.
"""

#: File extensions that name a report format.
EXTENSIONS: dict[str, str] = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv"}


@dataclass(frozen=True)
class ReportFile:
    """Where to write a report and in which format; ``path`` None means the default report path."""

    path: Path | None
    format: str
    flag: str


def add_report_command_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--format`` and ``--out`` of ``workstation report`` to ``parser``."""
    parser.add_argument(
        "--format", choices=REPORT_FORMATS, help="html, md or csv (default: from --out's extension, else html)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="file to write (default: <user data dir>/reports/backtest/<symbol>_<strategy>.<format>)",
    )


def add_backtest_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--report`` and ``--report-format`` of ``workstation backtest`` to ``parser``."""
    parser.add_argument(
        "--report", type=Path, metavar="PATH", help="also write the report to PATH (.html, .md or .csv)"
    )
    parser.add_argument(
        "--report-format", choices=REPORT_FORMATS, help="format of --report (default: from its extension)"
    )


def report_file(args: argparse.Namespace) -> ReportFile | None:
    """Return the report file the command line asks for, checked; None when it asks for none.

    Parameters
    ----------
    args
        Parsed by a parser set up with `add_report_command_arguments` (``command == "report"``) or
        `add_backtest_report_arguments`.

    Returns
    -------
    ReportFile or None
        None for ``workstation backtest`` without ``--report``.

    Raises
    ------
    ArgumentProblem
        If the format cannot be told, or the path is a directory or lies under a file.
    """
    if args.command == "report":
        return _checked("--out", args.out, args.format, "--format", default_format="html")
    if args.report is None:
        if args.report_format is not None:
            raise ArgumentProblem(f"--report-format: {args.report_format!r} needs --report PATH")
        return None
    return _checked("--report", args.report, args.report_format, "--report-format", default_format=None)


def _checked(
    flag: str, path: Path | None, chosen: str | None, format_flag: str, *, default_format: str | None
) -> ReportFile:
    if path is not None:
        if path.is_dir():
            raise ArgumentProblem(f"{flag}: {str(path)!r} is a directory")
        blocker = next((parent for parent in path.parents if parent.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise ArgumentProblem(f"{flag}: {str(path)!r} cannot be created: {str(blocker)!r} is not a directory")
    report_format = chosen or (default_format if path is None else EXTENSIONS.get(path.suffix.lower()))
    if report_format is None:
        known = ", ".join(EXTENSIONS)
        raise ArgumentProblem(f"{flag}: {str(path)!r} has no report extension ({known}); add {format_flag}")
    return ReportFile(path, report_format, flag)
