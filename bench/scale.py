"""Per-worker memory and CPU per document of dedup + sinks vs corpus size, on the multi-process runner.

    nice .venv/bin/python bench/scale.py run [--sizes 10000 100000] [--variants base reject30 boilerplate]

Documents come from real paragraphs (``bench/dedup_scale.synth``: Gutenberg English and Chinese books in
../shared/data, 3 paragraphs per document, 5% edited and 2% exact copies; generated in 16 shards inside
the pipeline, each with its own seed, so copies stay within a shard). Variants:

* ``base`` — as generated;
* ``reject30`` — a further 30% of documents are exact copies of earlier ones (same shard), so ~35% leave as
  rejects and the rejects writer carries real volume;
* ``boilerplate`` — every document is the same ~6k-character templated page (boilerplate from the same
  books) around two paragraphs of its own (distinct texts, so exact dedup leaves them), so all ``n`` documents
  share band hashes: one ``n``-member LSH bucket per band (the windowed path) and one ``n``-member near-duplicate
  cluster.

Each run is one ``yuliao``-style pipeline (generation in 16 shards → dedup → data and rejects sinks) on the
DirectRunner with ``--direct_running_mode multi_processing --direct_num_workers 2``, in its own process. A
sampler (psutil, every 0.2 s) records the peak RSS of **each SDK worker process separately** from the runner
process (the kernel's high-water mark ``VmHWM`` of each worker, which no sampling gap misses; rows before session 9
have the sampled RSS only): the DirectRunner keeps every PCollection between stages in its own memory by design (it is the
"shuffle service" here), so the runner's RSS grows with the data and is reported apart, as
``runner_peak_rss_mb``; on Dataflow/Flink/Spark that memory is the service's shuffle. CPU is the whole
process tree's user+system time (``RUSAGE_CHILDREN`` after the run), per document, and apart: the SDK workers'
(``worker_cpu_s``, what a cluster's workers spend) and the runner process's (``runner_cpu_s``, its in-memory
shuffle), both as last sampled. ``shuffle_mb`` is what the workers sent into every ``GroupByKey``, encoded, counted
in the runner (``count_shuffle_bytes``; rows before session 10 lack it). ``--shard-mb`` (default 8) sets
``sink.shard_bytes`` and ``--piece-mb`` (default 1) ``sink.piece_bytes``: this runner hands a worker a group as one
decoded list, so the sink groups a bigger shard in pieces of that size. Each row records ``lost`` (documents
neither kept nor rejected: must be 0) and digests of the output files and stats (same documents and settings:
same digests, whatever the runner or memory settings). Results are appended to
``bench/work/results/scale.jsonl``; ``bench/SCALE.md`` holds the figures.

Why a worker's RSS grows with the corpus on this runner, and the A/B that shows it (``bench/SCALE.md``):

* ``--bounded-input`` patches Beam's FnApiRunner in the pipeline process (``transforms/streamed_input.py``, which a
  Yuliao local multi-process build installs with 1 MB chunks) so a bundle's input is streamed in ≤ 8 MB chunks
  (``--chunk-mb``) after the ProcessBundleRequest, as cluster runners do, instead of one message holding the
  worker's whole share of the stage input (rows say ``runner_input``);
* ``--probe DIR`` arms ``bench/memprobe`` in the SDK workers (RSS / step / data-plane queues / live Python blocks
  every 0.5 s, stacks at each +20% RSS; ``--probe-frames N`` adds tracemalloc snapshots, ``--probe-grpc`` sets
  gRPC channel options, ``--probe-flush-mb`` / ``--probe-release-streams`` the two output-buffer experiments of
  ``bench/SCALE.md``). glibc tunables (``MALLOC_*``) set around the command reach the workers and are recorded.

Every run passes ``transforms.worker_memory.PLUGIN_OPTIONS`` (``--beam_plugins``), so each SDK worker bounds
Beam's data-plane queues before its first bundle, as a Yuliao build's workers should (``--no-worker-plugin``: not).

Lost documents (``bench/SCALE.md``, "Lost documents"): ``--pause-ms MS`` [``--pause-runner-only``] loads the run
without spending CPU (SIGSTOP/SIGCONT of random processes), ``--trace-data DIR`` accounts for every data-plane
message and runner buffer (``bench/memprobe/datatrace.py``), ``--unfixed`` undoes ``transforms/beam_fixes.py`` in the
runner; every run's full stats go to ``bench/work/results/scale_stats.jsonl`` to compare a run that lost data with
its peers counter by counter.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARDS = 16
RUNNER = ["--runner", "DirectRunner", "--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]


def docs_for(variant: str, n: int, shard: int, data: Path):
    """The ``shard``-th of SHARDS slices of variant's n documents (deterministic)."""
    from bench.dedup_scale import paragraphs, synth

    lo, hi = n * shard // SHARDS, n * (shard + 1) // SHARDS
    if variant == "boilerplate":
        from schemas.document import Document

        en, _ = paragraphs(data)
        template = "\n\n".join(en[:40])[:6000]
        rng = random.Random(1000 + shard)
        for i in range(lo, hi):
            # two paragraphs, so that exact dedup keeps (almost) every document and the bucket has ~n members (one
            # paragraph: at 100k, exact copies left an 18k-member bucket; rows before session 9 used one)
            own = en[rng.randrange(40, len(en))] + "\n\n" + en[rng.randrange(40, len(en))]
            yield Document(id=f"doc{i:07d}", text=f"{template}\n\n{own}", source="web", origin="synth", lang="en")
        return
    rng = random.Random(2000 + shard)
    made: list = []
    for k, d in enumerate(synth(hi - lo, data, seed=shard)):  # each shard its own seed; copies within it
        d = d._replace(id=f"doc{lo + k:07d}")
        if variant == "reject30" and made and rng.random() < 0.30:  # an exact copy of an earlier text
            src = made[rng.randrange(len(made))]
            d = d._replace(text=src.text, lang=src.lang)
        elif len(made) < 5000:
            made.append(d)
        yield d


