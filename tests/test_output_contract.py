"""The output contract on real builds: staging + publish, a foreign folder refused, a failed and a killed
rebuild over an existing corpus leave it as it was, Ctrl-C exits 130 with one line and no workers left,
unknown options and impossible recipes exit 2 before any input is read."""
from __future__ import annotations

import glob
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from pipelines.publish import MANIFEST, publish, read_manifest, staged_output
from tests.runners import RUNNER_MODES

def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def siblings(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir() if p.name.startswith(output.name + ".yuliao-"))


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-input")
    warc, jsonl = d / "demo.warc.gz", d / "demo-qa.jsonl"
    write_demo_warc(str(warc))
    write_demo_jsonl(str(jsonl))
    return [str(warc), str(jsonl)]


def build(inputs, output, *extra) -> int:
    return main(["build", "--recipe", "demo", "--input", *inputs, "--output", str(output), "-q", *extra,
                 *RUNNER_MODES["direct_in_memory"]])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, demo_inputs):
    """A published demo corpus; tests copy it before rebuilding over it."""
    out = tmp_path_factory.mktemp("corpus") / "out"
    assert build(demo_inputs, out) == 0
    return out


def copy_corpus(corpus: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(corpus, dst)
    return dst


def test_publish_writes_a_manifest_of_every_file_and_leaves_no_staging(corpus):
    manifest = read_manifest(str(corpus))
    files = {str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(manifest["files"]) == files
    assert {"stats.json", "run.json", "README.md"} <= files and any(f.startswith("data/zh/") for f in files)
    for rel, size in manifest["files"].items():
        assert (corpus / rel).stat().st_size == size
    assert siblings(corpus) == []


def test_rebuild_replaces_the_previous_corpus_and_removes_stale_files(tmp_path, corpus, demo_inputs):
    out = copy_corpus(corpus, tmp_path / "out")
    # the new build keeps only English: the zh partitions of the previous build must be gone afterwards
    assert build(demo_inputs, out, "--set", "langid.languages=[en]", "--set", "balance.enabled=false") == 0
    assert not (out / "data" / "zh").exists()
    assert set(read_manifest(str(out))["files"]) == {str(p.relative_to(out)) for p in out.rglob("*")
                                                     if p.is_file()} - {MANIFEST}
    assert siblings(out) == []


def test_foreign_folder_is_refused_and_untouched(tmp_path, demo_inputs, capsys):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "data" / "important.csv").write_text("a,b\n1,2\n")
    (out / "README.md").write_text("my notes\n")
    before = tree_digest(out)
    assert build(demo_inputs, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not write" in err[0] and "--force" in err[0]
    assert tree_digest(out) == before and siblings(out) == []


def test_force_publishes_beside_foreign_files_and_keeps_them(tmp_path, demo_inputs):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "data" / "important.csv").write_text("a,b\n1,2\n")
    assert build(demo_inputs, out, "--force") == 0
    assert (out / "data" / "important.csv").read_text() == "a,b\n1,2\n"
    manifest = read_manifest(str(out))
    assert "data/important.csv" not in manifest["files"] and "stats.json" in manifest["files"]
    # a second forced build still keeps it, and replaces only Yuliao's files
    assert build(demo_inputs, out, "--force", "--set", "langid.languages=[en]", "--set", "balance.enabled=false") == 0
    assert (out / "data" / "important.csv").exists() and not (out / "data" / "zh").exists()


def test_failed_rebuild_leaves_the_previous_corpus(tmp_path, corpus, demo_inputs, monkeypatch):
    """The disk fills up while shards are written: the build fails, the old corpus is byte for byte intact."""
    import transforms.sinks

    out = copy_corpus(corpus, tmp_path / "out")
    before = tree_digest(out)
    calls = []

    def disk_full(path, *a, **k):
        calls.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transforms.sinks, "write_groups_atomic", disk_full)  # every shard writer ends here
    with pytest.raises(Exception, match="No space left"):
        build(demo_inputs, out)
    assert calls and ".yuliao-staging-" in calls[0]  # it was writing into staging, not into out/
    assert tree_digest(out) == before
    assert siblings(out) == []


