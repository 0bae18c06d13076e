"""Peak-memory mechanisms (issue #20): a local build imports Beam without its optional cloud clients and pandas
(transforms/memory.py) and writes the same bytes; finished bundles release their output buffers
(transforms/memory.release_finished_streams, installed in every process through transforms/beam_speedups)."""
from __future__ import annotations

import gc
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.worker import bundle_processor

from tests.runners import output_digest
from transforms import beam_speedups, memory
from transforms.memory import OPTIONAL_MODULES, is_local_run

ROOT = Path(__file__).resolve().parents[1]
# what `import apache_beam` loads from the optional extras when they are installed
HEAVY = ("pandas", "boto3", "botocore", "pymongo", "google.cloud.storage", "apitools")


def test_only_local_directrunner_runs_without_remote_paths_are_lean():
    base = ["--input", "in/*.warc.gz", "--output", "out", "-q"]
    assert is_local_run(["build", *base])
    assert is_local_run(["select", "--cache", "c", *base, "--runner", "DirectRunner", "--direct_running_mode",
                         "in_memory"])
    assert is_local_run(["annotate", "--cache", "c", "--input", "x", "--runner=DirectRunner"])
    assert not is_local_run(["build", *base, "--runner", "DataflowRunner"])
    assert not is_local_run(["build", "--input", "gs://b/in/*", "--output", "out"])
    assert not is_local_run(["build", "--input", "in", "--output", "s3://b/out"])
    assert not is_local_run(["build", *base, "--temp_location=gs://b/tmp"])
    # a remote path in the effective recipe (an override here) needs the cloud clients too
    assert not is_local_run(["build", *base, "--set", "tokenize.tokenizer_path=gs://b/tokenizer.json"])
    assert not is_local_run(["build", *base, "--recipe", "no-such-recipe"])  # the CLI reports it, imports as usual
    assert not is_local_run(["card", "out"]) and not is_local_run([])


_REPORT = ("import json, sys\n"
           "{pre}from pipelines.cli import main\n"
           "rc = main(sys.argv[1:])\n"
           "print(json.dumps({{'rc': rc, 'modules': sorted(sys.modules)}}))\n")


def _build(tmp: Path, name: str, inputs: list[str], pre: str = "") -> tuple[Path, set[str]]:
    out = tmp / name
    r = subprocess.run([sys.executable, "-c", _REPORT.format(pre=pre), "build", "--input", *inputs, "--output",
                        str(out), "-q", "--no-progress", "--no-card", "--direct_running_mode", "in_memory"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0
    return out, set(report["modules"])


def _loaded(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


@pytest.mark.skipif(any(importlib.util.find_spec(m.split(".")[0]) is None for m in ("pandas", "boto3")),
                    reason="Beam's optional extras are not installed: there is nothing to leave out")
def test_local_build_leaves_out_cloud_clients_and_writes_the_same_bytes(data_dir: Path, tmp_path: Path):
    inputs = [str(data_dir / "web" / "warc" / w) for w in
              ("resiliparse-cc-main-2020-34-excerpt.warc.gz", "dolma-wget-sample-0000.warc.gz")]
    lean, lean_modules = _build(tmp_path, "lean", inputs)
    # Beam imported before the CLI starts: the CLI cannot leave anything out, as before this change
    full, full_modules = _build(tmp_path, "full", inputs, pre="import apache_beam\n")
    assert all(_loaded(full_modules, m) for m in HEAVY), [m for m in HEAVY if not _loaded(full_modules, m)]
    assert not [m for m in HEAVY if _loaded(lean_modules, m)]
    assert not [m for m in OPTIONAL_MODULES if m != "google.cloud" and _loaded(lean_modules, m)]
    assert not [m for m in lean_modules if m.startswith("google.cloud.")]
    digest = output_digest(lean)
    assert any(k.startswith("data") for k in digest)
    assert digest == output_digest(full)


# ------------------------------------------------------------------ finished bundles release their output buffers
_HELD: list[int] = []  # filled by _Measure inside the in-memory runner (same process)


def _held_output_bytes() -> int:
    """Bytes still buffered in the output streams of every live ``DataOutputOperation`` (finished or running)."""
    total = 0
    for obj in gc.get_objects():
        if isinstance(obj, bundle_processor.DataOutputOperation) and getattr(obj, "output_stream", None) is not None:
            total += obj.output_stream.size()
    return total


class _Measure(beam.DoFn):
    def process(self, kv):
        _HELD.append(_held_output_bytes())
        yield kv[0]


def _run_two_stages() -> int:
    """A first stage outputs ~4 MB (under Beam's 10 MB flush threshold: one buffer, handed over when the bundle
    ends); the stage after the shuffle measures what the finished first stage still holds."""
    _HELD.clear()
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])) as p:
        _ = (p | beam.Create(range(40)) | beam.Map(lambda i: (i % 2, "x" * 100_000))
             | beam.GroupByKey() | beam.ParDo(_Measure()))
    assert len(_HELD) == 2
    return max(_HELD)


def test_finished_bundles_release_their_output_buffers(monkeypatch):
    # Beam's 10 MB output flush threshold: transforms.worker_memory flushes at 1 MiB, which leaves a smaller tail
    from apache_beam.runners.worker import data_plane

    from transforms import worker_memory

    assert worker_memory.INSTALLED
    monkeypatch.setattr(data_plane.SizeBasedBufferingClosableOutputStream.__init__, "yuliao_flush_bytes", 10 << 20)
    assert beam_speedups.RELEASES_STREAMS and memory.release_finished_streams()
    patched = bundle_processor.DataOutputOperation.finish
    assert _run_two_stages() < 1_000_000
    bundle_processor.DataOutputOperation.finish = patched.__wrapped__  # Beam's own: the finished stage keeps ~4 MB
    try:
        assert _run_two_stages() > 3_000_000
    finally:
        bundle_processor.DataOutputOperation.finish = patched


# ------------------------------------------------------------------ multi-process runs: launcher and allocator
def test_forget_shared_drops_the_loaded_copies():
    from transforms import resources

    loads = []

    def load(x):
        loads.append(x)
        return object()

    first = resources.shared(load, "a")
    assert resources.shared(load, "a") is first and loads == ["a"]
    assert resources.forget_shared() >= 1
    assert resources.shared(load, "a") is not first and loads == ["a", "a"]
