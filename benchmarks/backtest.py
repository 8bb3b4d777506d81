"""Speed and parity of the engine on the peer's 30-day and 365-day cases, beside the peer (SPEC §20.4, issue 17).

Run ``python -m benchmarks.backtest [--only 30d|365d] [--with-peer] [--repeat N]`` from the repository root. It
generates the seed-42 candle CSVs with the peer's ``make_candles.py`` into a cache under the system temp dir (reused
while their sha256 matches ``RESULTS.md``), then runs the SMA-cross cases, each in a fresh Python process so the
peak RSS is that run's own. Wall time covers ``Backtest.run`` only, as in the peer's figures, and every run is
checked bit for bit against the peer's expected output and ``get_signal`` count.

The cases: ``market`` and ``limit`` with the project's example strategy (``sma-cross-market`` / ``-limit``), their
managed variants (SPEC-position: the same entries managed from the callbacks), and ``naive``: the market case with
its ``get_signal`` written as a trader first writes it (`benchmarks.naive_sma.NaiveSmaCross`: the closes turned into
a Python list, the averages summed in a loop). The naive strategy must make the market case's trades and is checked
against the same expected rows; the peer has no naive case, so **the naive ratio is taken against the peer's time for
the market strategy**.

The managed cases are timed on the built-in ``managed-sma`` / ``managed-sma-limit`` strategy as a trader runs it,
registered plainly: the parity harness's recording (`workstation.parity.ManagedHarness`: a wrapper around each
callback and command and the position read back through the getters after each command) is not the engine, and the
peer's recording is negligible against its minute-long run. Those timed runs are checked against the peer's expected
rows on every field the trades carry (prices, PnL, entries, partial closes, close reasons, counts); one more recorded
run of each managed case, outside the timing, checks the recorded fields (commit logs, callback counts) as well. The
test suite's parity tests check everything on recorded runs.

Each case runs ``--repeat`` times (5) in rounds: in each round every case of ours, each followed by the peer's run of
its strategy with ``--with-peer`` (once per round for the market strategy, which ``naive`` shares), so that a noisy
neighbour hits both sides alike. Every time is the median of its runs and a ratio is the peer's median time over ours;
the peak memory is the highest of our runs. Once per round the example also runs under `benchmarks.profile`'s clock
(``python -m benchmarks.profile --child``, a fresh process): its engine overhead, the part of ``Backtest.run`` spent
outside the strategy's own callbacks, is the median of those runs.

``--with-peer`` measures the peer in the same run: it needs ``node`` and ``npm``, copies the peer into the cache
and ``npm install``s it once. Without it the peer's time is its figure in ``RESULTS.md`` (the fastest run recorded
there), and the output says so. The last line holds every figure of issue 17's acceptance as ``name=value`` pairs
(``peer`` says where the peer's figures come from: ``this-run`` or ``RESULTS.md``).

It reads the peer harness where it lies beside the repository, ``../shared/peer`` (its ``RESULTS.md``,
``make_candles.py`` and expected rows; ``npm`` needs the whole harness), and says so and exits 0 without it. That is a
benchmark's privilege: the test suite stands alone and reads its copy of the peer's files from ``tests/data``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import resource
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.naive_sma import NaiveSmaCross
from workstation.parity import COMPARED_FIELDS, MANAGED_ENTRIES, TRADE_FIELDS, compare_rows, read_rows, run_parity

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PEER = SHARED / "peer"
CACHE = Path(tempfile.gettempdir()) / "workstation-benchmarks"
PEER_COPY = CACHE / "peer"

#: Minutes of candles per data set (the peer's file names are ``btc_<name>.csv``).
DATASETS = {"30d": 43_200, "365d": 525_600}
#: The peer's SMA-cross strategies: the plain ones and the managed ones.
VARIANTS = ("market", "limit", "managed", "managed-limit")
SEED = 42
#: Where the peer's figures come from, as the last line says.
MEASURED, PUBLISHED = "this-run", "RESULTS.md"


@dataclass(frozen=True)
class Case:
    """One of our cases: its name, the peer's strategy it is measured against and whether it runs the naive signal.

    ``variant`` gives the trades the case must make (the peer's expected rows), its published figures and the
    peer's run it is compared with.
    """

    name: str
    variant: str
    naive: bool = False


CASES = (
    Case("market", "market"),
    Case("naive", "market", naive=True),
    Case("limit", "limit"),
    Case("managed", "managed"),
    Case("managed-limit", "managed-limit"),
)
#: The cases whose peak counts as the plain case's peak and those whose peak counts as the managed case's.
PLAIN_CASES = ("market", "naive", "limit")
MANAGED_CASES = ("managed", "managed-limit")


@dataclass(frozen=True)
class PeerFigures:
    """What the peer's ``RESULTS.md`` says about one case."""

    candles_per_second: float
    get_signal_calls: int


@dataclass(frozen=True)
class Measurement:
    """One run of our engine in its own process, as reported by the child."""

    candles: int
    elapsed_seconds: float
    peak_mib: float
    rows: int
    get_signal_calls: int
    differences: list[str]

    @property
    def candles_per_second(self) -> float:
        """Candles spanned per second of ``Backtest.run``."""
        return self.candles / self.elapsed_seconds


def _table_rows(markdown: str, first_header: str) -> list[dict[str, str]]:
    """Return the rows of every markdown table whose header starts with ``first_header``, keyed by header."""
    lines = markdown.splitlines()
    rows: list[dict[str, str]] = []
    found = False
    for index, line in enumerate(lines):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] != first_header:
            continue
        found = True
        for row_line in lines[index + 2 :]:
            if not row_line.startswith("|"):
                break
            rows.append(
                dict(zip(cells, (cell.strip() for cell in row_line.strip().strip("|").split("|")), strict=False))
            )
    if not found:
        raise ValueError(f"RESULTS.md has no table starting with column {first_header!r}")
    return rows