def count_shuffle_bytes() -> dict:
    """Count, in this (runner) process, the bytes data-plane messages carry into every ``GroupByKey`` buffer of the
    FnApiRunner (``GroupingBuffer.append``): the shuffle's volume as workers encode it, what a cluster's shuffle
    service would receive. The returned dict is updated as the pipeline runs."""
    from apache_beam.runners.portability.fn_api_runner import execution

    counts = {"bytes": 0, "messages": 0}
    original = execution.GroupingBuffer.append

    def append(self, elements_data: bytes) -> None:
        counts["bytes"] += len(elements_data)
        counts["messages"] += 1
        original(self, elements_data)

    execution.GroupingBuffer.append = append
    return counts


def one(variant: str, n: int, data: Path, out: Path, workdir: Path, shard_mb: float, bounded_input: bool,
        piece_mb: float, chunk_mb: float) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.recipe import load_recipe
    from transforms.dedup import stage
    from transforms.sinks import write_documents, write_rejects

    if os.environ.get("YULIAO_BEAM_UNFIXED"):  # A/B: Beam's own 1 s runner-side flush (transforms/beam_fixes.py)
        from apache_beam.runners.portability.fn_api_runner import worker_handlers

        worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 1000
    if bounded_input:
        from transforms.streamed_input import install

        install(int(chunk_mb * 1e6))
    from transforms.worker_memory import PLUGIN_OPTIONS

    plugin = [] if os.environ.get("YULIAO_BENCH_NO_PLUGIN") else PLUGIN_OPTIONS  # A/B: Beam's data-plane bounds
    recipe = load_recipe(None, [f"sink.shard_bytes={int(shard_mb * 2**20)}", f"sink.piece_bytes={int(piece_mb * 2**20)}"])
    shuffled = count_shuffle_bytes()
    with beam.Pipeline(options=PipelineOptions(RUNNER + plugin)) as p:
        docs = (p | beam.Create(list(range(SHARDS)))
                | "synth" >> beam.FlatMap(lambda s, v=variant, k=n, d=str(data): docs_for(v, k, s, Path(d))))
        res = stage(docs, recipe)
        _, dstats = write_documents(res.main, str(workdir), recipe.sink)
        _, rstats = write_rejects(res.rejects, str(workdir), recipe.sink)
        ((res.stats, dstats, rstats) | beam.Flatten() | beam.CombinePerKey(sum) | beam.combiners.ToList()
         | beam.Map(lambda kv, path=str(out): Path(path).write_text(json.dumps(dict(kv)))))
    Path(str(out) + ".shuffle").write_text(json.dumps(shuffled))


