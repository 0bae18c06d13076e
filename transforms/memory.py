"""What a local Yuliao process does not need to load (issue #20: peak RSS of a build).

``import apache_beam`` (with the DirectRunner) is ~205 MB and ~1.2 CPU-s, and ~75 MB / ~0.55 CPU-s of that are
libraries no local build uses (``python bench/beam_import_memory.py``: 206 → 129 MB, 1.22 → 0.66 CPU-s): ``apache_beam.io`` imports every connector
(BigQuery, Pub/Sub, MongoDB, …), ``apache_beam.io.filesystems`` registers the GCS, S3 and Azure filesystems
(google-cloud-*, apitools, oauth2client, boto3/botocore, azure), and ``apache_beam.typehints`` imports pandas when
it is installed (only to register pandas batch converters; pyarrow then imports it too, on the first table it
builds). Beam is built to run without them — they are its optional ``[gcp]``/``[aws]``/``[azure]`` extras, pandas is
not a requirement, and the MongoDB connector does without pymongo — so ``lean_beam_import`` imports Beam, on a local
run only, as if they were not installed: the launcher (and with ``--direct_running_mode in_memory``, the whole
build) never maps them.

Finished bundles release their output buffers (``release_finished_streams``, installed by
``transforms/beam_speedups.py`` with Beam's other patches, so every launcher and worker has it; not on import here:
this module must load before Beam). A bundle's
``DataOutputOperation`` encodes its outputs into a buffered stream (flushed to the runner past 10 MB); at the end of
the bundle ``close()`` hands the buffer's bytes to the runner but keeps the buffer, and Beam caches the bundle
processor, with every output's closed stream, for reuse. On the local runner a bundle is a stage's whole input, so
each output of every stage kept a second copy of its last (up to 10 MB) output until the pipeline ended: ~85 MB of
the peak of ``bench/vs_datatrove.py``'s build. The stream is dropped once closed; Beam gives the operation a new
one before its next bundle (``BundleProcessor.process_bundle``), so no output changes.

A local multi-process run (``--direct_running_mode multi_processing``) starts its SDK workers through
``transforms/worker_main.py``, which imports Beam the same lean way (Beam's own entry point imports it whole: 209 →
123 MB and 1.46 → 0.56 CPU-s per worker, ``python bench/beam_import_memory.py``) and installs
``transforms.worker_memory`` before the harness starts; pyarrow then allocates from the C heap that module tunes
(``arrow_on_system_allocator``; the runner: ``transforms/local_runner.py``).

A run is local when its runner is the DirectRunner (no ``--runner``, or ``--runner DirectRunner``) and neither the
command line nor the effective recipe names a ``gs://``, ``s3://`` or ``azfs://`` path — those are the runs that
need the libraries, and they import Beam unchanged. Only Beam's own import is affected: the block is lifted as
soon as ``import apache_beam`` returns, so any later import (a test, a card) finds every library.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import sys
from typing import Optional, Sequence

# top-level modules of Beam's optional cloud extras and of pandas (``google.protobuf``, which Beam needs, is not
# among them: only these google.* packages are)
OPTIONAL_MODULES = ("google.cloud", "google.auth", "google.oauth2", "google.api_core", "google_auth_httplib2",
                    "apitools", "oauth2client", "boto3", "botocore", "s3transfer", "azure", "pymongo", "bson",
                    "pandas")
REMOTE_SCHEMES = ("gs://", "s3://", "azfs://")
LOCAL_COMMANDS = ("build", "select", "annotate")
LOCAL_RUNNERS = ("directrunner", "direct")


class _Absent(importlib.abc.MetaPathFinder):
    """Makes ``import <name>`` of the given modules fail as if they were not installed."""

    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        self.refused: set[str] = set()

    def find_spec(self, fullname: str, path=None, target=None):
        for name in self.names:
            if fullname == name or fullname.startswith(name + "."):
                self.refused.add(name)
                raise ModuleNotFoundError(f"No module named {fullname!r} (not loaded on a local Yuliao run: "
                                          f"transforms/memory.py)", name=fullname)
        return None


def _recipe_names_remote(recipe: Optional[str], overrides: list[str]) -> bool:
    """True when the effective recipe names a remote path, or cannot be loaded here (the CLI reports that)."""
    from pipelines.recipe import RecipeError, load_recipe

    try:
        dumped = load_recipe(recipe, overrides).model_dump_json()
    except (RecipeError, OSError, ValueError):
        return True
    return any(s in dumped for s in REMOTE_SCHEMES)


def is_local_run(argv: Sequence[str]) -> bool:
    """True for ``yuliao build|select|annotate`` on the DirectRunner with no gs://, s3:// or azfs:// path in the
    command line or the recipe."""
    args = [str(a) for a in argv]
    if not args or args[0] not in LOCAL_COMMANDS:
        return False
    if any(s in a for a in args for s in REMOTE_SCHEMES):
        return False
    ap = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    ap.add_argument("--runner", default=None)
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    known, _ = ap.parse_known_args(args[1:])
    if known.runner is not None and known.runner.lower() not in LOCAL_RUNNERS:
        return False
    return not _recipe_names_remote(known.recipe, known.overrides)


# the verdict of the last ``lean_beam_import`` in this process (None: never asked): a local run's multi-process
# workers start lean too (``pipelines.options.local_runner``)
LOCAL_RUN: Optional[bool] = None


def lean_beam_import(argv: Sequence[str]) -> bool:
    """Import Beam without its optional cloud libraries and pandas when ``argv`` (the CLI's arguments) is a local
    run and Beam is not imported yet; True when it did. Call before anything imports ``apache_beam``. Records
    whether the run is local in ``LOCAL_RUN`` (even when Beam was imported already)."""
    global LOCAL_RUN
    LOCAL_RUN = is_local_run(argv)
    if "apache_beam" in sys.modules or not LOCAL_RUN:
        return False
    import_beam_lean()
    return True


def import_beam_lean(modules: Sequence[str] = ("apache_beam.runners.direct.direct_runner",)) -> None:
    """Import Beam and ``modules`` (by default the DirectRunner, which a local build's launcher uses) as if Beam's
    optional cloud libraries and pandas were not installed; also what a local run's SDK worker processes do
    (``transforms/worker_main.py``)."""
    finder = _Absent(OPTIONAL_MODULES)
    sys.meta_path.insert(0, finder)
    try:
        import apache_beam  # noqa: F401
        import pyarrow

        for name in modules:
            importlib.import_module(name)

        # pyarrow looks for pandas once per process, on the first table it builds (the stores and sinks), and only
        # for its pandas conversions; asked here it settles on "no pandas" (a conversion would still import it)
        api = getattr(getattr(pyarrow, "lib", None), "_pandas_api", None)
        if api is not None:
            api.have_pandas  # noqa: B018 - the property runs the one-time check
    finally:
        sys.meta_path.remove(finder)


def release_finished_streams() -> bool:
    """Patch ``DataOutputOperation.finish`` once per process to drop the closed output stream; True when in place."""
    try:
        from apache_beam.runners.worker import bundle_processor
    except ImportError:  # pragma: no cover - Beam's worker package moved
        return False
    cls = getattr(bundle_processor, "DataOutputOperation", None)
    finish = getattr(cls, "finish", None)
    if finish is None:
        return False
    if getattr(finish, "releases_stream", False):
        return True

    def finish_and_release(self) -> None:
        finish(self)
        self.output_stream = None  # process_bundle sets a new stream before the operation's next bundle

    finish_and_release.releases_stream = True  # type: ignore[attr-defined]
    finish_and_release.__wrapped__ = finish  # type: ignore[attr-defined]
    cls.finish = finish_and_release
    return True


def arrow_on_system_allocator() -> bool:
    """Make pyarrow allocate from the C heap (tuned by ``transforms.worker_memory``) instead of its bundled mimalloc pool, which
    keeps freed segments for reuse: the select phase's store reads left each worker ~30 MB higher. True when set."""
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return False
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return pyarrow.default_memory_pool().backend_name == "system"