def read_results(results_md: Path) -> tuple[dict[str, str], dict[tuple[str, str], PeerFigures]]:
    """Read the sha256 of each data set and the figures of each case from the peer's ``RESULTS.md``.

    Parameters
    ----------
    results_md
        The peer's ``RESULTS.md``.

    Returns
    -------
    tuple
        ``{data set: sha256}`` and ``{(data set, variant): PeerFigures}``, from the plain and the managed tables.
    """
    text = results_md.read_text(encoding="utf-8")
    hashes = {}
    for row in _table_rows(text, "file"):
        name = re.fullmatch(r"`data/btc_(\w+)\.csv`", row["file"])
        if name:
            hashes[name.group(1)] = row["sha256"].strip("`")
    figures = {
        (row["data"], row["strategy"]): PeerFigures(
            candles_per_second=float(row["candles/s"].replace(",", "")),
            get_signal_calls=int(row["getSignal calls"].replace(",", "")),
        )
        for row in _table_rows(text, "data")
        if "candles/s" in row
    }
    return hashes, figures


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_csv(name: str, sha256: str) -> Path:
    """Return the cached candle CSV of data set ``name``, generating it with ``make_candles.py`` if needed.

    Parameters
    ----------
    name
        ``"30d"`` or ``"365d"``.
    sha256
        The digest ``RESULTS.md`` gives for the file.

    Returns
    -------
    Path
        The CSV, whose digest matches.

    Raises
    ------
    RuntimeError
        If the generated file does not match the digest.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"btc_{name}.csv"
    if path.is_file() and _sha256(path) == sha256:
        return path
    partial = path.with_suffix(".partial")
    command = [sys.executable, str(PEER / "make_candles.py"), "--minutes", str(DATASETS[name]), "--seed", str(SEED)]
    subprocess.run([*command, "--out", str(partial)], check=True)
    if _sha256(partial) != sha256:
        raise RuntimeError(f"{partial}: sha256 differs from RESULTS.md ({sha256})")
    partial.replace(path)
    return path


def expected_file(name: str, variant: str) -> Path:
    """Return the peer's output for a case: ``expected/<variant>_<name>.jsonl``, or its ``.gz`` (365d)."""
    plain = PEER / "expected" / f"{variant}_{name}.jsonl"
    return plain if plain.is_file() else plain.with_name(plain.name + ".gz")


def case_named(name: str) -> Case:
    """Return the case called ``name``."""
    for case in CASES:
        if case.name == name:
            return case
    raise ValueError(f"case: {name!r} is not one of {[case.name for case in CASES]}")


