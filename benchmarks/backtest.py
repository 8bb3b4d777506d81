"""Speed and parity of the engine on the peer's 30-day and 365-day cases (SPEC §20.4).

Run ``python -m benchmarks.backtest [--only 30d|365d] [--with-peer]`` from the repository root. It generates the
seed-42 candle CSVs with the peer's ``make_candles.py`` into a cache under the system temp dir (reused while their
sha256 matches ``RESULTS.md``), then runs the SMA-cross market and limit cases and their managed variants
(SPEC-position), each in a fresh Python process so the peak RSS is that run's own. Wall time covers ``Backtest.run``
only, as in the peer's figures, and every run is checked bit for bit against the peer's expected output and
``get_signal`` count.

The managed cases are timed on the built-in ``managed-sma`` / ``managed-sma-limit`` strategy as a trader runs it,
registered plainly: the parity harness's recording (`workstation.parity.ManagedHarness`: a wrapper around each
callback and command and the position read back through the getters after each command) is not the engine, and the
peer's recording is negligible against its minute-long run. Those timed runs are checked against the peer's expected
rows on every field the trades carry (prices, PnL, entries, partial closes, close reasons, counts); one more recorded
run of each managed case, outside the timing, checks the recorded fields (commit logs, callback counts) as well. The
test suite's parity tests check everything on recorded runs.

Each of our cases runs ``--repeat`` times (5) and counts its fastest run, as ``timeit`` does: a one-second run is at
the mercy of a noisy neighbour on a shared machine, while the peer's minute-long run averages such bursts out. The
median is printed beside it, and the peak memory is the highest of all the runs.

The peer itself is run for a same-machine figure when ``node`` is installed and a copy of the peer with its
``node_modules`` is in the cache (``--with-peer`` copies and ``npm install``s it); otherwise the ratio is taken
against the candles/s of the peer's ``RESULTS.md``. The last line holds the figures as ``name=value`` pairs.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workstation.parity import COMPARED_FIELDS, MANAGED_ENTRIES, TRADE_FIELDS, compare_rows, read_rows, run_parity

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PEER = SHARED / "peer"
CACHE = Path(tempfile.gettempdir()) / "workstation-benchmarks"
PEER_COPY = CACHE / "peer"

#: Minutes of candles per data set (the peer's file names are ``btc_<name>.csv``).
DATASETS = {"30d": 43_200, "365d": 525_600}
#: The plain SMA-cross cases and the managed ones (SPEC-position: the same entries managed from the callbacks).
VARIANTS = ("market", "limit", "managed", "managed-limit")
SEED = 42


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


def measure_in_child(csv_path: Path, variant: str, expected: Path, *, record: bool = False) -> Measurement:
    """Run one case in a fresh Python process (see `child_main`) and return what it measured.

    ``record``: run a managed case with the parity harness's recording and compare the recorded fields too.
    """
    command = [sys.executable, "-m", "benchmarks.backtest", "--child", str(csv_path), variant, str(expected)]
    completed = subprocess.run(
        [*command, "--record"] if record else command,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the {variant} run on {csv_path.name} failed:\n{completed.stderr}")
    return Measurement(**json.loads(completed.stdout.splitlines()[-1]))


def child_main(csv_path: Path, variant: str, expected: Path, *, record: bool = False) -> None:
    """Run one case in this process and print its `Measurement` as a JSON line."""
    # The coroutine returns the small measurement, not the run: on the way out asyncio.run restores the SIGINT
    # handler, and Python 3.11 formats the repr of the handler it replaces, its main task with the task's result
    # included. A run's rows made that a 25 MB string, the peak of a managed year's process.
    measurement = asyncio.run(_measure(csv_path, variant, expected, record))
    print(json.dumps(measurement.__dict__))


async def _measure(csv_path: Path, variant: str, expected: Path, record: bool) -> Measurement:
    run = await run_parity(csv_path, variant, record=record)
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


def _make_writable(root: Path) -> None:
    # shared/ is read-only and copytree keeps the modes; npm must write node_modules and its lock file.
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def prepare_peer(install: bool) -> Path | None:
    """Return a runnable copy of the peer, or None when node or its packages are missing.

    Parameters
    ----------
    install
        Copy the peer into the cache and ``npm install`` it when that has not been done yet.
    """
    if shutil.which("node") is None:
        return None
    if install and not (PEER_COPY / "node_modules").is_dir():
        if shutil.which("npm") is None:
            return None
        shutil.copytree(PEER, PEER_COPY, dirs_exist_ok=True)
        _make_writable(PEER_COPY)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=PEER_COPY, check=True)
    return PEER_COPY if (PEER_COPY / "node_modules").is_dir() else None


def run_peer(peer: Path, csv_path: Path, variant: str) -> float:
    """Run the peer on one case and return its candles/s (from its ``SUMMARY`` line)."""
    out = CACHE / f"peer_{variant}_{csv_path.stem}.jsonl"
    command = ["node", "run_peer.mjs", "--csv", str(csv_path), "--strategy", variant, "--out", str(out), "--quiet"]
    completed = subprocess.run(command, cwd=peer, capture_output=True, text=True, check=True)
    for line in completed.stdout.splitlines():
        if line.startswith("SUMMARY "):
            summary: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
            return float(summary["candlesPerSecond"])
    raise RuntimeError(f"the peer printed no SUMMARY line for {variant} on {csv_path.name}")


@dataclass(frozen=True)
class CaseResult:
    """One case: our measurement, the peer's candles/s and what breaks parity (empty when bit-exact)."""

    name: str
    variant: str
    ours: Measurement
    median_seconds: float
    peer_candles_per_second: float
    problems: list[str]

    @property
    def ratio(self) -> float:
        """Our candles/s (fastest run) over the peer's."""
        return self.ours.candles_per_second / self.peer_candles_per_second

    @property
    def median_ratio(self) -> float:
        """Our candles/s in the median run over the peer's."""
        return self.ours.candles / self.median_seconds / self.peer_candles_per_second

    def table_line(self) -> str:
        """Return the case's row of the printed table."""
        ours = self.ours
        verdict = f"ok ({ours.rows:,} rows, {ours.get_signal_calls:,} calls)" if not self.problems else "FAIL"
        return (
            f"{self.name + ' ' + self.variant:<12}{ours.candles:>9,}{ours.elapsed_seconds:>9.3f}"
            f"{self.median_seconds:>9.3f}{ours.candles_per_second:>12,.0f}{ours.peak_mib:>10.1f}"
            f"{self.peer_candles_per_second:>10,.0f}{self.ratio:>7.1f}x{self.median_ratio:>7.1f}x  {verdict}"
        )


