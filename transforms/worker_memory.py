"""Bounds on what a Beam SDK worker keeps in memory whatever the corpus size (issue #15), installed on import.

Measured in ``bench/SCALE.md`` ("What 1M adds"): from 200k to 1M documents a worker's peak grew by 1.53× in places
that are not our DoFns' state but Beam's and glibc's defaults. Each is bounded here, in every process that imports
``transforms.stage`` (the launcher, the local runner and every SDK worker):

* **Outgoing data plane.** A worker queues its outputs for the runner in two ``ByteLimitedQueue`` s of 100 MB each
  (``data_plane._DEFAULT_SEND_QUEUE_MAX_BYTES``: ``_pending_send`` then ``_to_send``), so a consumer that lags — the
  local runner holding 13 GB of PCollections at 1M, or a slow shuffle on a cluster — makes the worker hold 200 MB
  of encoded outputs (180 MB at the 1M peak). ``QUEUE_BYTES`` bounds each queue (and the per-bundle receive
  queues, which take the same constant): the bundle thread blocks sooner, which is back-pressure, not loss.
  Beam reads the constant when it creates a channel, which on a worker happens while the first bundle processor
  is built — before any DoFn imports this module — and the queues cannot be changed afterwards: a worker gets the
  bound only through Beam's plugin hook (``PLUGIN_OPTIONS``: ``--beam_plugins``, imported at worker start).
* **Incoming data plane.** A worker's gRPC channels probe the bandwidth-delay product and grow the HTTP/2 receive
  window with it (``grpc.http2.bdp_probe``, on by default), so a runner that pushes a stage's input faster than
  the bundle thread decodes it parks megabytes of received slices in the worker's malloc heap, and their churn
  leaves free-but-resident pages behind: at 100k documents glibc's heap in use at the peak fell from 88–127 MB to
  60–66 MB without the probe, at unchanged wall and CPU (``bench/SCALE.md``, "Session 9"). ``GRPC_OPTIONS`` turns the
  probe off on every channel Beam's worker opens (``GRPCChannelFactory``: control, data, state, logging); the
  window stays at gRPC's fixed default and the bounded receive queue above is what reads ahead.
* **Output buffers.** Every output of a running bundle buffers its encoded elements until 10 MB
  (``_DEFAULT_SIZE_FLUSH_THRESHOLD``, a default argument no option sets); a fused stage has 40–60 outputs, and on
  the local runner (one bundle per worker per stage) they all fill up as the corpus grows (26–30 MB at 10k, 50–90
  MB from 100k on). ``FLUSH_BYTES`` flushes each past 1 MiB. Safe since ``transforms.beam_fixes`` removed the
  time-based flush race: more, smaller messages, the same bytes in the same order.
* **glibc.** Python's many threads (gRPC, Beam's data plane) get up to 8 × cores malloc arenas, and glibc keeps
  freed memory in them: 100–260 MB free but resident at 1M. In SDK workers ``tune_malloc`` sets what
  ``MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_TRIM_THRESHOLD_=1048576`` set (the "tuned" rows;
  other processes get the two arenas only), through ``mallopt`` so a worker gets it without its launcher's
  environment, and ``Trimmer`` calls ``malloc_trim(0)``
  when at least ``TRIM_BYTES`` of freed memory has built up since the last trim, which also returns the free pages
  inside a fragmented heap (the ``MALLOC_TRIM_THRESHOLD_`` only returns the heap's top).

Nothing here changes an output byte (``bench/scale.py`` rows carry ``output_sha256``). Not Linux/glibc: the malloc
parts do nothing.
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
from typing import Callable, Optional

from apache_beam.utils.plugin import BeamPlugin

QUEUE_BYTES = 4 << 20
"""Bytes per data-plane queue (Beam: 100 MB). A queue always takes one element, however big, so a received chunk
larger than this still passes; four 1 MiB-flushed outputs keep the sender busy. At 1M documents the runner lagged
and 16 MiB queues held 15–27 MB at the workers' peaks (``bench/SCALE.md`` "Session 9")."""
FLUSH_BYTES = 1 << 20
"""Bytes an output stream of a running bundle buffers before it is sent (Beam: 10 MB)."""
TRIM_BYTES = 32 << 20
"""Freed-but-resident bytes in glibc's arenas that make the trimmer call ``malloc_trim(0)``."""
TRIM_EVERY_S = 1.0
"""How often the trimmer reads glibc's account (``mallinfo2``: a walk of the free lists, well under 1 ms)."""
TRIM_CHURN_CHECKS = 5
"""Looks after which the trimmer trims anyway while ``TRIM_BYTES`` are free (see ``Trimmer``)."""
MALLOPT = {"MALLOC_ARENA_MAX": (-8, 2), "MALLOC_MMAP_THRESHOLD_": (-3, 1 << 20),
           "MALLOC_TRIM_THRESHOLD_": (-1, 1 << 20)}