def measure_in_child(csv_path: Path, case: Case, expected: Path, *, record: bool = False) -> Measurement:
    """Run one case in a fresh Python process (see `child_main`) and return what it measured.

    ``record``: run a managed case with the parity harness's recording and compare the recorded fields too.
    """
    command = [sys.executable, "-m", "benchmarks.backtest", "--child", str(csv_path), case.name, str(expected)]
    completed = subprocess.run(
        [*command, "--record"] if record else command,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {case.name} run on {csv_path.name} failed:\n{completed.stderr}")
    return Measurement(**json.loads(completed.stdout.splitlines()[-1]))


def child_main(csv_path: Path, case: Case, expected: Path, *, record: bool = False) -> None:
    """Run one case in this process and print its `Measurement` as a JSON line."""
    # The coroutine returns the small measurement, not the run: on the way out asyncio.run restores the SIGINT
    # handler, and Python 3.11 formats the repr of the handler it replaces, its main task with the task's result
    # included. A run's rows made that a 25 MB string, the peak of a managed year's process.
    measurement = asyncio.run(_measure(csv_path, case, expected, record))
    print(json.dumps(measurement.__dict__))


async def _measure(csv_path: Path, case: Case, expected: Path, record: bool) -> Measurement:
    get_signal = NaiveSmaCross() if case.naive else None
    run = await run_parity(csv_path, case.variant, record=record, get_signal=get_signal)
    # Linux reports ru_maxrss in KiB. Read before the expected rows are parsed: the check is not the engine.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Measurement(
        candles=run.candles,
        elapsed_seconds=run.elapsed_seconds,
        peak_mib=peak_mib,
        rows=len(run.rows),
        get_signal_calls=run.get_signal_calls,
        differences=compare_rows(run.rows, read_rows(expected), COMPARED_FIELDS if record else TRADE_FIELDS)[:3],
    )


@dataclass(frozen=True)
class EngineRun:
    """One run of the example under `benchmarks.profile`'s clock: its wall time split into strategy and engine."""

    wall_seconds: float
    strategy_seconds: float
    engine_seconds: float


def measure_engine(csv_path: Path) -> EngineRun:
    """Run the example once under `benchmarks.profile`'s clock in a fresh process and return the split."""
    command = [sys.executable, "-m", "benchmarks.profile", "--child", str(csv_path), "example"]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the profiled example on {csv_path.name} failed:\n{completed.stderr}")
    return EngineRun(**json.loads(completed.stdout.splitlines()[-1]))


def _make_writable(root: Path) -> None:
    # shared/ is read-only and copytree keeps the modes; npm must write node_modules and its lock file.
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def prepare_peer() -> Path:
    """Return a runnable copy of the peer in the cache, copied and ``npm install``ed the first time.

    Raises
    ------
    RuntimeError
        If ``node`` is not installed, or ``npm`` when the copy has yet to be installed.
    """
    installed = (PEER_COPY / "node_modules").is_dir()
    for tool in ("node",) if installed else ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"--with-peer: {tool} is not installed; without --with-peer RESULTS.md's figures count")
    if not installed:
        shutil.copytree(PEER, PEER_COPY, dirs_exist_ok=True)
        _make_writable(PEER_COPY)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=PEER_COPY, check=True)
    return PEER_COPY


@dataclass(frozen=True)
class PeerRun:
    """One run of the peer, from its ``SUMMARY`` line: the wall time of its ``Backtest.run`` and its signal calls."""

    seconds: float
    get_signal_calls: int


def run_peer(peer: Path, csv_path: Path, variant: str) -> PeerRun:
    """Run the peer on one case and return its time and ``getSignal`` count."""
    out = CACHE / f"peer_{variant}_{csv_path.stem}.jsonl"
    command = ["node", "run_peer.mjs", "--csv", str(csv_path), "--strategy", variant, "--out", str(out), "--quiet"]
    completed = subprocess.run(command, cwd=peer, capture_output=True, text=True, check=True)
    for line in completed.stdout.splitlines():
        if line.startswith("SUMMARY "):
            summary: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
            return PeerRun(float(summary["wallSeconds"]), int(summary["getSignalCalls"]))
    raise RuntimeError(f"the peer printed no SUMMARY line for {variant} on {csv_path.name}")


