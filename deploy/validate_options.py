"""Refuse the Beam options a deploy script is about to submit if Beam itself would refuse them later (on a
cluster, after minutes of staging) or if they contradict each other. Checks use Beam's own option classes:
argparse ``choices`` (``--flink_version`` must be one Beam publishes a job server for, ``--spark_version``),
``PipelineOptionsValidator`` with the target runner, and ``Environment.from_options`` (unknown
``--environment_type`` values). Added: Flink parallelism must be -1 (cluster default) or positive, a DOCKER
environment needs an image, an EXTERNAL one a host:port, uber-jar Spark submission needs ``--spark_rest_url``,
and Dataflow Prime does not take a fixed ``--worker_machine_type``.

    python deploy/validate_options.py {dataflow|flink|spark} --runner … [more Beam options]

Exit status 0 when valid, 2 with one error per line on stderr otherwise.
"""
from __future__ import annotations

import contextlib
import io
import sys

RUNNERS = {
    "dataflow": ("DataflowRunner", "apache_beam.runners.dataflow.dataflow_runner"),
    "flink": ("FlinkRunner", "apache_beam.runners.portability.flink_runner"),
    "spark": ("SparkRunner", "apache_beam.runners.portability.spark_runner"),
}


@contextlib.contextmanager
def _offline(gcp_options_cls):
    """Beam's GoogleCloudOptions.validate also asks GCS about the buckets (soft-delete policy, default bucket);
    those calls are the service's business at submission and hang for minutes without network: skip them."""
    saved = {name: getattr(gcp_options_cls, name, None)
             for name in ("_warn_if_soft_delete_policy_enabled", "_create_default_gcs_bucket")}
    gcp_options_cls._warn_if_soft_delete_policy_enabled = lambda self, name: None
    gcp_options_cls._create_default_gcs_bucket = lambda self: None
    try:
        yield
    finally:
        for name, fn in saved.items():
            if fn is not None:
                setattr(gcp_options_cls, name, fn)


def validate(platform: str, args: list[str]) -> list[str]:
    import importlib

    from apache_beam.options import pipeline_options as po
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
    from apache_beam.transforms import environments

    if platform not in RUNNERS:
        return [f"unknown platform {platform!r} (one of {', '.join(RUNNERS)})"]
    runner_name, module = RUNNERS[platform]
    options = po.PipelineOptions(args)
    views = {}
    for cls in (po.StandardOptions, po.PortableOptions, po.FlinkRunnerOptions, po.SparkRunnerOptions,
                po.GoogleCloudOptions, po.WorkerOptions, po.DebugOptions):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                views[cls] = options.view_as(cls)
                views[cls].get_all_options()  # argparse checks types and choices here
        except SystemExit:
            msg = err.getvalue().strip()
            return [msg.splitlines()[-1] if msg else f"options refused by {cls.__name__}"]
    errors: list[str] = []
    if views[po.StandardOptions].runner != runner_name:
        errors.append(f"--runner must be {runner_name}, got {views[po.StandardOptions].runner}")
    runner = getattr(importlib.import_module(module), runner_name)()
    with _offline(po.GoogleCloudOptions):
        errors += PipelineOptionsValidator(options, runner).validate()
    if platform == "dataflow":
        gcp, worker = views[po.GoogleCloudOptions], views[po.WorkerOptions]
        if not worker.sdk_container_image:
            errors.append("--sdk_container_image is required (workers must run the image with yuliao and its models)")
        if "enable_prime" in (gcp.dataflow_service_options or []) and worker.machine_type:
            errors.append("Dataflow Prime (enable_prime) sizes workers itself: drop --worker_machine_type or Prime")
        return errors
    portable = views[po.PortableOptions]
    try:
        environments.Environment.from_options(portable)
    except Exception as exc:  # noqa: BLE001 - Beam's own refusal, reported as a validation error
        errors.append(f"--environment_type: {exc}")
    env_type = (portable.environment_type or "").upper()
    config = portable.environment_config or ""
    if env_type == "DOCKER" and not config:
        errors.append("--environment_type DOCKER needs --environment_config <worker image> (deploy/worker/build.sh)")
    if env_type == "EXTERNAL" and ":" not in config:
        errors.append("--environment_type EXTERNAL needs --environment_config host:port of a Beam worker pool")
    if platform == "flink":
        flink = views[po.FlinkRunnerOptions]
        for name in ("parallelism", "max_parallelism"):
            v = getattr(flink, name)
            if v != -1 and v < 1:
                errors.append(f"--{name} must be -1 (cluster default) or >= 1, got {v}")
        if flink.flink_submit_uber_jar and flink.flink_master in ("[auto]", "[local]", "[collection]"):
            errors.append("--flink_submit_uber_jar needs --flink_master host:port of the JobManager REST endpoint")
    if platform == "spark":
        spark = views[po.SparkRunnerOptions]
        if spark.spark_submit_uber_jar and not spark.spark_rest_url:
            errors.append("--spark_submit_uber_jar needs --spark_rest_url http://master:6066")
    return errors


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    errors = validate(argv[0], argv[1:])
    for e in errors:
        print(f"invalid {argv[0]} options: {e}", file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