"""``mallopt`` settings by the environment variable that would set them (which wins when set): M_ARENA_MAX=2,
M_MMAP_THRESHOLD=1 MiB (blocks this big are mmapped, so returned on free), M_TRIM_THRESHOLD=1 MiB."""
GRPC_OPTIONS = [("grpc.http2.bdp_probe", 0)]
"""Channel options added to every gRPC channel Beam's SDK worker opens: a receive window that does not grow."""
SDK_WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _glibc() -> Optional[ctypes.CDLL]:
    """The C library when it is glibc ≥ 2.33 (``mallinfo2``, ``malloc_trim``, ``mallopt``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # musl, or a glibc without mallinfo2
        return None
    return libc


LIBC = _glibc()


def malloc_free_bytes() -> int:
    """Bytes glibc keeps free in its arenas (``mallinfo2().fordblks``; pages already trimmed count too); 0
    without glibc."""
    return int(LIBC.mallinfo2().fordblks) if LIBC is not None else 0


def tune_malloc(only: Optional[tuple[str, ...]] = None) -> bool:
    """Apply ``MALLOPT`` (or its ``only`` entries) in this process, except what the environment sets; True when
    glibc took every setting."""
    if LIBC is None:
        return False
    return all(LIBC.mallopt(param, value) == 1 for env, (param, value) in MALLOPT.items()
               if env not in os.environ and (only is None or env in only))


class Trimmer:
    """Calls ``malloc_trim(0)`` when freed memory has grown by ``min_bytes`` since the last trim, and every
    ``churn_checks`` looks while at least ``min_bytes`` are free.

    glibc's free count includes pages a trim already returned, so "free ≥ N" alone would trim every look once the
    heap is fragmented. Reuse of returned pages lowers the free count unless as much is freed elsewhere: the lowest
    free count seen since the last trim bounds what is still returned, so (free now − that minimum) is freed memory
    that is certainly resident — the fast trigger. Under steady churn (a document's text allocated, another's
    freed) the count stays flat while returned pages come back one by one: the slow trigger covers that."""

    def __init__(self, min_bytes: int, free_bytes: Callable[[], int], trim: Callable[[], object],
                 churn_checks: int):
        self.min_bytes = min_bytes
        self.free_bytes = free_bytes
        self.trim = trim
        self.churn_checks = churn_checks
        self.floor = 0
        self.since = 0
        self.trims = 0

    def check(self) -> bool:
        """One look; True when it trimmed."""
        free = self.free_bytes()
        self.floor = min(self.floor, free)
        self.since += 1
        if free - self.floor < self.min_bytes and (self.since < self.churn_checks or free < self.min_bytes):
            return False
        self.trim()
        self.trims += 1
        self.floor = self.free_bytes()
        self.since = 0
        return True

    def run(self, stop: threading.Event, every_s: float) -> None:
        while not stop.wait(every_s):
            self.check()


def trim() -> bool:
    """``malloc_trim(0)``: give glibc's free pages back to the system (glibc only); True when it ran."""
    if LIBC is None:
        return False
    LIBC.malloc_trim(0)
    return True


