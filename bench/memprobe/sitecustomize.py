"""Bench-only memory probe for Beam SDK worker processes (``bench/scale.py run --probe DIR``).

``bench/scale.py`` puts this directory first on ``PYTHONPATH`` of the pipeline process only when ``--probe`` is
given; Python imports ``sitecustomize`` at start-up in every process that inherits it, and the probe arms only
in SDK workers (the multi-process runner sets ``WORKER_ID`` in their environment). Nothing in the product
imports this file.

Every 0.5 s a thread appends ``t, rss, traced, traced_peak, where, out_q, in_q, py_blocks_k, malloc_used, malloc_free,
malloc_mmap, arrow, out_buf, out_bufs`` to ``DIR/w<pid>.tsv``:
``where`` is the user step name and innermost project frame (``transforms/``, ``bench/``) of the bundle-processing
thread, ``out_q``/``in_q`` the bytes waiting in the worker's data-plane queues, ``py_blocks_k`` the live blocks of
Python's object allocator (``sys.getallocatedblocks``, thousands: live Python objects, free of charge);
``malloc_*`` glibc's own account (``mallinfo2``: bytes in use and free in its arenas, bytes in its large ``mmap``
blocks), ``out_buf``/``out_bufs`` the bytes held by the bundle's buffered output streams and how many hold any
(``YULIAO_MEMPROBE_FLUSH_MB`` sets their flush threshold, 10 MB in Beam; ``YULIAO_MEMPROBE_RELEASE=1`` drops a
finished bundle's streams instead of keeping them in Beam's processor cache), ``arrow`` the bytes Arrow's memory pool has allocated (0 before pyarrow is imported) — so RSS that none of
these explains is pymalloc's arenas (also dumped: ``sys._debugmallocstats``), allocator slack or mapped files. When the
RSS passes the last dump's by 20% (and 300 MB), it also writes ``DIR/w<pid>-<n>.txt`` (resident memory by mapping
kind, every thread's stack) and, with ``YULIAO_MEMPROBE_FRAMES`` > 0, a tracemalloc snapshot of that many frames
(``DIR/w<pid>-<n>.tracemalloc``, read by ``bench/memprobe/report.py``). Tracemalloc costs CPU and inflates RSS (≈ 60 bytes per live block),
so compare its *traced* figures between runs, not the RSS of a probed run with an unprobed one. With
``YULIAO_MEMPROBE_OBJECTS=1`` each dump also lists the live Python objects of 1 MB or more and what holds them.
"""
import os
import sys

