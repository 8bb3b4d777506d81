"""The frozen application's entry point: the installed ``workstation`` command, ``ui.cli:main``."""

from __future__ import annotations

import multiprocessing
import sys

from ui.cli import main

if __name__ == "__main__":
    # The optimizer's spawn pool re-runs this executable for each worker; this turns those runs into workers.
    multiprocessing.freeze_support()
    sys.exit(main())
