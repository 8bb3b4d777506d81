"""The suite stands alone: its data is vendored in tests/data under a sha256 manifest, and no test reads ../shared."""

from __future__ import annotations

import re
from pathlib import Path

from data_paths import DATA, MANIFEST, sha256_of

TESTS = Path(__file__).resolve().parents[1]
# "shared" as a path segment: "../shared", / "shared", "shared" /, "shared/peer" (not risk_name="shared").
OUTSIDE_THE_CLONE = re.compile(r"""\.\./shared\b|/\s*["']shared["']|["']shared["']\s*/|["']shared/""")


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


def test_no_test_reads_data_outside_the_clone() -> None:
    readers = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if DATA not in path.parents and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE_THE_CLONE.search(line)
    ]
    assert readers == [], f"read test data from tests/data through tests/data_paths.py, never ../shared: {readers}"
