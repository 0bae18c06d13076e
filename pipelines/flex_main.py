"""Entry point for the Dataflow flex template (``FLEX_TEMPLATE_PYTHON_PY_FILE``).

Google's flex-template guide: the launcher program must exit once ``run()`` has submitted the job — no
``wait_until_finish`` (it would block the launcher VM until it times out) and nothing that needs the job's
results. So this builds the graph, writes ``run.json`` (recipe and input list; no checksums, nothing reads
the corpus here), submits, and exits. The dataset card is rendered afterwards by ``yuliao card <output>``
from the ``stats.json`` the pipeline's last step writes. Parameters: ``input`` (one or more globs), ``output``,
``recipe``, ``set`` (``key=value`` recipe overrides), ``kind``, ``cache``; every other ``--option`` goes to Beam.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    ap = argparse.ArgumentParser(prog="flex_main")
    ap.add_argument("--input", nargs="+", action="extend", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--kind", default=None)
    ap.add_argument("--cache", default=None, help="annotation store (default: <output>.annotations)")
    args, beam_args = ap.parse_known_args(list(argv))
    # the console passes comma-separated lists in one parameter
    args.input = [g for item in args.input for g in item.split(",") if g]
    args.overrides = [o for item in args.overrides for o in item.split(",") if o]
    return args, beam_args


def launch(argv: Sequence[str]):
    """Build and submit; returns the PipelineResult without waiting for it."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.build import build_pipeline
    from pipelines.recipe import load_recipe, recipe_to_yaml
    from transforms.sinks import join, write_json_atomic
    from transforms.sources.read import expand_inputs

    args, beam_args = parse(argv)
    recipe = load_recipe(args.recipe, args.overrides)
    files = expand_inputs(args.input, args.kind)
    p = beam.Pipeline(options=PipelineOptions(beam_args))
    build_pipeline(p, recipe, files, args.output, cache=args.cache)
    write_json_atomic(join(args.output, "run.json"), {
        "recipe": recipe.model_dump(mode="json"), "recipe_yaml": recipe_to_yaml(recipe),
        "inputs": [f._asdict() for f in files], "launcher": "flex_template"})
    return p.run()


if __name__ == "__main__":
    launch(sys.argv[1:])
    sys.exit(0)
