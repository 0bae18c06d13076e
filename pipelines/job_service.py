"""Beam's local job service (``apache_beam.runners.portability.local_job_service_main``) with Yuliao's Beam fixes.

The local job service runs pipelines on Beam's FnApiRunner in its own process, so the data-loss fix of
``transforms/beam_fixes.py`` has to be installed there too: ``python -m pipelines.job_service --port 8099``
instead of Beam's module. Arguments are Beam's.
"""
from __future__ import annotations

import logging
import signal
import sys

from transforms import beam_fixes


def main(argv: list[str]) -> None:
    from apache_beam.runners.portability import local_job_service_main

    if not beam_fixes.INSTALLED:
        raise SystemExit("yuliao: Beam's local runner data-plane fix could not be installed (see transforms/beam_fixes.py)")
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
    logging.basicConfig(level=logging.WARNING)
    local_job_service_main.run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
