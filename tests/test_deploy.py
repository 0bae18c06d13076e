"""The deploy paths, checked without a cluster: the full build is translated into a Dataflow job by the real
DataflowRunner (``--dry_run``: everything but the submission), the Flex-template launcher submits without
waiting, and the options the Spark/Flink/Dataflow scripts pass are validated with Beam's own option classes —
a bad value is refused, both by the validator and by the script that calls it."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.build import build_pipeline
from pipelines.demo.make import write_demo_warc
from pipelines.recipe import load_recipe
from transforms.sources.read import expand_inputs

pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient", reason="needs apache-beam[gcp]")
pytest.importorskip("google.cloud.storage", reason="needs apache-beam[gcp]")

IMAGE = "us-central1-docker.pkg.dev/demo-project/yuliao/worker:0.1.0"
DATAFLOW = ["--runner", "DataflowRunner", "--project", "demo-project", "--region", "us-central1",
            "--temp_location", "gs://demo-bucket/tmp", "--staging_location", "gs://demo-bucket/staging",
            "--sdk_container_image", IMAGE, "--sdk_location", "container",
            "--worker_machine_type", "n2-highmem-4", "--max_num_workers", "100", "--experiments", "use_runner_v2"]
OFFLINE = ["--dry_run", "True", "--no_auth"]  # translate everything, submit nothing, ask for no credentials
FLINK = ["--runner", "FlinkRunner", "--flink_master", "jobmanager:8081", "--flink_version", "1.20",
         "--flink_submit_uber_jar", "--environment_type", "DOCKER", "--environment_config", "yuliao-worker:0.1.0",
         "--parallelism", "16"]
SPARK = ["--runner", "SparkRunner", "--spark_version", "3", "--spark_submit_uber_jar",
         "--spark_rest_url", "http://spark-master:6066", "--environment_type", "DOCKER",
         "--environment_config", "yuliao-worker:0.1.0"]
STEPS = ("Annotate", "quality", "pii", "dedup", "balance", "tokenize", "Write data", "Write rejects", "Stats")


@pytest.fixture(scope="module")
def validator(repo_root):
    spec = importlib.util.spec_from_file_location("validate_options", repo_root / "deploy" / "validate_options.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.validate


@pytest.fixture(scope="module")
def warc(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("deploy") / "in.warc.gz"
    write_demo_warc(str(path))
    return str(path)


def test_full_build_translates_for_dataflow(warc, tmp_path):
    """The real DataflowRunner turns the whole build (default recipe: every stage, dedup, balance, sinks)
    into a Dataflow job; a transform Dataflow cannot translate fails here."""
    p = beam.Pipeline(options=PipelineOptions(DATAFLOW + OFFLINE))
    # the annotation store is read and its settings written at construction time: keep it local (no network)
    build_pipeline(p, load_recipe("default"), expand_inputs([warc]), "gs://demo-bucket/corpus",
                   cache=str(tmp_path / "annotations"))
    result = p.run()
    job = result.job
    assert job is not None and job.proto.name
    names = [t.unique_name for t in job.proto_pipeline.components.transforms.values()]
    top = {n.split("/")[0] for n in names}
    for step in STEPS:
        assert step in top, step
    assert any("near components" in n for n in names) and any("near bucket pairs" in n for n in names)
    images = {e.payload for e in job.proto_pipeline.components.environments.values()}
    assert any(IMAGE.encode() in payload for payload in images)  # workers run the custom container


def test_flex_launcher_submits_and_returns_without_waiting(warc, tmp_path, monkeypatch):
    """``flex_main.launch`` builds, writes run.json and returns ``run()``'s result; it never calls
    ``wait_until_finish`` (Google's guide: the launcher must exit after run)."""
    from apache_beam.runners.runner import PipelineResult

    from pipelines import flex_main

    def refuse(self, duration=None):
        raise AssertionError("the flex launcher must not wait for the job")

    monkeypatch.setattr(PipelineResult, "wait_until_finish", refuse)
    out = tmp_path / "corpus"
    out.mkdir()
    result = flex_main.launch(["--input", warc, "--output", str(out), "--recipe", "demo",
                               "--cache", str(tmp_path / "annotations"),
                               "--set", "sink.compression=snappy", *DATAFLOW, *OFFLINE])
    assert result.job is not None
    assert (out / "run.json").exists() and not (out / "README.md").exists()  # no card on the launcher
    args, beam_args = flex_main.parse(["--input", "a,b", "--output", "o", "--set", "x=1,y=2", "--runner", "R"])
    assert args.input == ["a", "b"] and args.overrides == ["x=1", "y=2"] and beam_args == ["--runner", "R"]


@pytest.mark.parametrize("platform,args", [("dataflow", DATAFLOW), ("flink", FLINK), ("spark", SPARK)])
def test_script_options_validate(validator, platform, args):
    assert validator(platform, args) == []


@pytest.mark.parametrize("platform,args,needle", [
    ("flink", ["--environment_type", "NONSENSE"], "Unknown environment type: NONSENSE"),
    ("flink", ["--parallelism", "-5"], "--parallelism must be -1"),
    ("flink", ["--flink_version", "1.18"], "invalid choice: '1.18'"),
    ("flink", ["--flink_master", "[auto]"], "--flink_submit_uber_jar needs --flink_master"),
    ("spark", ["--environment_type", "NONSENSE"], "Unknown environment type: NONSENSE"),
    ("spark", ["--spark_version", "2"], "invalid choice: '2'"),
    ("spark", ["--environment_config", ""], "DOCKER needs --environment_config"),
    ("dataflow", ["--dataflow_service_options", "enable_prime"], "Prime"),
    ("dataflow", ["--temp_location", "/tmp/not-gcs", "--staging_location", "/tmp/not-gcs"], "temp_location"),
    ("dataflow", ["--runner", "FlinkRunner"], "--runner must be DataflowRunner"),
])
def test_a_bad_option_is_refused(validator, platform, args, needle):
    base = {"flink": FLINK, "spark": SPARK, "dataflow": DATAFLOW}[platform]
    errors = validator(platform, base + args)  # later flags win in argparse
    assert any(needle in e for e in errors), errors


def _script(repo_root: Path, rel: str, env: dict) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHON": sys.executable, "DRY_RUN": "1", **env}
    return subprocess.run(["bash", str(repo_root / "deploy" / rel), "--input", "x", "--output", "y"],
                          env=full, capture_output=True, text=True, timeout=120)


def test_scripts_validate_before_submitting(repo_root):
    """Each script runs the validator on exactly the options it would pass: good settings print them, a bad
    one stops the script (exit 2) before anything is submitted."""
    ok = {"flink/submit.sh": {"FLINK_MASTER": "jm:8081", "IMAGE": "yuliao-worker:0.1.0"},
          "spark/submit.sh": {"SPARK_REST_URL": "http://m:6066", "IMAGE": "yuliao-worker:0.1.0"},
          "dataflow/launch.sh": {"PROJECT": "demo-project", "REGION": "us-central1", "BUCKET": "demo-bucket",
                                 "IMAGE": IMAGE}}
    bad = {"flink/submit.sh": {"ENVIRONMENT_TYPE": "NONSENSE", "PARALLELISM": "-5"},
           "spark/submit.sh": {"ENVIRONMENT_TYPE": "NONSENSE"},
           "dataflow/launch.sh": {"BUCKET": ""}}
    for rel, env in ok.items():
        res = _script(repo_root, rel, env)
        assert res.returncode == 0, (rel, res.stderr[-2000:])
        printed = res.stdout.split("\n")
        assert "--environment_config" in printed or "--sdk_container_image" in printed, rel
    for rel, env in bad.items():
        res = _script(repo_root, rel, {**ok[rel], **env})
        assert res.returncode != 0, rel
    res = _script(repo_root, "flink/submit.sh", {**ok["flink/submit.sh"], **bad["flink/submit.sh"]})
    assert "NONSENSE" in res.stderr and "--parallelism must be -1" in res.stderr


def test_deploy_files_follow_the_platform_guides(repo_root):
    dockerfile = (repo_root / "deploy" / "dataflow" / "Dockerfile").read_text()
    assert "python_template_launcher" in dockerfile and "FLEX_TEMPLATE_PYTHON_PY_FILE" in dockerfile
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile
    assert "sdk_container_image" in (repo_root / "deploy" / "dataflow" / "build_flex_template.sh").read_text()
    launch = (repo_root / "deploy" / "dataflow" / "launch.sh").read_text()
    assert "enable_prime" not in launch and "--worker_machine_type" in launch
    flex = (repo_root / "pipelines" / "flex_main.py").read_text()
    assert "wait_until_finish()" not in flex and "render_card" not in flex
    from apache_beam.options.pipeline_options import FlinkRunnerOptions

    flink = (repo_root / "deploy" / "flink" / "submit.sh").read_text()
    for line in flink.splitlines():
        if "flink_job_server" in line and ":2.77.0" in line:
            version = line.split("beam_flink")[1].split("_job_server")[0]
            assert version in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS, line
    assert (repo_root / "deploy" / "worker" / "Dockerfile").exists()
    for sh in sorted((repo_root / "deploy").rglob("*.sh")):
        assert subprocess.run(["bash", "-n", str(sh)]).returncode == 0, sh