def test_build_that_loses_documents_is_not_published(tmp_path, corpus, demo_inputs, monkeypatch, capsys):
    """Near dedup's last step drops the documents it keeps (as a runner losing elements would): every stage
    still counts as if nothing happened, but no document reaches the stages after it. The build exits 1
    naming that gap, and the previous corpus is byte for byte intact."""
    import apache_beam as beam

    import transforms.dedup

    original = transforms.dedup._NearApply.process

    def lose_kept(self, element):
        return (out for out in original(self, element) if isinstance(out, beam.pvalue.TaggedOutput))

    out = copy_corpus(corpus, tmp_path / "out")
    before = tree_digest(out)
    monkeypatch.setattr(transforms.dedup._NearApply, "process", lose_kept)
    assert build(demo_inputs, out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not published" in err[0] and "dedup.near passed on 12 documents but sink received 0" in err[0]
    assert tree_digest(out) == before and siblings(out) == []


def test_card_of_an_unpublished_style_output_reports_lost_records(tmp_path, corpus, capsys):
    """A flex-template job writes its output without the launcher's check: ``yuliao card`` makes it."""
    import json

    out = copy_corpus(corpus, tmp_path / "out")
    stats = json.loads((out / "stats.json").read_text())
    assert main(["card", str(out)]) == 0
    stats["stages"]["dedup.near"]["out"] -= 1
    (out / "stats.json").write_text(json.dumps(stats))
    capsys.readouterr()
    assert main(["card", str(out)]) == 1
    assert "dedup.near: received" in capsys.readouterr().err


def test_every_real_build_accounts_for_every_record(corpus):
    """The identities hold on a real build, and each one catches a record gone missing from its stats."""
    import json

    from pipelines.accounting import accounting_problems

    stats = json.loads((corpus / "stats.json").read_text())
    assert accounting_problems(stats) == []
    inside = json.loads(json.dumps(stats))
    inside["stages"]["quality"]["out"] -= 1  # lost inside a stage (and, so, before the next)
    assert [p.split(":")[0].split(" ")[0] for p in accounting_problems(inside)] == ["quality", "quality"]
    unwritten = json.loads(json.dumps(stats))
    unwritten["stages"]["sink.rejects"]["in"] -= 1
    unwritten["stages"]["sink.rejects"]["out"] -= 1
    assert len(accounting_problems(unwritten)) == 1 and "rejects writer" in accounting_problems(unwritten)[0]


def test_output_that_is_a_file_is_one_line_exit_2(tmp_path, demo_inputs, capsys):
    f = tmp_path / "out"
    f.write_text("x")
    assert build(demo_inputs, f) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"yuliao: error: --output {f} is a file, not a directory"]