def is_sdk_worker() -> bool:
    """True in a process started as Beam's SDK worker (``python -m apache_beam.runners.worker.sdk_worker_main``:
    the local runner's ``multi_processing`` workers, Dataflow's, and the portable runners' process/docker workers)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == SDK_WORKER_MAIN or SDK_WORKER_MAIN in sys.modules


def bound_data_plane(queue_bytes: int, flush_bytes: int) -> None:
    """Lower Beam's data-plane queue bound and output flush size for the channels and streams this process creates
    from now on (a channel's queues are Cython objects whose bounds cannot change once built: hence the plugin)."""
    from apache_beam.runners.worker import data_plane

    data_plane._DEFAULT_SEND_QUEUE_MAX_BYTES = queue_bytes  # read when a channel or a bundle's receive queue is made
    cls = data_plane.SizeBasedBufferingClosableOutputStream
    if not hasattr(cls.__init__, "yuliao_flush_bytes"):
        init = cls.__init__

        def __init__(self, *a, **kw):
            init(self, *a, **kw)
            self._size_flush_threshold = min(self._size_flush_threshold, __init__.yuliao_flush_bytes)

        __init__.__wrapped__ = init  # type: ignore[attr-defined]
        cls.__init__ = __init__
    cls.__init__.yuliao_flush_bytes = flush_bytes  # type: ignore[attr-defined]


def bound_grpc_window(options: list[tuple[str, int]]) -> None:
    """Add ``options`` to the options Beam's ``GRPCChannelFactory`` gives every channel an SDK worker opens from
    now on (the worker's control channel is opened after the plugin is imported, its data channels later)."""
    from apache_beam.runners.worker.channel_factory import GRPCChannelFactory

    present = GRPCChannelFactory.DEFAULT_OPTIONS
    GRPCChannelFactory.DEFAULT_OPTIONS = present + [o for o in options if o not in present]


def channel_queue_bytes() -> list[int]:
    """The byte bounds of every live data channel's outgoing queues in this process (what the plugin test reads)."""
    from apache_beam.runners.worker import data_plane

    return [q.max_bytes for obj in gc.get_objects() if isinstance(obj, data_plane._GrpcDataChannel)
            for q in (obj._pending_send, obj._to_send)]


_TRIMMER: Optional[Trimmer] = None


def start_trimmer(min_bytes: int = TRIM_BYTES, every_s: float = TRIM_EVERY_S,
                  churn_checks: int = TRIM_CHURN_CHECKS) -> Optional[Trimmer]:
    """Start the trimming thread once per process (glibc only); the running ``Trimmer``."""
    global _TRIMMER
    if _TRIMMER is None and LIBC is not None:
        _TRIMMER = Trimmer(min_bytes, malloc_free_bytes, trim, churn_checks)
        threading.Thread(target=_TRIMMER.run, args=(threading.Event(), every_s), name="yuliao-malloc-trim",
                         daemon=True).start()
    return _TRIMMER


def install() -> dict:
    """Everything above, once per process; what was done (tests and the bench read it)."""
    bound_data_plane(QUEUE_BYTES, FLUSH_BYTES)
    bound_grpc_window(GRPC_OPTIONS)
    worker = is_sdk_worker()
    # the 1 MiB mmap/trim thresholds in SDK workers only: in a process that runs a whole local build (the
    # in-memory DirectRunner) they map and fault in every large buffer anew (a re-select spent 0.6 of its 4 CPU-s
    # in the kernel for it); two arenas everywhere (the multi-process runner's launcher, with its many gRPC
    # threads, took 589 MB instead of 397 at 10k documents without any tuning)
    return {"malloc_tuned": tune_malloc() if worker else tune_malloc(("MALLOC_ARENA_MAX",)),
            "trimmer": start_trimmer() is not None if worker else False}


class WorkerMemory(BeamPlugin):
    """Makes Beam import this module in every SDK worker before it builds its data channel (``--beam_plugins``).
    The Dataflow runner passes every ``BeamPlugin`` subclass the launcher has imported on its own; the local
    and portable runners need ``PLUGIN_OPTIONS`` in the pipeline options."""


PLUGIN_OPTIONS = [f"--beam_plugins={__name__}"]
"""Pipeline options that install this module in every SDK worker at its start (Beam imports the module)."""


INSTALLED = install()
