"""The ``yuliao`` command: ``build`` a corpus (more subcommands: crawl, card, inspect)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Sequence

from pipelines.recipe import RecipeError, load_recipe, recipe_to_yaml
from transforms.quiet import quiet_libraries

log = logging.getLogger("yuliao")


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="yuliao", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a corpus (any other --option is passed to Beam)")
    b.add_argument("--recipe", default="default", help="recipe YAML path or built-in name (default, demo, zh_heavy)")
    b.add_argument("--input", nargs="+", action="extend", required=True, metavar="GLOB",
                   help="input files or globs (local, gs://, s3://, hdfs://)")
    b.add_argument("--kind", default=None, help="input kind when the extension does not say (warc, jsonl, parquet, …)")
    b.add_argument("--output", required=True, help="output directory")
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set langid.min_score=0.8")
    b.add_argument("-q", "--quiet", action="store_true")
    return ap


def _clear_previous(output: str) -> None:
    """Remove outputs of an earlier build so stale shards never mix with new ones."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.sinks import join

    for name in ("data", "rejects", "stats.json", "mixture.json", "README.md", "run.json", "charts"):
        path = join(output, name)
        if FileSystems.exists(path):
            FileSystems.delete([path])


def cmd_build(args: argparse.Namespace, beam_args: list[str]) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.build import build_pipeline
    from transforms.sinks import join, write_json_atomic
    from transforms.sources.read import expand_inputs

    recipe = load_recipe(args.recipe, args.overrides)
    files = expand_inputs(args.input, args.kind)
    from apache_beam.io.filesystems import FileSystems

    if "://" not in args.output:
        import os

        os.makedirs(args.output, exist_ok=True)
    _clear_previous(args.output)
    options = PipelineOptions(beam_args or [])
    if "--runner" not in " ".join(beam_args):
        options.view_as(beam.options.pipeline_options.StandardOptions).runner = "DirectRunner"
    started = time.time()
    with beam.Pipeline(options=options) as p:
        build_pipeline(p, recipe, files, args.output)
    write_json_atomic(join(args.output, "run.json"), {
        "recipe": recipe.model_dump(mode="json"),
        "recipe_yaml": recipe_to_yaml(recipe),
        "inputs": [f._asdict() for f in files],
        "timing": {"wall_seconds": round(time.time() - started, 3)},
    })
    with FileSystems.open(join(args.output, "stats.json")) as f:
        stats = json.loads(f.read())
    if not args.quiet:
        print(summary_table(stats))
        print(f"output: {args.output}")
    return 0


def summary_table(stats: dict) -> str:
    rows = [f"{'stage':<16}{'in':>10}{'out':>10}  top reject reasons"]
    for stage in stats["order"]:
        s = stats["stages"][stage]
        reasons = sorted(s["rejected"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        rows.append(f"{stage:<16}{s['in']:>10}{s['out']:>10}  " + ", ".join(f"{r} {n}" for r, n in reasons))
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    args, rest = _build_parser().parse_known_args(argv)
    try:
        if args.command == "build":
            return cmd_build(args, rest)
    except (RecipeError, FileNotFoundError, ValueError) as exc:
        print(f"yuliao: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