def test_mistyped_option_exits_2_naming_the_closest(tmp_path, demo_inputs, capsys):
    rc = main(["build", "--recipie", "demo", "--input", *demo_inputs, "--output", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--recipie" in err and "did you mean --recipe?" in err
    rc = main(["build", "--input", *demo_inputs, "--output", str(tmp_path / "o"), "--direct_runing_mode", "x"])
    assert rc == 2 and "did you mean --direct_running_mode?" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("override, expect", [
    ("langid.languages=[chinese, english]", "'chinese' is not a label of the language-ID model (did you mean 'zh'?)"),
    ("langid.languages=[]", "langid.languages is empty"),
    ("dedup.priority_signal=qualty_score", "did you mean 'quality_score'?"),
    ("tokenize.tokenizer_path=/nonexistent/tokenizer.json", "tokenize.tokenizer_path: file /nonexistent/tokenizer.json"),
    ("langid.model_path=/nonexistent/lid.ftz", "langid.model_path: file /nonexistent/lid.ftz"),
    ("tokenize.eos_token=NOT_A_TOKEN", "EOS token 'NOT_A_TOKEN' is not in the vocabulary"),
    ("dedup.against=[/nonexistent/release]", "dedup.against: /nonexistent/release is not a Yuliao output"),
])
def test_impossible_recipe_exits_2_before_reading(tmp_path, corpus, override, expect, capsys):
    out = copy_corpus(corpus, tmp_path / "out")
    before = tree_digest(out)
    missing_input = str(tmp_path / "never-read-*.warc.gz")  # expanding it would fail: checks come first
    rc = main(["build", "--recipe", "demo", "--input", missing_input, "--output", str(out), "--set", override])
    assert rc == 2
    assert expect in capsys.readouterr().err
    assert tree_digest(out) == before


def test_accepted_recipe_values(tmp_path):
    from pipelines.recipe import load_recipe
    from pipelines.validate import recipe_problems

    assert recipe_problems(load_recipe("demo", ["langid.languages=[all]"])) == []
    assert recipe_problems(load_recipe("default")) == []  # quality_score (the learned model) is a known signal


def test_languages_all_keeps_every_language(tmp_path, demo_inputs):
    import json

    out = tmp_path / "out"
    assert build(demo_inputs, out, "--set", "langid.languages=[all]", "--set", "balance.enabled=false") == 0
    stats = json.loads((out / "stats.json").read_text())
    assert "lang_not_selected" not in stats["stages"]["langid"]["rejected"]
    # the French page (dropped by the prefilter when languages are listed) is extracted and labelled
    assert stats["stages"]["extract"]["rejected"] == {}
    assert stats["stages"]["langid"]["out"] == stats["stages"]["langid"]["in"] - sum(
        stats["stages"]["langid"]["rejected"].values())


def test_object_store_protocol_writes_manifest_last_and_deletes_stale_after(tmp_path, corpus):
    """The copy-then-manifest path used for gs:// and s3:// (where there is no directory rename), on local
    files: every file lands, the manifest lists exactly them, files of the old build not in it are deleted."""
    out = copy_corpus(corpus, tmp_path / "out")
    staging = tmp_path / "out.yuliao-staging-test"
    (staging / "data" / "en" / "web").mkdir(parents=True)
    (staging / "data" / "en" / "web" / "part-00000-of-00001.parquet").write_bytes(b"new")
    (staging / "stats.json").write_text("{}")
    files = publish(str(staging), str(out), object_store=True)
    assert set(files) == {"data/en/web/part-00000-of-00001.parquet", "stats.json"}
    assert set(read_manifest(str(out))["files"]) == set(files)
    remaining = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert remaining == set(files) | {MANIFEST}
    assert not staging.exists()


def test_staged_output_removes_staging_on_error(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_output(str(out)) as st:
            Path(st.path, "stats.json").write_text("{}")
            raise RuntimeError("boom")
    assert not out.exists() and siblings(out) == []


@pytest.mark.parametrize("mode", ["direct_in_memory", "direct_multi_processing"])
def test_ctrl_c_exits_130_one_line_nothing_published_no_workers(tmp_path, corpus, mode, data_dir):
    out = copy_corpus(corpus, tmp_path / "out")
    before = tree_digest(out)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "build", "--recipe", "demo", "--input", str(data_dir / "web" / "warc" / "*.warc.gz"),
         "--output", str(out), *RUNNER_MODES[mode]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # the event: a stage has reported documents through the progress file, i.e. workers are busy
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(os.path.getsize(f) for f in glob.glob(str(tmp / "yuliao-progress-*"))):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "build ended before it could be interrupted"
    from pipelines.interrupt import descendants

    workers = descendants(proc.pid)
    if mode == "direct_multi_processing":
        assert workers  # the SDK worker processes exist now
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = [ln for ln in err.decode().splitlines() if ln.strip()
             and "apache_beam.runners.portability.local_job_service: Worker" not in ln]  # worker start-up notes
    assert lines == [f"yuliao: interrupted; nothing was published, {out} is unchanged"]
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
             and not open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"]
    assert alive == []
    assert tree_digest(out) == before
    assert siblings(out) == []


def test_killed_rebuild_leaves_the_previous_corpus_and_the_next_build_reports_the_leftover(
        tmp_path, corpus, demo_inputs, data_dir):
    """SIGKILL (no cleanup possible) in the middle of a rebuild: the previous corpus is untouched, the staging
    folder stays beside it, and the next build warns about it and publishes normally."""
    out = copy_corpus(corpus, tmp_path / "out")
    before = tree_digest(out)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "build", "--recipe", "demo", "--input",
         str(data_dir / "web" / "warc" / "*.warc.gz"), "--output", str(out), *RUNNER_MODES["direct_in_memory"]],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(os.path.getsize(f) for f in glob.glob(str(tmp / "yuliao-progress-*"))):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "build ended before it could be killed"
    proc.kill()
    proc.wait(30)
    assert tree_digest(out) == before
    left = siblings(out)
    assert len(left) == 1 and ".yuliao-staging-" in left[0]
    err = subprocess.run([sys.executable, "-m", "pipelines.cli", "build", "--recipe", "demo", "--input",
                          *demo_inputs, "--output", str(out), "-q", *RUNNER_MODES["direct_in_memory"]],
                         env=env, capture_output=True, text=True, check=True).stderr
    assert f"{out.parent / left[0]} is the staging folder of a killed build" in err
    assert read_manifest(str(out)) is not None and siblings(out) == left  # reported, not deleted


def test_empty_folder_with_empty_subfolders_is_replaced(tmp_path, demo_inputs):
    out = tmp_path / "out"
    (out / "empty" / "deeper").mkdir(parents=True)
    assert build(demo_inputs, out) == 0
    assert read_manifest(str(out)) is not None and not (out / "empty").exists()


def test_foreign_file_appearing_during_the_build_keeps_the_new_build(tmp_path, corpus, demo_inputs, monkeypatch,
                                                                      capsys):
    """Someone writes into --output while the build runs: nothing is published over it and the finished build
    is kept in its staging folder, named in the error."""
    import pipelines.publish as publish_mod

    out = copy_corpus(corpus, tmp_path / "out")
    real = publish_mod.publish

    def late_writer(staging, output, *a, **k):
        Path(output, "notes.txt").write_text("mine")
        return real(staging, output, *a, **k)

    monkeypatch.setattr(publish_mod, "publish", late_writer)
    assert build(demo_inputs, out) == 2
    err = capsys.readouterr().err
    left = siblings(out)
    assert len(left) == 1 and f"the new build is complete in {out.parent / left[0]}" in err
    assert (out.parent / left[0] / "stats.json").exists() and (out / "notes.txt").read_text() == "mine"


class _RaisesInFinalizer:
    def __del__(self):
        raise KeyboardInterrupt


def test_ctrl_c_in_a_finalizer_is_not_printed_but_sent_again(monkeypatch, capsys):
    """Ctrl-C can land while the garbage collector runs a ``__del__`` (a ``ParquetWriter``'s), where Python prints
    "Exception ignored in …" and carries on: after Ctrl-C that is not printed, and SIGINT comes again."""
    from pipelines import interrupt

    again = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *a: again.set())
    try:
        monkeypatch.setattr(sys, "unraisablehook", interrupt._unraisable)
        monkeypatch.setattr(interrupt, "_interrupted", True)
        _RaisesInFinalizer()  # CPython finalizes it here; its exception goes to sys.unraisablehook
        assert again.wait(5)
        assert capsys.readouterr().err == ""
        monkeypatch.setattr(interrupt, "_interrupted", False)  # no Ctrl-C came: Python's own report
        _RaisesInFinalizer()
        assert "Exception ignored" in capsys.readouterr().err
    finally:
        signal.signal(signal.SIGINT, previous)
