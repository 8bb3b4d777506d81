"""``workstation report`` and ``workstation backtest --report``: report files from the command line."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from data_paths import BTC_1D_CSV as PEER_1D_CSV

from workstation.cli import main

PEER_1D_FRAME = ["--csv", str(PEER_1D_CSV), "--start", "2024-01-01T01:00", "--end", "2024-01-01T17:59"]
LIMIT = [*PEER_1D_FRAME, "--strategy", "sma-cross-limit"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_runs_quietly_and_prints_the_path_of_the_html_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "run.html"
    code, out, err = run_cli(capsys, "report", *LIMIT, "--out", str(target))

    assert (code, out, err) == (0, f"{target}\n", "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<h2>Trades (5)</h2>" in page


def test_report_defaults_to_html_in_the_user_data_dir(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "report", *LIMIT, "--symbol", "BTC/USDT")

    expected = Path(platformdirs.user_data_dir("workstation")) / "reports" / "backtest"
    assert (code, out) == (0, f"{expected / 'BTC%2FUSDT_sma-cross-limit.html'}\n")


def test_report_takes_the_format_from_the_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "trades.csv"
    code, _, _ = run_cli(capsys, "report", *LIMIT, "--out", str(target))

    assert code == 0
    lines = target.read_text().splitlines()
    assert lines[0].startswith("symbol,strategy_name,exchange_name,frame_name,backtest,")
    assert len(lines) == 6  # header + the 5 closed signals of SPEC §20.3


def test_an_explicit_format_wins_over_the_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    code, _, _ = run_cli(capsys, "report", *LIMIT, "--out", str(target), "--format", "md")

    assert code == 0
    assert target.read_text().startswith("# Backtest Report: sma-cross-limit (BTCUSDT)\n")


def test_backtest_prints_the_markdown_and_writes_the_report_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "run.md"
    code, out, err = run_cli(capsys, "backtest", *LIMIT, "--report", str(target))

    assert code == 0
    assert target.read_text() == out.removesuffix("\n")
    assert err.endswith(f"\nworkstation: report written to {target}\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        pytest.param(
            ["report", *LIMIT, "--out", "{tmp}/x.txt"],
            "workstation report: error: --out: '{tmp}/x.txt' has no report extension "
            "(.md, .markdown, .html, .htm, .csv); add --format",
            id="unknown-extension",
        ),
        pytest.param(
            ["report", *LIMIT, "--out", "{tmp}"], "workstation report: error: --out: '{tmp}' is a directory", id="dir"
        ),
        pytest.param(
            ["report", *LIMIT, "--out", "{tmp}/file/r.html"],
            "workstation report: error: --out: '{tmp}/file/r.html' cannot be created: '{tmp}/file' is not a directory",
            id="under-a-file",
        ),
        pytest.param(
            ["report", *LIMIT, "--format", "pdf"],
            "workstation report: error: argument --format: invalid choice: 'pdf' (choose from 'md', 'html', 'csv')",
            id="format",
        ),
        pytest.param(
            ["backtest", *LIMIT, "--report-format", "html"],
            "workstation backtest: error: --report-format: 'html' needs --report PATH",
            id="format-without-report",
        ),
        pytest.param(
            ["backtest", *LIMIT, "--report", "{tmp}/r.pdf"],
            "workstation backtest: error: --report: '{tmp}/r.pdf' has no report extension "
            "(.md, .markdown, .html, .htm, .csv); add --report-format",
            id="report-extension",
        ),
        pytest.param(
            ["report", "--start", "2024-13-01", "--end", "2024-02-01"],
            "workstation report: error: --start: '2024-13-01' is not a date (YYYY-MM-DD)",
            id="backtest-argument",
        ),
    ],
)
def test_a_bad_report_argument_exits_2_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], line: str
) -> None:
    (tmp_path / "file").write_text("keep")
    code, out, err = run_cli(capsys, *(arg.replace("{tmp}", str(tmp_path)) for arg in args))

    assert (code, out) == (2, "")
    assert err == line.replace("{tmp}", str(tmp_path)) + "\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"]


def test_a_report_that_cannot_be_written_exits_1_naming_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.html"

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied", "elsewhere")

    monkeypatch.setattr("workstation.atomic_file.os.replace", refuse)
    code, out, err = run_cli(capsys, "report", *LIMIT, "--out", str(target))

    assert (code, out) == (1, "")
    assert err == f"workstation report: error: --out: cannot write {str(target)!r}: Permission denied\n"
    assert list(tmp_path.iterdir()) == []
