"""The suite stands alone: its data is vendored in tests/data under a sha256 manifest, no test reads ../shared, and
no test installs system packages (``.ci/run`` installs what the slow tests need)."""

from __future__ import annotations

import re
from pathlib import Path

from data_paths import DATA, MANIFEST, sha256_of

TESTS = Path(__file__).resolve().parents[1]
# "shared" as a path segment: "../shared", / "shared", "shared" /, "shared/peer" (not risk_name="shared").
OUTSIDE_THE_CLONE = re.compile(r"""\.\./shared\b|/\s*["']shared["']|["']shared["']\s*/|["']shared/""")
# A package manager as a command word of its own: ["apt-get", "install", ...], not advice in a message.
PACKAGE_MANAGER = re.compile(r"""["'](apt-get|apt|aptitude|dpkg|yum|dnf|zypper|apk|pacman|brew|snap)["']""")


def _manifest() -> dict[str, str]:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    listed = [re.fullmatch(r"([0-9a-f]{64})  (\S+)", line) for line in lines]
    assert all(listed), [line for line, match in zip(lines, listed, strict=True) if match is None]
    return {match.group(2): match.group(1) for match in listed if match is not None}


def test_the_manifest_lists_every_data_file_with_its_sha256() -> None:
    stored = sorted(path.relative_to(DATA).as_posix() for path in DATA.rglob("*") if path.is_file())
    manifest = _manifest()
    assert sorted(manifest) == [name for name in stored if name != MANIFEST.name]
    assert {name: sha256_of(DATA / name) for name in manifest} == manifest


def _lines_matching(pattern: re.Pattern[str]) -> list[str]:
    """Return ``file:line`` of every line of the suite's code (this file and tests/data aside) matching ``pattern``."""
    return [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if DATA not in path.parents and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]


def test_no_test_reads_data_outside_the_clone() -> None:
    readers = _lines_matching(OUTSIDE_THE_CLONE)
    assert readers == [], f"read test data from tests/data through tests/data_paths.py, never ../shared: {readers}"


def test_no_test_installs_system_packages() -> None:
    installers = _lines_matching(PACKAGE_MANAGER)
    assert installers == [], f"install system packages in .ci/run (CI_SLOW=1), not in a test: {installers}"