@dataclass(frozen=True)
class CaseResult:
    """One case on one data set: our runs, the peer's times it is compared with and what breaks parity."""

    dataset: str
    case: Case
    runs: list[Measurement]
    peer_seconds: list[float]
    """The peer's runs of the case's strategy in this run, or the one time ``RESULTS.md`` gives."""
    problems: list[str]
    """Differences from the peer's expected rows and ``get_signal`` count; empty when bit-exact."""

    @property
    def seconds(self) -> float:
        """Our median time."""
        return statistics.median(run.elapsed_seconds for run in self.runs)

    @property
    def peer_median_seconds(self) -> float:
        """The peer's median time."""
        return statistics.median(self.peer_seconds)

    @property
    def ratio(self) -> float:
        """How many times faster than the peer: its median time over ours."""
        return self.peer_median_seconds / self.seconds

    @property
    def peak_mib(self) -> float:
        """The highest peak RSS of our runs."""
        return max(run.peak_mib for run in self.runs)

    @property
    def candles_per_second(self) -> float:
        """Candles spanned per second of ``Backtest.run`` in our median run."""
        return self.runs[0].candles / self.seconds

    def table_line(self) -> str:
        """Return the case's row of the printed table."""
        first = self.runs[0]
        times = sorted(run.elapsed_seconds for run in self.runs)
        verdict = f"ok ({first.rows:,} rows, {first.get_signal_calls:,} calls)" if not self.problems else "FAIL"
        return (
            f"{self.dataset + ' ' + self.case.name:<18}{first.candles:>9,}{self.seconds:>9.3f}"
            f"{f'{times[0]:.3f}-{times[-1]:.3f}':>16}{self.candles_per_second:>12,.0f}{self.peak_mib:>10.1f}"
            f"{self.case.variant:>15}{self.peer_median_seconds:>9.2f}{self.ratio:>8.1f}x  {verdict}"
        )


TABLE_HEADER = (
    f"{'case':<18}{'candles':>9}{'median s':>9}{'range s':>16}{'candles/s':>12}{'peak MiB':>10}"
    f"{'peer strategy':>15}{'peer s':>9}{'ratio':>9}  parity"
)


def measure_dataset(
    name: str, csv_path: Path, peer: Path | None, published: dict[str, PeerFigures], repeat: int
) -> tuple[list[CaseResult], list[EngineRun]]:
    """Run every case ``repeat`` times in rounds, the peer beside ours when ``peer`` is given, and check parity.

    Each round runs every case of ours, each followed by the peer's run of its strategy if this round has none yet,
    then the example under `benchmarks.profile`'s clock; a line per round shows its times. A managed case runs once
    more with the harness's recording, untimed, to check the recorded fields.

    Returns
    -------
    tuple
        The cases' results, in the order of `CASES`, and the example's runs under the clock.
    """
    runs: dict[str, list[Measurement]] = {case.name: [] for case in CASES}
    peer_runs: dict[str, list[PeerRun]] = {variant: [] for variant in VARIANTS}
    engine: list[EngineRun] = []
    for round_number in range(1, repeat + 1):
        for case in CASES:
            runs[case.name].append(measure_in_child(csv_path, case, expected_file(name, case.variant)))
            if peer is not None and len(peer_runs[case.variant]) < round_number:
                peer_runs[case.variant].append(run_peer(peer, csv_path, case.variant))
        engine.append(measure_engine(csv_path))
        ours = ", ".join(f"{case.name} {runs[case.name][-1].elapsed_seconds:.3f}" for case in CASES)
        theirs = ", ".join(f"{variant} {done[-1].seconds:.2f}" for variant, done in peer_runs.items() if done)
        print(
            f"{name} round {round_number}/{repeat}: ours {ours} s (engine overhead {engine[-1].engine_seconds:.3f} s)"
            + (f"; the peer {theirs} s" if theirs else ""),
            flush=True,
        )
    results = []
    for case in CASES:
        figures = published[case.variant]
        checked = list(runs[case.name])
        if case.variant in MANAGED_ENTRIES:
            checked.append(measure_in_child(csv_path, case, expected_file(name, case.variant), record=True))
        problems = sorted({difference for run in checked for difference in run.differences})
        for calls in sorted({run.get_signal_calls for run in checked}):
            if calls != figures.get_signal_calls:
                problems.append(f"get_signal calls {calls}, expected {figures.get_signal_calls}")
        for calls in sorted({run.get_signal_calls for run in peer_runs[case.variant]}):
            if calls != figures.get_signal_calls:
                problems.append(f"the peer's getSignal calls {calls}, expected {figures.get_signal_calls}")
        candles = runs[case.name][0].candles
        peer_seconds = [run.seconds for run in peer_runs[case.variant]] or [candles / figures.candles_per_second]
        results.append(CaseResult(name, case, runs[case.name], peer_seconds, problems))
    return results, engine


