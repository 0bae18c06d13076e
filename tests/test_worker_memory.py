"""``transforms.worker_memory``: a worker's data-plane queues, output buffers and glibc heap stay bounded (issue #15).

* A stalled consumer: a real Beam data channel's outgoing queues stop at the new bound (the writing thread
  blocks; Beam's 100 MB queues would have taken it all), then every byte arrives once the consumer reads.
* The plugin reaches real SDK workers of the multi-process runner before their data channel is built, and their
  gRPC channels are opened without the BDP probe (a receive window that does not grow).
* ``Trimmer`` trims only when freed memory that is certainly resident has built up, and on glibc a trim returns
  the free pages inside a fragmented heap.
"""
from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import apache_beam as beam
import psutil
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.worker import data_plane
from apache_beam.testing.util import assert_that, equal_to

from transforms import worker_memory
from transforms.worker_memory import FLUSH_BYTES, QUEUE_BYTES, Trimmer

CHUNK = 1 << 20
WAIT_S = 20.0


def _wait_for(cond, timeout: float = WAIT_S) -> bool:
    """Poll ``cond`` until true or ``timeout``: waits on the condition, never races it."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if cond():
            return True
        tick.wait(0.01)
    return cond()


def test_outgoing_queues_stop_at_the_bound_while_the_consumer_is_stalled():
    assert data_plane._DEFAULT_SEND_QUEUE_MAX_BYTES == QUEUE_BYTES
    channel = data_plane._GrpcDataChannel()  # the base of the worker's client channel: queues + forwarder thread
    total = 120 * CHUNK  # fits in Beam's 2 × 100 MB queues: a writer would finish without the bound
    stream = channel.output_stream("bundle_1", "out_1")
    assert stream._size_flush_threshold == FLUSH_BYTES
    done = threading.Event()

    def write() -> None:
        for k in range(total // CHUNK):
            stream.write(bytes([k % 251]) * CHUNK)
            stream.maybe_flush()
        stream.close()
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    # both queues full: the forwarder waits on the send queue and the bundle thread on the pending queue
    assert _wait_for(lambda: channel._to_send._blocked_bytes > 0 and channel._pending_send._blocked_bytes > 0)
    queued = channel._to_send._byte_size + channel._pending_send._byte_size
    assert not done.is_set()
    assert queued <= 2 * QUEUE_BYTES

    received = bytearray()
    last = threading.Event()

    def consume() -> None:  # the gRPC side: what the runner would receive
        for elements in channel._write_outputs():
            for d in elements.data:
                received.extend(d.data)
                if d.is_last:
                    last.set()
                    return

    threading.Thread(target=consume, daemon=True).start()
    assert done.wait(WAIT_S) and last.wait(WAIT_S)
    writer.join(WAIT_S)
    assert len(received) == total
    assert received[:CHUNK] == bytes([0]) * CHUNK and received[-CHUNK:] == bytes([(total // CHUNK - 1) % 251]) * CHUNK


class _Report(beam.DoFn):
    """What the SDK worker running this DoFn has installed."""

    def process(self, _):
        from apache_beam.runners.worker.channel_factory import GRPCChannelFactory

        from transforms import worker_memory as wm

        yield (wm.is_sdk_worker(), sorted(set(wm.channel_queue_bytes())), wm._TRIMMER is not None,
               [o for o in GRPCChannelFactory.DEFAULT_OPTIONS if o[0] == "grpc.http2.bdp_probe"])


def test_plugin_bounds_the_real_workers_data_channel(monkeypatch):
    # the worker process unpickles _Report by reference to this module: let it import it
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    options = PipelineOptions(["--runner", "DirectRunner", "--direct_running_mode", "multi_processing",
                               "--direct_num_workers", "1", *worker_memory.PLUGIN_OPTIONS])
    with beam.Pipeline(options=options) as p:
        out = p | beam.Create([0]) | beam.ParDo(_Report())
        # the receive window of the worker's channels does not grow with the bandwidth-delay product
        assert_that(out, equal_to([(True, [QUEUE_BYTES], worker_memory.LIBC is not None,
                                    [("grpc.http2.bdp_probe", 0)])]))


def test_trimmer_trims_only_freed_memory_that_is_still_resident():
    free, trims = [0], []
    t = Trimmer(100, lambda: free[0], lambda: trims.append(free[0]), churn_checks=1000)
    free[0] = 99
    assert not t.check()
    free[0] = 150
    assert t.check() and trims == [150]
    assert not t.check()  # the same 150 free bytes, already returned: no second trim
    free[0] = 60  # reuse lowers the free count: the rest (60) may still be returned pages
    assert not t.check()
    free[0] = 159  # 99 freed since: resident for sure, but below 100
    assert not t.check()
    free[0] = 160
    assert t.check() and trims == [150, 160]


def test_trimmer_trims_a_flat_free_count_every_churn_checks_looks():
    """Reuse and frees in balance keep the count flat while returned pages come back: trim on a slow clock."""
    free, trims = [500], []
    t = Trimmer(100, lambda: free[0], lambda: trims.append(free[0]), churn_checks=3)
    assert t.check() and len(trims) == 1  # 500 freed since the start
    assert [t.check() for _ in range(5)] == [False, False, True, False, False]
    free[0] = 99  # below min_bytes free: nothing worth a trim, however long
    assert not any(t.check() for _ in range(10))


@pytest.mark.skipif(worker_memory.LIBC is None, reason="glibc only")
def test_malloc_trim_returns_the_free_pages_inside_a_fragmented_heap():
    libc = worker_memory.LIBC
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block, n = 4000, 40_000  # 160 MB below the mmap threshold: main heap
    ptrs = [libc.malloc(block) for _ in range(n)]
    for p in ptrs:
        ctypes.memset(p, 1, block)  # resident
    for k, p in enumerate(ptrs):
        if k % 16:  # keep every 16th block: the heap cannot shrink from its top, 15 of 16 blocks are free inside it
            libc.free(p)
    proc = psutil.Process()
    before = proc.memory_info().rss
    t = Trimmer(32 << 20, worker_memory.malloc_free_bytes, lambda: libc.malloc_trim(0), churn_checks=1000)
    assert worker_memory.malloc_free_bytes() >= 100 << 20
    assert t.check()
    after = proc.memory_info().rss
    for p in ptrs[::16]:
        libc.free(p)
    assert before - after >= 100 << 20


def test_dataflow_passes_the_plugin_on_its_own():
    """The Dataflow runner adds every imported ``BeamPlugin`` subclass to ``--beam_plugins``
    (``dataflow_runner.py``); the worker imports the module of that class path."""
    from apache_beam.utils.plugin import BeamPlugin

    assert "transforms.worker_memory.WorkerMemory" in BeamPlugin.get_all_plugin_paths()
