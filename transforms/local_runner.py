"""The runner of a local multi-process Yuliao run: the DirectRunner's FnApiRunner, its workers started lean (#20).

``--direct_running_mode multi_processing`` makes the FnApiRunner start each SDK worker with the command
``<python> -m apache_beam.runners.worker.sdk_worker_main`` (a ``SubprocessSDKEnvironment``; Beam 2.77 builds it
in ``FnApiRunner.run_pipeline`` and offers no option to change it: ``--environment_type``/``--environment_config``
are read only by portable runners). ``LeanWorkersRunner`` runs what the DirectRunner would (its FnApiRunner, with
the pipeline options provisioned to the workers the same way) and rewrites that one environment of the pipeline
proto to ``exec <python> -m transforms.worker_main``, which imports Beam without its cloud clients and pandas and then
runs Beam's own worker main. For the run it streams each bundle's input to the workers in small messages
(``transforms.streamed_input``), as cluster runners do. Chosen by ``pipelines.options.local_runner`` only for
local runs (never for Dataflow, portable runners or a run that names a gs://, s3:// or azfs:// path).
"""
from __future__ import annotations

import gc
import os
import shlex
import sys

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability import python_urns
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.runners.runner import PipelineRunner

from transforms import memory, resources, streamed_input, worker_memory

BEAM_WORKER_MODULE = "apache_beam.runners.worker.sdk_worker_main"
WORKER_MODULE = "transforms.worker_main"


def worker_command() -> str:
    """The shell command of one worker (Beam runs it with ``shell=True``); on POSIX the shell ``exec``s Python
    instead of waiting beside it."""
    command = f"{shlex.quote(sys.executable)} -m {WORKER_MODULE}"
    return f"exec {command}" if os.name == "posix" else command


class _FnApiRunner(fn_runner.FnApiRunner):
    """Beam's FnApiRunner; Beam's own multi-process worker command is replaced by ``worker_command()``."""

    def run_via_runner_api(self, pipeline_proto, options: PipelineOptions):
        beam_command = f"{sys.executable} -m {BEAM_WORKER_MODULE}".encode()
        for env in pipeline_proto.components.environments.values():
            if env.urn == python_urns.SUBPROCESS_SDK and env.payload == beam_command:
                env.payload = worker_command().encode()
        return super().run_via_runner_api(pipeline_proto, options)


class LeanWorkersRunner(PipelineRunner):
    """What the DirectRunner runs for a batch pipeline (its FnApiRunner branch), with lean SDK worker processes."""

    def run_pipeline(self, pipeline, options: PipelineOptions):
        # the launcher only routes data between the workers, holding every PCollection: it gets the workers' glibc
        # settings (1 MiB mmap/trim thresholds: at 1M documents it peaked at 12.5 GB with them, and at 14.7 GB with
        # two arenas only, on a later dedup graph; bench/SCALE.md), lets go of the models it loaded for its checks
        # (the tokenizer, ~60 MB), and pyarrow allocates from that C heap
        worker_memory.tune_malloc()
        if resources.forget_shared():
            gc.collect()
            worker_memory.trim()
        memory.arrow_on_system_allocator()
        # as SwitchingDirectRunner does: the workers read the pipeline options from the provision info
        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        provision_info = fn_runner.ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        # a worker gets its share of a stage in 1 MB messages after the request, not as one message before it
        streamed = streamed_input.install()
        try:
            return _FnApiRunner(provision_info=provision_info).run_pipeline(pipeline, options)
        finally:
            if streamed:
                streamed_input.uninstall()
