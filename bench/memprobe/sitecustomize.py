"""Bench-only memory probe for Beam SDK worker processes (``bench/scale.py run --probe DIR``).

``bench/scale.py`` puts this directory first on ``PYTHONPATH`` of the pipeline process only when ``--probe`` is
given; Python imports ``sitecustomize`` at start-up in every process that inherits it, and the probe arms only
in SDK workers (the multi-process runner sets ``WORKER_ID`` in their environment). Nothing in the product
imports this file.

Every 0.5 s a thread appends ``t, rss, traced, traced_peak, where, out_q, in_q, py_blocks_k`` to ``DIR/w<pid>.tsv``:
``where`` is the user step name and innermost project frame (``transforms/``, ``bench/``) of the bundle-processing
thread, ``out_q``/``in_q`` the bytes waiting in the worker's data-plane queues, ``py_blocks_k`` the live blocks of
Python's object allocator (``sys.getallocatedblocks``, thousands: live Python objects, free of charge). When the
RSS passes the last dump's by 20% (and 300 MB), it also writes ``DIR/w<pid>-<n>.txt`` (resident memory by mapping
kind, every thread's stack) and, with ``YULIAO_MEMPROBE_FRAMES`` > 0, a tracemalloc snapshot of that many frames
(``DIR/w<pid>-<n>.tracemalloc``, read by ``bench/memprobe/report.py``). Tracemalloc costs CPU and inflates RSS (≈ 60 bytes per live block),
so compare its *traced* figures between runs, not the RSS of a probed run with an unprobed one.
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
    log.write("t\trss_mb\ttraced_mb\ttraced_peak_mb\twhere\tout_q_mb\tin_q_mb\tpy_blocks_k\n")
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
        log.write(f"{time.time() - t0:.1f}\t{rss / 2**20:.0f}\t{cur / 2**20:.0f}\t{peak / 2**20:.0f}\t{where}"
                  f"\t{out_q / 2**20:.0f}\t{in_q / 2**20:.0f}\t{sys.getallocatedblocks() // 1000}\n")
        if rss > max(300 * 2**20, last_dump * 1.2):
            last_dump, n = rss, n + 1
            with open(os.path.join(out_dir, f"w{pid}-{n:02d}.txt"), "w") as f:
                f.write(f"t={time.time() - t0:.1f}s rss={rss / 2**20:.0f}MB traced={cur / 2**20:.0f}MB\n{_maps()}\n")
                for tid, fr in stacks.items():
                    f.write(f"--- thread {tid}\n{''.join(traceback.format_stack(fr)[-12:])}\n")
                if tm:  # analysed offline (bench/memprobe/report.py): grouping millions of traces here takes minutes
                    tm.take_snapshot().dump(os.path.join(out_dir, f"w{pid}-{n:02d}.tracemalloc"))


def _grpc_options(spec: str) -> None:
    """Experiment: add channel options (``name=int;...``) to every gRPC channel this worker opens (Beam's data,
    control, state and logging channels), e.g. ``grpc.http2.bdp_probe=0`` to stop the HTTP/2 receive window
    from growing so the runner cannot push a whole bundle's input into the worker ahead of processing."""
    import grpc

    extra = [(k, int(v)) for k, v in (kv.split("=") for kv in spec.split(";") if kv)]
    orig = grpc.insecure_channel

    def insecure_channel(target, options=None, compression=None):
        return orig(target, options=list(options or []) + extra, compression=compression)

    grpc.insecure_channel = insecure_channel


if _DIR and os.environ.get("WORKER_ID"):
    import threading

    if os.environ.get("YULIAO_MEMPROBE_GRPC"):
        _grpc_options(os.environ["YULIAO_MEMPROBE_GRPC"])
    os.makedirs(_DIR, exist_ok=True)
    _track_data_channels()
    threading.Thread(target=_run, args=(_DIR, int(os.environ.get("YULIAO_MEMPROBE_FRAMES", "0"))),
                     daemon=True, name="yuliao-memprobe").start()
