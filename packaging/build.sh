#!/usr/bin/env bash
# Build the one-folder application into $DIST_DIR/workstation (default dist/) with work files under $WORK_DIR
# (default build/), then print its size.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist_dir="${DIST_DIR:-$root/dist}"
work_dir="${WORK_DIR:-$root/build}"
cd "$root"
"$root/.venv/bin/pyinstaller" --noconfirm --clean --distpath "$dist_dir" --workpath "$work_dir" packaging/workstation.spec
du -sh "$dist_dir/workstation"
