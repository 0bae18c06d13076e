"""The SDK worker process of a local multi-process Yuliao run: ``python -m transforms.worker_main`` (issue #20).

``--direct_running_mode multi_processing`` starts each worker as ``python -m apache_beam.runners.worker.sdk_worker_main``,
which imports Beam whole: its GCP, AWS and Azure clients and pandas, which a local build never uses
(``transforms/memory.py``; a worker's imports: 209 → 123 MB RSS, 1.46 → 0.56 CPU-s, ``python bench/beam_import_memory.py``). ``transforms.local_runner`` starts the workers of a local run
here instead: Beam is imported as the launcher imports it (``memory.import_beam_lean``), Yuliao's patches of Beam's
worker side are installed before the first bundle (``beam_speedups``, with the finished-stream release, and
``worker_memory``'s bounds, which otherwise need ``--beam_plugins`` to be in place before the data channel), pyarrow
allocates from the tuned C heap, then Beam's own ``sdk_worker_main.main`` runs the
worker, reading its endpoints and pipeline options from the environment the runner set, as it does when started
through Beam's entry point.
"""
from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> None:
    from transforms.memory import import_beam_lean
    from transforms.quiet import _DropBeamGcpNotice

    # Beam notes at import that the clients left out are missing, through the root logger: without a handler there
    # that call would give the root logger a stderr handler (``logging.basicConfig``) and every later INFO line of
    # the worker would go to the console; Beam's entry point has none when it starts the harness either
    root = logging.getLogger()
    during_import = logging.StreamHandler()
    during_import.addFilter(_DropBeamGcpNotice())
    root.addHandler(during_import)
    try:
        import_beam_lean(("apache_beam.runners.worker.sdk_worker_main",))
    finally:
        root.removeHandler(during_import)
    from apache_beam.runners.worker import sdk_worker_main

    from transforms import beam_speedups  # noqa: F401 - Beam caches and the finished-stream release
    # before the harness builds its data channel and starts its threads: the data-plane bounds, glibc's settings and
    # the trimmer reach this worker without ``--beam_plugins``
    from transforms import worker_memory  # noqa: F401
    from transforms.memory import arrow_on_system_allocator

    arrow_on_system_allocator()
    sdk_worker_main.main(argv)


if __name__ == "__main__":
    main(sys.argv)
