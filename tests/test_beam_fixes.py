"""``transforms.beam_fixes``: the local runner's data-plane streams must not drop what is written while a flush runs.

The interleaving that lost documents (``bench/SCALE.md``, "Lost documents") is driven with events, not timing: the
runner thread writes chunk A, a flush with A in the buffer starts and its callback (queueing the gRPC message)
blocks until the runner thread has written chunk B; then the stream is closed. Every byte must be delivered.
"""
from __future__ import annotations

import threading

import transforms.stage  # noqa: F401 - what every pipeline imports; installs transforms.beam_fixes
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.worker import data_plane

A, B = b"A" * 1000, b"B" * 1000
WAIT_S = 2.5  # Beam's runner flushes every 1 s when its time limit is on


def _interleave(stream_for) -> list[bytes]:
    """Bytes delivered (flushes then close) when B is written while a flush of A is in its callback."""
    delivered: list[bytes] = []
    flushing, wrote_b = threading.Event(), threading.Event()
    closing = threading.Event()

    def send(data: bytes) -> None:
        delivered.append(data)
        if not closing.is_set():  # a flush on the stream's flusher thread: the send queue is full, it waits
            flushing.set()
            wrote_b.wait(WAIT_S)

    stream = stream_for(send)
    stream.write(A)
    flushing.wait(WAIT_S)  # returns at once if a flusher took A; times out when nothing flushes behind our back
    stream.write(B)
    wrote_b.set()
    closing.set()
    stream.close()
    return delivered


def _runner_stream(send):
    """The output stream the local runner's data service gives a bundle's input, built as ``GrpcServer`` builds
    the service; its gRPC queueing replaced by ``send``."""
    channel = data_plane.BeamFnDataServicer(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS).get_conn_by_worker_id("w")
    channel._enqueue_to_send = lambda elem: None if elem.is_last else send(elem.data)
    return channel.output_stream("bundle_1", "transform_1")


def test_runner_input_stream_delivers_what_is_written_during_a_flush():
    assert b"".join(_interleave(_runner_stream)) == A + B


def test_embedded_workers_get_no_time_based_flush_either():
    """``multi_threading`` workers take the same module value for their output streams."""
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0
    stream = data_plane.ClosableOutputStream.create(lambda d: None, lambda d: None,
                                                    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS)
    assert not isinstance(stream, data_plane.TimeBasedBufferingClosableOutputStream)


def test_beam_still_has_the_race_this_fixes():
    """Beam's time-based stream loses B. When a Beam upgrade makes this fail, the race is fixed upstream:
    ``transforms.beam_fixes`` can go (and this test with it)."""
    delivered = _interleave(lambda send: data_plane.TimeBasedBufferingClosableOutputStream(
        send, flush_callback=send, time_flush_threshold_ms=50))
    assert b"".join(delivered) == A