def figures_line(results: list[CaseResult], engine: list[EngineRun], parity: str, peer: str) -> str:
    """Return the last line: every figure of issue 17's acceptance from one data set's results, as ``name=value``.

    Parameters
    ----------
    results
        The results of every case of `CASES` on one data set.
    engine
        The example's runs under `benchmarks.profile`'s clock on that data set.
    parity
        ``ok``, or ``FAIL`` if any run of any data set broke parity.
    peer
        Where the peer's times come from: `MEASURED` or `PUBLISHED`.
    """
    by_name = {result.case.name: result for result in results}
    market, naive, limit = by_name["market"], by_name["naive"], by_name["limit"]
    managed, managed_limit = by_name["managed"], by_name["managed-limit"]
    figures = {
        "example_ratio": f"{market.ratio:.1f}",
        "naive_ratio": f"{naive.ratio:.1f}",
        "engine_overhead_s": f"{statistics.median(run.engine_seconds for run in engine):.3f}",
        "peak_mb": f"{max(by_name[name].peak_mib for name in PLAIN_CASES):.1f}",
        "managed_ratio": f"{managed.ratio:.1f}",
        "managed_peak_mb": f"{max(by_name[name].peak_mib for name in MANAGED_CASES):.1f}",
        "limit_ratio": f"{limit.ratio:.1f}",
        "managed_limit_ratio": f"{managed_limit.ratio:.1f}",
        "example_s": f"{market.seconds:.3f}",
        "naive_s": f"{naive.seconds:.3f}",
        "managed_s": f"{managed.seconds:.3f}",
        "peer_market_s": f"{market.peer_median_seconds:.2f}",
        "peer_managed_s": f"{managed.peer_median_seconds:.2f}",
        "candles_per_s": f"{market.candles_per_second:.0f}",
        "parity": parity,
        "peer": peer,
    }
    return " ".join(f"{name}={value}" for name, value in figures.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backtest", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(DATASETS), help="run one data set only (30d is the quick one)")
    parser.add_argument(
        "--with-peer", action="store_true", help="measure the peer in this run (node; npm installs it once)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of runs of every case, the peer's too; medians count (5)"
    )
    parser.add_argument("--child", nargs=3, metavar=("CSV", "CASE", "EXPECTED"), help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        csv_path, case_name, expected = args.child
        child_main(Path(csv_path), case_named(case_name), Path(expected), record=args.record)
        return 0
    if not PEER.is_dir():
        print(f"benchmarks.backtest: the peer harness is not at {PEER}; nothing to compare against")
        return 0

    hashes, published = read_results(PEER / "RESULTS.md")
    repeat = max(1, args.repeat)
    peer: Path | None = None
    if args.with_peer:
        try:
            peer = prepare_peer()
        except RuntimeError as error:
            parser.error(str(error))
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        source = f"the peer measured in this run (node {node}), its runs interleaved with ours"
    else:
        source = "the peer's times from RESULTS.md, not measured in this run (its fastest recorded runs; --with-peer)"
    print(f"SMA-cross on the seed-42 candles, Backtest.run's wall time, medians of {repeat} runs, against {source}")
    names = [args.only] if args.only else list(DATASETS)
    results: list[CaseResult] = []
    engines: dict[str, list[EngineRun]] = {}
    for name in names:
        csv_path = ensure_csv(name, hashes[name])
        dataset_results, engines[name] = measure_dataset(
            name, csv_path, peer, {variant: published[name, variant] for variant in VARIANTS}, repeat
        )
        results.extend(dataset_results)

    print(TABLE_HEADER)
    for result in results:
        print(result.table_line())
        for problem in result.problems:
            print(f"    {problem}")
    print(
        "naive: the market case's trades from benchmarks.naive_sma.NaiveSmaCross, its ratio against the peer's time "
        "for the market strategy"
    )
    for name, engine in engines.items():
        print(
            f"{name} example under benchmarks.profile's clock, medians of {len(engine)}: "
            f"wall {statistics.median(run.wall_seconds for run in engine):.3f} s, "
            f"strategy {statistics.median(run.strategy_seconds for run in engine):.3f} s, "
            f"engine overhead {statistics.median(run.engine_seconds for run in engine):.3f} s"
        )
    parity = "ok" if not any(result.problems for result in results) else "FAIL"
    whose = "the peer measured in this run" if peer else "the peer's times from RESULTS.md, not measured in this run"
    print(f"(the figures below are of the {names[-1]} runs, {whose})")
    last = [result for result in results if result.dataset == names[-1]]
    print(figures_line(last, engines[names[-1]], parity, MEASURED if peer else PUBLISHED))
    return 0 if parity == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
