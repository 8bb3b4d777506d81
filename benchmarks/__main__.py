"""Run every benchmark, one after another, and print one table of its figures against their targets.

Run ``python -m benchmarks [--only name[,name]] [--with-peer]`` from the repository root. Each benchmark runs as its
own ``python -m benchmarks.<name>`` process, never two at once (they measure speed), with a timeout; its output goes
to a log in a temp folder whose path is printed when anything fails. Its last line of ``name=value`` pairs is read and
every figure judged against ``benchmarks.targets``: ``PASS``, ``FAIL``, ``ERROR`` (no figure: a crash, a timeout, a
missing or unreadable value) or ``INFO`` (shown without a target). The exit status is 1 if any figure fails or errs.
``--with-peer`` passes ``--with-peer`` to the benchmarks that compare with the peer (``backtest``): the peer is then
measured beside us, as issue 17's acceptance asks, instead of read from its ``RESULTS.md``; it takes much longer.
The last line holds the counts as ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.targets import BENCHMARKS, COMPARISONS, Benchmark, Figure, Verdict, judge, parse_figures

REPO = Path(__file__).resolve().parents[1]
COLUMNS = (("benchmark", 14), ("figure", 17), ("target", 12), ("measured", 20), ("result", 0))


@dataclass(frozen=True)
class Run:
    """What one benchmark process left: its last line of figures, or why there is none, and its exit status."""

    last_line: str
    problem: str
    exit_status: int | None
    seconds: float


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its target, what was measured and the verdict."""

    benchmark: str
    figure: str
    target: str
    measured: str
    verdict: Verdict


def command_of(benchmark: Benchmark, with_peer: bool = False) -> list[str]:
    """Return the command line that runs ``benchmark`` with this Python, measuring the peer too if it can."""
    peer = ["--with-peer"] if with_peer and benchmark.peer_timeout_s is not None else []
    return [sys.executable, "-m", f"benchmarks.{benchmark.name}", *benchmark.args, *peer]


def timeout_of(benchmark: Benchmark, with_peer: bool = False) -> float:
    """Return the seconds ``benchmark`` may take, measuring the peer too if it can."""
    if with_peer and benchmark.peer_timeout_s is not None:
        return benchmark.peer_timeout_s
    return benchmark.timeout_s


def run_command(command: Sequence[str], timeout_s: float, log_path: Path) -> Run:
    """Run ``command`` from the repository root, its output into ``log_path``; return its last non-empty stdout line.

    The process starts a session of its own so that a timeout ends it together with the workers it started.
    """
    stdout_path = log_path.with_suffix(".stdout")
    stderr_path = log_path.with_suffix(".stderr")
    started = time.perf_counter()
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            exit_status: int | None = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            exit_status = None
    seconds = time.perf_counter() - started
    out = stdout_path.read_text(errors="replace")
    err = stderr_path.read_text(errors="replace")
    log_path.write_text(f"$ {' '.join(command)}\n{out}--- stderr ---\n{err}")
    stdout_path.unlink()
    stderr_path.unlink()
    lines = [line for line in out.splitlines() if line.strip()]
    if exit_status is None:
        return Run("", f"timed out after {timeout_s:g} s", None, seconds)
    if not lines:
        return Run("", f"printed nothing (exit status {exit_status})", exit_status, seconds)
    return Run(lines[-1], "", exit_status, seconds)


def target_text(figure: Figure) -> str:
    """Return the target as shown in the table, e.g. ``≤ 16 ms``; empty for a figure without one."""
    if not figure.comparison:
        return ""
    return " ".join(part for part in (COMPARISONS[figure.comparison], figure.target, figure.unit) if part)


def rows_of(benchmark: Benchmark, run: Run) -> tuple[list[Row], str]:
    """Judge every figure of ``benchmark`` from ``run``; return the rows and why figures are missing (or ``""``)."""
    problem = run.problem
    figures: dict[str, str] = {}
    if not problem:
        try:
            figures = parse_figures(run.last_line)
        except ValueError as error:
            problem = f"last line unreadable: {error}"
    rows = []
    missing = []
    for figure in benchmark.figures:
        if figure.key in figures:
            value = figures[figure.key]
            measured = f"{value} {figure.unit}" if figure.unit else value
            verdict = judge(figure, value)
        else:
            measured, verdict = "-", Verdict.ERROR
            if not problem:
                missing.append(figure.key)
        rows.append(Row(benchmark.name, figure.key, target_text(figure), measured, verdict))
    if missing:
        problem = f"no figure {', '.join(missing)} in the last line {run.last_line!r}"
    return rows, problem


def render_table(rows: Sequence[Row]) -> str:
    """Return the table of ``rows`` with a header line, in fixed-width columns."""

    def line(cells: Sequence[str]) -> str:
        return "".join(
            cell.ljust(width + 2) if width else cell for cell, (_, width) in zip(cells, COLUMNS, strict=True)
        )

    header = line([name for name, _ in COLUMNS])
    body = [line([row.benchmark, row.figure, row.target, row.measured, row.verdict.value]) for row in rows]
    return "\n".join([header, *body])


def summary_line(rows: Sequence[Row]) -> str:
    """Return the counts of passed, failed and erred figures as ``name=value`` pairs."""
    counts = {verdict: sum(row.verdict is verdict for row in rows) for verdict in Verdict}
    return f"passed={counts[Verdict.PASS]} failed={counts[Verdict.FAIL]} errors={counts[Verdict.ERROR]}"


def selected(only: str | None) -> list[Benchmark]:
    """Return the benchmarks named in ``only`` (comma-separated, in the table's order), or all of them."""
    if only is None:
        return list(BENCHMARKS)
    known = {benchmark.name for benchmark in BENCHMARKS}
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = sorted(names - known)
    if unknown or not names:
        raise ValueError(
            f"--only {only!r}: unknown benchmark {', '.join(unknown) or '(none named)'}; known: {sorted(known)}"
        )
    return [benchmark for benchmark in BENCHMARKS if benchmark.name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="NAME[,NAME]", help="run these benchmarks only")
    parser.add_argument("--with-peer", action="store_true", help="measure the peer beside us where it is compared")
    args = parser.parse_args(argv)
    try:
        benchmarks = selected(args.only)
    except ValueError as error:
        parser.error(str(error))
    log_dir = Path(tempfile.mkdtemp(prefix="benchmarks-"))
    rows: list[Row] = []
    notes: list[str] = []
    for benchmark in benchmarks:
        command = command_of(benchmark, args.with_peer)
        print(f"running {benchmark.name}: python {' '.join(command[1:])}", flush=True)
        log_path = log_dir / f"{benchmark.name}.log"
        run = run_command(command, timeout_of(benchmark, args.with_peer), log_path)
        benchmark_rows, problem = rows_of(benchmark, run)
        rows.extend(benchmark_rows)
        print(f"  done in {run.seconds:.1f} s", flush=True)
        failed = any(row.verdict in (Verdict.FAIL, Verdict.ERROR) for row in benchmark_rows)
        if problem or failed or run.exit_status != 0:
            reasons = [problem] if problem else []
            if run.exit_status:
                reasons.append(f"exit status {run.exit_status}")
            notes.append(f"{benchmark.name}: {'; '.join([*reasons, f'log {log_path}'])}")
    print()
    print(render_table(rows))
    for note in notes:
        print(note)
    if not notes:
        shutil.rmtree(log_dir)
    print(summary_line(rows))
    return 1 if any(row.verdict in (Verdict.FAIL, Verdict.ERROR) for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