def output_digest(root: Path) -> str:
    """sha256 over every output file's relative path and bytes, in path order: equal digests = identical output."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def pauser(root, max_ms: float, stop: threading.Event, seed: int = 0, runner_only: bool = False) -> dict:
    """Simulate an overloaded machine without spending CPU: until ``stop``, every 10–60 ms stop one random process
    of ``root``'s tree (runner or SDK worker) with SIGSTOP for 0–``max_ms`` ms, then SIGCONT it. Threads of one
    process stall together, as under CPU contention, so every gRPC stream, queue and timeout sees the delays a
    load average of 10 causes; ``runner_only``: only the runner, so the workers' outgoing queues fill up (a
    runner that drains slowly). Returns counters (pauses, paused seconds)."""
    import psutil
    import signal

    rng = random.Random(seed)
    done = {"pauses": 0, "paused_s": 0.0}
    while not stop.is_set():
        try:
            procs = [root] + ([] if runner_only else root.children(recursive=True))
        except psutil.Error:
            break
        p = rng.choice(procs)
        ms = rng.uniform(0, max_ms)
        try:
            p.send_signal(signal.SIGSTOP)
            try:
                stop.wait(ms / 1000)
            finally:
                p.send_signal(signal.SIGCONT)
            done["pauses"] += 1
            done["paused_s"] += ms / 1000
        except psutil.Error:
            pass
        stop.wait(rng.uniform(0.01, 0.06))
    return done


def hwm(pid: int) -> int:
    """The kernel's peak resident set of ``pid`` so far (``VmHWM``, bytes; 0 off Linux): sampling RSS every 0.2 s
    misses short peaks (a 1M run's worker: 418 MB sampled, 430 MB seen by the probe between samples)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(cmd: list[str], log: Path, env: dict | None = None, pause_ms: float = 0,
            pause_runner_only: bool = False) -> dict:
    """Run ``cmd``; peak RSS of the runner process and of each worker process separately, CPU of the tree.
    ``pause_ms`` > 0: ``pauser`` runs beside it (the RSS figures of such a run mean nothing)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    root = psutil.Process(proc.pid)
    peaks: dict[int, int] = {}
    cpu: dict[int, float] = {}  # user+system seconds at each process's last sample (the runner's under pid 0)
    runner_peak = 0
    stop = threading.Event()

    def sample():
        nonlocal runner_peak
        while not stop.is_set():
            try:
                runner_peak = max(runner_peak, root.memory_info().rss, hwm(root.pid))
                t = root.cpu_times()
                cpu[0] = t.user + t.system
                for c in root.children(recursive=True):
                    try:
                        peaks[c.pid] = max(peaks.get(c.pid, 0), c.memory_info().rss, hwm(c.pid))
                        t = c.cpu_times()
                        cpu[c.pid] = t.user + t.system
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    paused: dict = {}
    if pause_ms:
        pt = threading.Thread(target=lambda: paused.update(pauser(root, pause_ms, stop, 0, pause_runner_only)),
                              daemon=True)
        pt.start()
    rc = proc.wait()
    stop.set()
    th.join()
    if pause_ms:
        pt.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_pids = [pid for pid, v in peaks.items() if v > 60 * 2**20]  # SDK workers, not shells
    workers = sorted((peaks[pid] for pid in worker_pids), reverse=True)
    # CPU of the SDK workers (what a cluster's workers do) apart from the runner process's (its in-memory
    # shuffle: every PCollection kept, grouped and re-encoded); both as last sampled (≤ 0.2 s short)
    return {"rc": rc, "wall_s": time.perf_counter() - t0,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "worker_cpu_s": round(sum(cpu.get(pid, 0.0) for pid in worker_pids), 1),
            "runner_cpu_s": round(cpu.get(0, 0.0), 1),
            "runner_peak_rss_mb": runner_peak / 2**20,
            "worker_peak_rss_mb": [round(v / 2**20, 1) for v in workers], **paused}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path.insert(0, str(REPO))
    data_default = os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data"))
    if argv and argv[0] == "_one":
        one(argv[1], int(argv[2]), Path(argv[3]), Path(argv[4]), Path(argv[5]), float(argv[6]), argv[7] == "bounded",
            float(argv[8]), float(argv[9]))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--variants", nargs="+", default=["base", "reject30", "boilerplate"])
    ap.add_argument("--data", default=data_default)
    ap.add_argument("--shard-mb", type=float, default=8.0,
                    help="sink.shard_bytes: the DirectRunner hands a worker a whole shard group as one list")
    ap.add_argument("--piece-mb", type=float, default=1.0,
                    help="sink.piece_bytes: a shard bigger than this reaches a worker in pieces of about this size")
    ap.add_argument("--chunk-mb", type=float, default=8.0,
                    help="with --bounded-input: MB (10^6 bytes) per data-plane message; 1 = Beam's Java runner side")
    ap.add_argument("--bounded-input", action="store_true",
                    help="patch the FnApiRunner to stream bundle input in 8 MB chunks (transforms/streamed_input.py)")
    ap.add_argument("--pause-ms", type=float, default=0,
                    help="stop a random process of the run (runner or worker) for up to this many ms, every 10-60 ms "
                         "(SIGSTOP/SIGCONT): an overloaded machine without the CPU cost "
                         "(bench/SCALE.md, lost documents)")
    ap.add_argument("--pause-runner-only", action="store_true", help="with --pause-ms: pause only the runner process")
    ap.add_argument("--switch-interval", type=float, default=0,
                    help="with --probe: sys.setswitchinterval in the runner and every worker "
                         "(Python's default 0.005 s); "
                         "a tiny value hands the GIL over far more often, to shake out thread races")
    ap.add_argument("--trace-data", metavar="DIR",
                    help="count every data-plane message per bundle and output in the runner and the workers "
                         "(bench/memprobe/datatrace.py DIR matches what one side sent with what the other got)")
    ap.add_argument("--unfixed", action="store_true",
                    help="undo transforms/beam_fixes.py in the runner (Beam's 1 s periodic flush of bundle input, "
                         "which drops what is written while it runs): the A/B for the lost documents")
    ap.add_argument("--no-worker-plugin", action="store_true",
                    help="do not pass transforms.worker_memory.PLUGIN_OPTIONS: workers keep Beam's 100 MB data-plane "
                         "queues (the rest of transforms/worker_memory.py still arrives with the first DoFn)")
    ap.add_argument("--label", default="", help="suffix for this run's work folder and log (concurrent runs)")
    ap.add_argument("--probe", metavar="DIR",
                    help="arm bench/memprobe in every SDK worker: RSS timeline + stacks (+ tracemalloc) into DIR")
    ap.add_argument("--probe-frames", type=int, default=0, help="tracemalloc frames for --probe (0: off)")
    ap.add_argument("--probe-flush-mb", type=float, default=0,
                    help="with --probe: the workers' output-stream flush threshold in MiB (Beam's Python SDK: 10)")
    ap.add_argument("--probe-release-streams", action="store_true",
                    help="with --probe: drop finished bundles' output streams (Beam's processor cache keeps them)")
    ap.add_argument("--probe-grpc", default="",
                    help="with --probe: gRPC channel options for the workers, replacing theirs, e.g. "
                         "'grpc.http2.bdp_probe=1' (gRPC's default, which transforms.worker_memory turns off)")
    args = ap.parse_args(argv)
    env = None
    if args.trace_data:
        env = dict(os.environ, YULIAO_DATATRACE=str(Path(args.trace_data).resolve()),
                   PYTHONPATH=os.pathsep.join([str(REPO / "bench" / "memprobe"), os.environ.get("PYTHONPATH", "")]))
    if args.probe:
        env = dict(env or os.environ, YULIAO_MEMPROBE=str(Path(args.probe).resolve()),
                   YULIAO_MEMPROBE_FRAMES=str(args.probe_frames), YULIAO_MEMPROBE_GRPC=args.probe_grpc,
                   YULIAO_MEMPROBE_FLUSH_MB=str(args.probe_flush_mb),
                   YULIAO_MEMPROBE_RELEASE="1" if args.probe_release_streams else "",
                   **({"YULIAO_SWITCH_INTERVAL": str(args.switch_interval)} if args.switch_interval else {}),
                   PYTHONPATH=os.pathsep.join([str(REPO / "bench" / "memprobe"), os.environ.get("PYTHONPATH", "")]))
    if args.unfixed:
        env = dict(env or os.environ, YULIAO_BEAM_UNFIXED="1")
    if args.no_worker_plugin:
        env = dict(env or os.environ, YULIAO_BENCH_NO_PLUGIN="1")
    results = REPO / "bench" / "work" / "results"
    results.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        for variant in args.variants:
            tag = f"scale_{variant}_{n}{args.label}"
            tmp, workdir = results / f"{tag}.stats.json", REPO / "bench" / "work" / tag
            shutil.rmtree(workdir, ignore_errors=True)  # the digest below covers this run's files only
            m = measure([sys.executable, __file__, "_one", variant, str(n), args.data, str(tmp), str(workdir),
                         str(args.shard_mb), "bounded" if args.bounded_input else "stock", str(args.piece_mb),
                         str(args.chunk_mb)], results / f"{tag}.log", env, args.pause_ms,
                         args.pause_runner_only)
            row = {"variant": variant, "docs": n, "shard_mb": args.shard_mb, "piece_mb": args.piece_mb,
                   "runner_input": "bounded" if args.bounded_input else "stock", **{k: (round(v, 1) if isinstance(v, float) else v)
                                                       for k, v in m.items()}}
            row["cpu_ms_per_doc"] = round(1000 * m["cpu_s"] / n, 2)
            row["worker_cpu_ms_per_doc"] = round(1000 * m["worker_cpu_s"] / n, 3)
            malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}  # glibc tunables, inherited
            if malloc:
                row["malloc_env"] = malloc
            if args.bounded_input:
                row["chunk_mb"] = args.chunk_mb
            if args.pause_ms:
                row["pause_ms"] = args.pause_ms
                row["pause_runner_only"] = args.pause_runner_only
            if args.switch_interval:
                row["switch_interval"] = args.switch_interval
            if args.trace_data:
                row["trace_data"] = True
            row["worker_plugin"] = not args.no_worker_plugin  # transforms/worker_memory.py at worker start
            row["beam_fix"] = not args.unfixed  # transforms/beam_fixes.py in the runner (rows before it: absent)
            if args.probe:  # probed runs are slower and (with tracemalloc) larger: never compare with plain rows
                row["probe_frames"] = args.probe_frames
                row["probe_grpc"] = args.probe_grpc
                if args.probe_flush_mb:
                    row["probe_flush_mb"] = args.probe_flush_mb
                if args.probe_release_streams:
                    row["probe_release_streams"] = True
            if m["rc"] == 0:
                stats = {k.replace("\x1f", "/"): v for k, v in json.loads(tmp.read_text()).items() if "@" not in k}
                row["kept"] = stats.get("dedup.near/out")
                row["rejected"] = sum(v for k, v in stats.items() if "/rejected/" in k and k.startswith("dedup"))
                row["lost"] = n - (row["kept"] or 0) - row["rejected"]  # every document is kept or rejected: 0
                row["giant_bucket_docs"] = stats.get("dedup.near/giant_bucket_docs", 0)
                row["cc_finish_edges"] = stats.get("dedup.near/cc_finish_edges")
                row["sink_files"] = stats.get("sink/files", 0) + stats.get("sink.rejects/files", 0)
                shuffle = Path(str(tmp) + ".shuffle")
                row["shuffle_mb"] = round(json.loads(shuffle.read_text())["bytes"] / 1e6, 1)
                shuffle.unlink()
                row["output_sha256"] = output_digest(workdir)[:16]  # same documents + settings: same digest
                row["stats_sha256"] = __import__("hashlib").sha256(
                    json.dumps(stats, sort_keys=True).encode()).hexdigest()[:16]
                with open(results / "scale_stats.jsonl", "a") as f:  # every counter: a run that lost data vs its peers
                    f.write(json.dumps({"tag": tag, "stats_sha256": row["stats_sha256"], "stats": stats}) + "\n")
                tmp.unlink()
            with open(results / "scale.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