def run_case(
    name: str, variant: str, csv_path: Path, peer: Path | None, published: PeerFigures, repeat: int
) -> CaseResult:
    """Measure one case ``repeat`` times (and the peer on it once when ``peer`` is given) and check parity.

    A managed case runs once more with the harness's recording, untimed, to check the recorded fields.
    """
    expected = expected_file(name, variant)
    runs = [measure_in_child(csv_path, variant, expected) for _ in range(repeat)]
    fastest = min(runs, key=lambda run: run.elapsed_seconds)
    median = statistics.median(run.elapsed_seconds for run in runs)
    ours = replace(fastest, peak_mib=max(run.peak_mib for run in runs))
    peer_rate = run_peer(peer, csv_path, variant) if peer else published.candles_per_second
    checked = list(runs)
    if variant in MANAGED_ENTRIES:
        checked.append(measure_in_child(csv_path, variant, expected, record=True))
    problems = sorted({difference for run in checked for difference in run.differences})
    for calls in sorted({run.get_signal_calls for run in checked}):
        if calls != published.get_signal_calls:
            problems.append(f"get_signal calls {calls}, expected {published.get_signal_calls}")
    return CaseResult(name, variant, ours, median, peer_rate, problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backtest", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(DATASETS), help="run one data set only (30d is the quick one)")
    parser.add_argument("--with-peer", action="store_true", help="install the peer (npm) to measure it in this run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each of our cases; the fastest counts (5)")
    parser.add_argument("--child", nargs=3, metavar=("CSV", "VARIANT", "EXPECTED"), help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        csv_path, variant, expected = args.child
        child_main(Path(csv_path), variant, Path(expected), record=args.record)
        return 0
    if not PEER.is_dir():
        print(f"benchmarks.backtest: the peer harness is not at {PEER}; nothing to compare against")
        return 0

    hashes, published = read_results(PEER / "RESULTS.md")
    peer = prepare_peer(args.with_peer)
    if peer:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        source = f"the peer measured in this run (node {node})"
    else:
        source = "the peer's figures from RESULTS.md (node or its packages missing; see --with-peer)"
    print(f"SMA-cross on the seed-42 candles, wall time of Backtest.run only, against {source}")
    print(
        f"{'case':<12}{'candles':>9}{'best s':>9}{'median s':>9}{'candles/s':>12}{'peak MiB':>10}{'peer c/s':>10}"
        f"{'ratio':>8}{'median':>8}  parity"
    )
    names = [args.only] if args.only else list(DATASETS)
    results: list[CaseResult] = []
    for name in names:
        csv_path = ensure_csv(name, hashes[name])
        for variant in VARIANTS:
            result = run_case(name, variant, csv_path, peer, published[name, variant], max(1, args.repeat))
            print(result.table_line())
            for problem in result.problems:
                print(f"    {problem}")
            results.append(result)

    parity = "ok" if not any(result.problems for result in results) else "FAIL"
    market, limit, managed, managed_limit = (
        next(r for r in results if r.name == names[-1] and r.variant == v) for v in VARIANTS
    )
    print(f"(the figures below are of the {names[-1]} runs)")
    print(
        f"candles_per_s={market.ours.candles_per_second:.0f} ratio={market.ratio:.1f} "
        f"median_ratio={market.median_ratio:.1f} peak_mb={market.ours.peak_mib:.1f} "
        f"limit_candles_per_s={limit.ours.candles_per_second:.0f} limit_ratio={limit.ratio:.1f} "
        f"managed_candles_per_s={managed.ours.candles_per_second:.0f} managed_ratio={managed.ratio:.1f} "
        f"managed_median_ratio={managed.median_ratio:.1f} managed_peak_mb={managed.ours.peak_mib:.1f} "
        f"managed_limit_ratio={managed_limit.ratio:.1f} managed_limit_median_ratio={managed_limit.median_ratio:.1f} "
        f"parity={parity}"
    )
    return 0 if parity == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
