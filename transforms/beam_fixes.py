"""A fix for a data-loss race in Beam's local runner (Beam 2.77), installed on import.

Beam's FnApiRunner — what the DirectRunner runs, and what ``--direct_running_mode multi_processing`` or
``multi_threading`` use — sends every bundle's input to an SDK worker through a data-plane output stream of its
gRPC data service, which it creates with ``worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 1000``. With a time limit
the stream is a ``TimeBasedBufferingClosableOutputStream``: a ``PeriodicThread`` calls ``flush()`` every second,
and ``flush()`` does ``callback(self.get())`` and *then* ``self._clear()``, holding a lock that ``write()`` never
takes. The runner thread keeps writing the bundle's input chunks meanwhile; every chunk written between ``get()``
and ``_clear()`` — while the callback builds the gRPC message and queues it, which blocks whenever the data
plane's send queue is full — is wiped from the buffer and never sent. No error, no log: the worker processes
fewer elements, the stage's outputs are silently smaller. Embedded (``multi_threading``) workers get the same 1 s
limit for their output streams, written by the bundle thread.

Found in ``bench/scale.py`` runs that lost 375–4,265 documents under load (``bench/SCALE.md``, "Lost documents");
``bench/beam_flush_race.py`` reproduces it on Beam's class alone. Setting the limit to 0 gives the size-based
stream (flushed only by the writing thread itself, and at ``close()``); time-based flushing only lowers latency for
streaming pipelines, which Yuliao does not run on the local runner. Cluster runners (Dataflow, Flink, Spark) are
not affected: their runner side is Java and the Python workers' time limit defaults to 0.
"""
from __future__ import annotations


def install() -> bool:
    """Turn off the runner side's time-based data-plane flush in this process; True when done. Must run before the
    pipeline does (the runner reads the value when it starts its gRPC server)."""
    try:
        from apache_beam.runners.portability.fn_api_runner import worker_handlers
    except ImportError:  # a Beam without the local runner: nothing to fix
        return False
    if not hasattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS"):
        return False
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0
    return True


INSTALLED = install()

# the memory bounds of Beam's and glibc's defaults (issue #15) go wherever this fix goes: every pipeline process
from transforms import worker_memory  # noqa: E402,F401
