"""The deploy paths build a pipeline graph (proto) and validate their options without submitting,
so a broken Dataflow/Spark/Flink path fails CI."""
from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

from pipelines.build import build_pipeline
from pipelines.demo.make import write_demo_warc
from pipelines.recipe import load_recipe
from transforms.sources.read import expand_inputs

DATAFLOW = ["--runner", "DataflowRunner", "--project", "demo-project", "--region", "us-central1",
            "--temp_location", "gs://demo-bucket/tmp", "--staging_location", "gs://demo-bucket/staging",
            "--sdk_container_image", "us-central1-docker.pkg.dev/demo-project/yuliao/worker:0.1.0",
            "--worker_machine_type", "n2-highmem-4", "--max_num_workers", "100",
            "--experiments", "use_runner_v2"]
SPARK = ["--runner", "SparkRunner", "--spark_master_url", "spark://spark-master:7077", "--environment_type", "DOCKER",
         "--environment_config", "yuliao-worker:latest"]
FLINK = ["--runner", "FlinkRunner", "--flink_master", "flink-jobmanager:8081", "--environment_type", "DOCKER",
         "--environment_config", "yuliao-worker:latest", "--parallelism", "16"]


def _graph(tmp_path: Path, args: list[str], output: str):
    warc = tmp_path / "in.warc.gz"
    write_demo_warc(str(warc))
    options = PipelineOptions(args)
    p = beam.Pipeline(options=options)
    build_pipeline(p, load_recipe("default"), expand_inputs([str(warc)]), output)
    return options, p, p.to_runner_api()


@pytest.mark.parametrize("args,runner_cls", [
    (DATAFLOW, "apache_beam.runners.dataflow.dataflow_runner:DataflowRunner"),
    (SPARK, "apache_beam.runners.portability.spark_runner:SparkRunner"),
    (FLINK, "apache_beam.runners.portability.flink_runner:FlinkRunner"),
])
def test_graph_builds_and_options_validate(tmp_path, args, runner_cls):
    import importlib

    options, p, proto = _graph(tmp_path, args, "gs://demo-bucket/corpus")
    names = {t.unique_name for t in proto.components.transforms.values()}
    for step in ("Read", "extract", "langid", "Write data", "Write rejects", "Stats"):
        assert any(n == step or n.startswith(step + "/") for n in names), step
    module, cls = runner_cls.split(":")
    runner = getattr(importlib.import_module(module), cls)()
    assert PipelineOptionsValidator(options, runner).validate() == []


def test_dataflow_options_catch_a_broken_launch(tmp_path):
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    bad = [a for a in DATAFLOW if a not in ("--temp_location", "gs://demo-bucket/tmp", "--staging_location",
                                             "gs://demo-bucket/staging")]
    errors = PipelineOptionsValidator(PipelineOptions(bad), DataflowRunner()).validate()
    assert any("temp_location" in e or "staging_location" in e for e in errors)


def test_launch_script_passes_the_validated_options(repo_root):
    script = (repo_root / "deploy" / "dataflow" / "launch.sh").read_text()
    for flag in ("--runner DataflowRunner", "--region", "--temp_location", "--sdk_container_image",
                 "--max_num_workers", "--worker_machine_type", "--experiments"):
        assert flag in script, flag
    import subprocess

    for sh in sorted((repo_root / "deploy").rglob("*.sh")):
        assert subprocess.run(["bash", "-n", str(sh)]).returncode == 0, sh
