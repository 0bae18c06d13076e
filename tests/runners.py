"""Helpers to run `yuliao build` under each local runner and compare outputs byte for byte."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

RUNNER_MODES = {
    "direct_in_memory": ["--runner", "DirectRunner", "--direct_running_mode", "in_memory"],
    "direct_multi_processing": ["--runner", "DirectRunner", "--direct_running_mode", "multi_processing",
                                "--direct_num_workers", "2"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JobService:
    """Beam's own local job service (what Flink/Spark job servers speak), in a subprocess, with Yuliao's Beam fixes
    (pipelines/job_service.py)."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.job_service", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self)

    def args(self, environment: list[str] | None = None) -> list[str]:
        return ["--runner", "PortableRunner", "--job_endpoint", f"localhost:{self.port}",
                *(environment or ["--environment_type", "LOOPBACK"])]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class WorkerPool:
    """Beam's external worker pool: SDK harnesses for ``--environment_type EXTERNAL`` (what a Flink/Spark
    cluster runs beside its task managers). Workers are started with this interpreter's ``python``."""

    def __init__(self):
        self.port = free_port()
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _wait_port(self.port, self)

    def environment(self) -> list[str]:
        return ["--environment_type", "EXTERNAL", "--environment_config", f"localhost:{self.port}"]

    def stop(self) -> None:
        JobService.stop(self)  # type: ignore[arg-type]


def _wait_port(port: int, owner) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    owner.stop()
    raise RuntimeError(f"{type(owner).__name__} did not start")


def run_build(inputs: list[str], output: Path, beam_args: list[str], recipe: str = "demo",
              overrides: list[str] | None = None) -> None:
    from pipelines.cli import main

    args = ["build", "--recipe", recipe, "--input", *inputs, "--output", str(output), "-q"]
    for o in overrides or []:
        args += ["--set", o]
    assert main(args + beam_args) == 0


def output_digest(output: Path, include=("data", "rejects", "stats.json", "mixture.json")) -> dict[str, str]:
    """sha256 of every output file that must be identical across runs (stats.json without its timing part)."""
    import json

    out = {}
    for name in include:
        p = output / name
        if p.is_file():
            data = p.read_bytes()
            if name == "stats.json":
                obj = json.loads(data)
                obj.pop("timing", None)
                data = json.dumps(obj, sort_keys=True).encode()
            out[name] = hashlib.sha256(data).hexdigest()
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    out[str(f.relative_to(output))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out
