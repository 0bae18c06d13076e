"""Minimal reproduction of the Beam 2.77 data-plane race that lost documents in ``bench/scale.py`` runs.

    .venv/bin/python bench/beam_flush_race.py

Beam's local runner sends each bundle's input through ``TimeBasedBufferingClosableOutputStream`` (its data
service is created with ``worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 1000``). A ``PeriodicThread`` calls
``flush()``, which runs ``flush_callback(self.get())`` and then ``self._clear()``; ``write()`` takes no lock.
Whatever the writing thread writes while the callback runs (it builds the gRPC message and queues it, and blocks
when the send queue is full) is cleared without being sent.

This script drives exactly that interleaving with two events instead of timing luck: the writer writes chunk A,
the periodic flush starts and its callback waits until the writer has written chunk B, then returns; ``close()``
sends what is left. Beam's stream delivers A only: B is lost, silently. Then the same writes through the stream the
runner's data service hands out in this process, once as Beam ships it and once after ``transforms.beam_fixes``
(limit 0: size-based stream, no flusher thread): B is lost before the fix and delivered after it. Exit status 0
when the race shows on Beam's class and the fixed runner stream delivers every byte.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHUNK_A, CHUNK_B = b"A" * 1000, b"B" * 1000
WAIT_S = 5.0  # at most this long for a flush Beam schedules every 1 s (every 0.05 s for the class alone)


def interleave(make_stream) -> int:
    """Write A, let a flush start, write B while its callback runs, close: bytes delivered (2000 when nothing
    was lost). ``make_stream(close_cb, flush_cb)`` builds the stream under test."""
    delivered: list[bytes] = []
    flushing, wrote_b = threading.Event(), threading.Event()

    def flush_cb(data: bytes) -> None:  # runs on the stream's flusher thread, like Beam's add_to_send_queue
        delivered.append(data)
        flushing.set()
        wrote_b.wait(WAIT_S)  # the send queue is full: the callback blocks, the writer goes on

    def close_cb(data: bytes) -> None:
        delivered.append(data)

    stream = make_stream(close_cb, flush_cb)
    stream.write(CHUNK_A)
    flushing.wait(WAIT_S)  # a flush with A in the buffer has started (or, with no flusher, the wait ends)
    stream.write(CHUNK_B)
    wrote_b.set()
    stream.close()
    return sum(len(d) for d in delivered)


def beam_class(close_cb, flush_cb):
    from apache_beam.runners.worker.data_plane import TimeBasedBufferingClosableOutputStream

    return TimeBasedBufferingClosableOutputStream(close_cb, flush_callback=flush_cb, time_flush_threshold_ms=50)


def runner_stream(close_cb, flush_cb):
    """The stream the local runner's data service creates for a bundle's input, with its queueing replaced by
    the two callbacks (flushes → ``flush_cb``, close → ``close_cb``)."""
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    from apache_beam.runners.worker import data_plane

    servicer = data_plane.BeamFnDataServicer(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS)  # as GrpcServer does
    channel = servicer.get_conn_by_worker_id("worker_0")
    closing = threading.local()

    def enqueue(elem) -> None:
        if elem.is_last:
            return
        (close_cb if getattr(closing, "on", False) else flush_cb)(elem.data)

    channel._enqueue_to_send = enqueue
    stream = channel.output_stream("bundle_1", "transform")
    close = stream.close

    def close_marked() -> None:
        closing.on = True
        close()

    stream.close = close_marked
    return stream


def main() -> int:
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    shipped = worker_handlers.DATA_BUFFER_TIME_LIMIT_MS
    a = interleave(beam_class)
    print(f"TimeBasedBufferingClosableOutputStream: wrote 2000 bytes, delivered {a}")
    b = interleave(runner_stream)
    print(f"runner data service as shipped (DATA_BUFFER_TIME_LIMIT_MS={shipped}): delivered {b} of 2000")
    import transforms.beam_fixes  # noqa: F401

    c = interleave(runner_stream)
    print(f"after transforms.beam_fixes (DATA_BUFFER_TIME_LIMIT_MS={worker_handlers.DATA_BUFFER_TIME_LIMIT_MS}): "
          f"delivered {c} of 2000")
    return 0 if (a < 2000 and c == 2000) else 1


if __name__ == "__main__":
    raise SystemExit(main())