_DIR = os.environ.get("YULIAO_MEMPROBE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _where(frame) -> str:
    """``step | project frame`` of a bundle-processing thread's stack ("" for other threads): the innermost Beam
    operation's user step name and the innermost project frame (``transforms/``, ``bench/``)."""
    step, ours, processing = "", "", False
    f = frame
    while f is not None:
        fn = f.f_code.co_filename
        if "bundle_processor" in fn:
            processing = True
        if not ours and ("/transforms/" in fn or "/bench/" in fn) and "memprobe" not in fn:
            ours = f"{fn.rsplit('/', 2)[-2]}/{fn.rsplit('/', 1)[-1]}:{f.f_lineno}:{f.f_code.co_name}"
        if not step and "apache_beam" in fn:
            nc = getattr(f.f_locals.get("self"), "name_context", None)
            if nc is not None:
                step = str(getattr(nc, "user_name", None) or getattr(nc, "step_name", ""))
        f = f.f_back
    return f"{step} | {ours}" if processing else ""


def _maps() -> str:
    """Resident memory by mapping kind: [heap] (main malloc arena), anonymous (thread arenas, large mmaps,
    numpy/Arrow buffers), files; and the 8 largest anonymous mappings."""
    kinds: dict = {}
    anon: list = []
    name, size = "", 0
    with open("/proc/self/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anon]"
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                size = hi - lo
            elif parts[0] == "Rss:":
                kb = int(parts[1])
                kind = name if name.startswith("[") else ("file" if name else "[anon]")
                kinds[kind] = kinds.get(kind, 0) + kb
                if kind == "[anon]":
                    anon.append((kb, size))
    out = " ".join(f"{k}={v / 1024:.0f}MB" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    big = sorted(anon, reverse=True)[:8]
    return out + "\nlargest anon mappings (rss MB / size MB): " + ", ".join(
        f"{kb / 1024:.0f}/{sz / 2**20:.0f}" for kb, sz in big) + f"; {len(anon)} anon mappings\n"


class _MallInfo2(__import__("ctypes").Structure):
    _fields_ = [(n, __import__("ctypes").c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _malloc() -> tuple[int, int, int]:
    """glibc ``mallinfo2``: (bytes in use in malloc arenas, free bytes kept in them, bytes in mmapped blocks)."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    m = libc.mallinfo2()
    return m.uordblks, m.fordblks, m.hblkhd


def _arrow() -> int:
    pa = sys.modules.get("pyarrow")
    return pa.total_allocated_bytes() if pa is not None else 0


def _debugmallocstats() -> str:
    """The summary lines of ``sys._debugmallocstats()`` (pymalloc arenas and pools), which writes to C stderr:
    fd 2 is pointed at a temp file for the call."""
    import tempfile

    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        lines = f.read().decode(errors="replace").splitlines()
    keep = ("# arenas", "# bytes in", "# bytes lost", "Total", "# times object malloc", "# bytes in allocated")
    return "\n".join(line for line in lines if line.startswith(keep)) + "\n"


def _big_objects(min_bytes: int = 1 << 20, top: int = 12) -> str:
    """Live Python objects of at least ``min_bytes`` (``sys.getsizeof``) — containers tracked by the GC and the
    strings/bytes they hold — with what refers to each (types; frames by function). Such objects live outside
    pymalloc's arenas, so ``py_blocks_k`` does not see them; glibc counts them in ``malloc_mmap`` once they
    are above ``M_MMAP_THRESHOLD``. Costs a GC walk: only at dumps."""
    import gc

    seen: dict = {}
    x = None
    roots = gc.get_objects()  # frames' locals are not walked: reading f_locals would pin them (a leak)
    for o in roots:
        for x in (o, *(r for r in gc.get_referents(o) if type(r) in (bytes, str, bytearray))):
            if id(x) in seen:
                continue
            try:
                size = sys.getsizeof(x)
            except Exception:  # noqa: BLE001 - exotic objects
                continue
            if size >= min_bytes:
                seen[id(x)] = (size, x)
    rows = sorted(seen.values(), key=lambda t: -t[0])
    out = [f"{len(rows)} objects >= {min_bytes >> 20} MB, {sum(t[0] for t in rows) / 2**20:.0f} MB"]
    for size, x in rows[:top]:
        refs = []
        for r in gc.get_referrers(x):
            if r is seen or r is rows or r is roots:
                continue
            if type(r).__name__ == "frame":
                refs.append(f"frame {r.f_code.co_filename.rsplit('/', 2)[-1]}:{r.f_code.co_name}")
            else:
                refs.append(type(r).__name__ + (f"[{len(r)}]" if hasattr(r, "__len__") else ""))
        kind = type(x).__name__ + (f" len={len(x)}" if hasattr(x, "__len__") else "")
        first = ""
        if isinstance(x, (list, tuple, set, frozenset, dict)) and len(x):
            first = " items: " + type(next(iter(x))).__name__
        out.append(f"  {size / 2**20:7.1f} MB {kind}{first} <- {', '.join(refs[:6])}")
    del rows, seen, roots, x
    gc.collect()
    return "\n".join(out) + "\n"


_CHANNELS: list = []  # the worker's data channels (weak references), for the queue columns


def _track_data_channels() -> None:
    """Record every Beam data channel this worker creates, so the log can show the bytes waiting in its
    queues: ``out_q`` = outputs not yet taken by the runner (``_pending_send`` + ``_to_send``, bounded at
    100 MB each), ``in_q`` = received input chunks not yet processed (bounded at 5 chunks)."""
    import weakref

    from apache_beam.runners.worker import data_plane

    init = data_plane._GrpcDataChannel.__init__

    def __init__(self, *a, **kw):
        init(self, *a, **kw)
        _CHANNELS.append(weakref.ref(self))

    data_plane._GrpcDataChannel.__init__ = __init__


_STREAMS: list = []  # the worker's buffered output streams (weak references), for the out_buf column


def _track_output_streams(flush_mb: float) -> None:
    """Record every buffered output stream (``SizeBasedBufferingClosableOutputStream``: one per output of a
    running bundle, flushed to the runner only past its size threshold — 10 MB in Beam's Python SDK), so the log
    shows the bytes they hold (``out_buf``); ``flush_mb`` > 0 sets that threshold instead (experiment)."""
    import weakref

    from apache_beam.runners.worker import data_plane

    cls = data_plane.SizeBasedBufferingClosableOutputStream
    init = cls.__init__

    def __init__(self, *a, **kw):
        init(self, *a, **kw)
        if flush_mb > 0:
            self._size_flush_threshold = int(flush_mb * 2**20)
        _STREAMS.append(weakref.ref(self))

    cls.__init__ = __init__


def _release_closed_streams() -> None:
    """Experiment: drop a finished bundle's output streams. Beam's SDK worker caches a released bundle processor
    (``BundleProcessorCache.release``; shut down after 60 s unused) and its ``DataOutputOperation`` keeps the closed
    stream, whose buffer still holds the bundle's last unflushed output (up to the 10 MB flush threshold, in a
    buffer grown by doubling). On the local runner a bundle is a worker's whole share of a stage, so every cached
    stage keeps up to 10 MB per output; on a cluster runner's small bundles that tail is small."""
    from apache_beam.runners.worker import bundle_processor

    cls = bundle_processor.DataOutputOperation
    finish = cls.finish

    def released(self) -> None:
        finish(self)
        self.output_stream = None  # process_bundle sets a new one before the next bundle

    cls.finish = released


def _out_buf() -> tuple[int, int]:
    """(bytes held by live buffered output streams, how many of them hold any)."""
    total = live = 0
    for ref in list(_STREAMS):
        st = ref()
        if st is None:
            _STREAMS.remove(ref)
            continue
        try:
            size = st.size()
        except Exception:  # noqa: BLE001 - a closed stream
            continue
        total += size
        live += size > 0
    return total, live


def _queued() -> tuple[int, int]:
    out_q = in_q = 0
    for ref in _CHANNELS:
        ch = ref()
        if ch is not None:
            out_q += ch._pending_send._byte_size + ch._to_send._byte_size
            in_q += sum(q._byte_size for q in list(ch._received.values()))
    return out_q, in_q


def _run(out_dir: str, frames: int) -> None:
    import threading
    import time
    import traceback

    tm = None
    if frames > 0:
        import tracemalloc as tm

        tm.start(frames)
    pid, me = os.getpid(), threading.get_ident()
    t0 = time.time()
    last_dump, n = 0, 0
    log = open(os.path.join(out_dir, f"w{pid}.tsv"), "a", buffering=1)
    log.write("t\trss_mb\ttraced_mb\ttraced_peak_mb\twhere\tout_q_mb\tin_q_mb\tpy_blocks_k\tmalloc_used_mb"
              "\tmalloc_free_mb\tmalloc_mmap_mb\tarrow_mb\tout_buf_mb\tout_bufs\n")
    while True:
        time.sleep(0.5)
        rss = _rss()
        cur, peak = tm.get_traced_memory() if tm else (0, 0)
        stacks = {tid: f for tid, f in sys._current_frames().items() if tid != me}
        where = ";".join(sorted({w for w in (_where(f) for f in stacks.values()) if w})) or "-"
        try:
            out_q, in_q = _queued()
        except Exception:  # noqa: BLE001 - a probe never breaks the worker
            out_q = in_q = -2**20
        used, free, mmapped = _malloc()
        out_buf, out_bufs = _out_buf()
        log.write(f"{time.time() - t0:.1f}\t{rss / 2**20:.0f}\t{cur / 2**20:.0f}\t{peak / 2**20:.0f}\t{where}"
                  f"\t{out_q / 2**20:.0f}\t{in_q / 2**20:.0f}\t{sys.getallocatedblocks() // 1000}"
                  f"\t{used / 2**20:.0f}\t{free / 2**20:.0f}\t{mmapped / 2**20:.0f}\t{_arrow() / 2**20:.0f}"
                  f"\t{out_buf / 2**20:.0f}\t{out_bufs}\n")
        if rss > max(300 * 2**20, last_dump * 1.2):
            last_dump, n = rss, n + 1
            with open(os.path.join(out_dir, f"w{pid}-{n:02d}.txt"), "w") as f:
                f.write(f"t={time.time() - t0:.1f}s rss={rss / 2**20:.0f}MB traced={cur / 2**20:.0f}MB\n{_maps()}\n")
                f.write(f"malloc used={used / 2**20:.0f}MB free={free / 2**20:.0f}MB mmap={mmapped / 2**20:.0f}MB "
                        f"arrow={_arrow() / 2**20:.0f}MB\n{_debugmallocstats()}\n")
                if os.environ.get("YULIAO_MEMPROBE_OBJECTS"):
                    f.write(_big_objects() + "\n")
                for tid, fr in stacks.items():
                    f.write(f"--- thread {tid}\n{''.join(traceback.format_stack(fr)[-12:])}\n")
                if tm:  # analysed offline (bench/memprobe/report.py): grouping millions of traces here takes minutes
                    tm.take_snapshot().dump(os.path.join(out_dir, f"w{pid}-{n:02d}.tracemalloc"))


def _grpc_options(spec: str) -> None:
    """Experiment: set channel options (``name=int;...``) on every gRPC channel this worker opens (Beam's data,
    control, state and logging channels), replacing any the worker sets itself: ``grpc.http2.bdp_probe=1`` gives
    back gRPC's growing receive window, which ``transforms.worker_memory.GRPC_OPTIONS`` turns off (the A/B of
    ``bench/SCALE.md`` "Session 9")."""
    import grpc

    extra = [(k, int(v)) for k, v in (kv.split("=") for kv in spec.split(";") if kv)]
    keys = {k for k, _ in extra}
    orig = grpc.insecure_channel

    def insecure_channel(target, options=None, compression=None):
        kept = [o for o in (options or []) if o[0] not in keys]
        return orig(target, options=kept + extra, compression=compression)

    grpc.insecure_channel = insecure_channel


if os.environ.get("YULIAO_SWITCH_INTERVAL"):  # stress test: GIL hand-offs this often (s), in every process
    sys.setswitchinterval(float(os.environ["YULIAO_SWITCH_INTERVAL"]))

if os.environ.get("YULIAO_DATATRACE"):  # data-plane accounting, runner and workers (bench/memprobe/datatrace.py)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import datatrace

    datatrace.install(os.environ["YULIAO_DATATRACE"], "worker" if os.environ.get("WORKER_ID") else "runner")

if _DIR and os.environ.get("WORKER_ID"):
    import threading

    if os.environ.get("YULIAO_MEMPROBE_GRPC"):
        _grpc_options(os.environ["YULIAO_MEMPROBE_GRPC"])
    os.makedirs(_DIR, exist_ok=True)
    _track_data_channels()
    _track_output_streams(float(os.environ.get("YULIAO_MEMPROBE_FLUSH_MB", "0")))
    if os.environ.get("YULIAO_MEMPROBE_RELEASE"):
        _release_closed_streams()
    threading.Thread(target=_run, args=(_DIR, int(os.environ.get("YULIAO_MEMPROBE_FRAMES", "0"))),
                     daemon=True, name="yuliao-memprobe").start()
