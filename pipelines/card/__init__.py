"""The dataset card: ``README.md`` and ``charts/*.png`` in the output root, from the run's own files.

Inputs are only ``stats.json`` (counters computed inside the pipeline), ``run.json`` (recipe,
inputs with checksums, package versions, wall time, written by the CLI) and ``mixture.json`` (the
balance stage, if it ran). The card never re-reads the corpus unless the sink's profile counters
are missing (outputs of older builds), and then reads only Parquet columns it needs.

Rendering is deterministic: the same three files give the same README bytes and PNG bytes
(sorted keys, fixed number formats, Agg backend, PNG metadata stripped). Run timing, the one
thing that differs between reruns, is confined to the last, clearly marked section.

Works with whatever stages ran: every section renders from the counters present and says so
when its stage did not run. ``huggingface_hub`` is not needed here (tests use it to parse).
"""
from __future__ import annotations

from pipelines.card.files import exists, glob_files, join, read_bytes, read_json, write_bytes
from pipelines.card.render import FIELDS, CardInputs, card_context, load_inputs, render_card, render_charts, render_readme
from pipelines.card.run import PACKAGES, package_versions, sha256_of
from pipelines.card.sections import (Partition, funnel, mixture_rows, partitions, sink_counters, size_category,
                                     top_reasons)

__all__ = ["FIELDS", "PACKAGES", "CardInputs", "Partition", "card_context", "exists", "funnel", "glob_files", "join",
           "load_inputs", "mixture_rows", "package_versions", "partitions", "read_bytes", "read_json",
           "render_card", "render_charts", "render_readme", "sha256_of", "sink_counters", "size_category",
           "top_reasons", "write_bytes"]
