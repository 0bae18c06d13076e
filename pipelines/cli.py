"""The ``yuliao`` command: ``build`` a corpus (more subcommands: crawl, card, inspect)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from typing import Sequence

from pipelines.accounting import AccountingError
from pipelines.recipe import RecipeError, load_recipe, recipe_to_yaml
from transforms.quiet import quiet_libraries

log = logging.getLogger("yuliao")


def _add_input_args(b: argparse.ArgumentParser) -> None:
    b.add_argument("--checksum-max-mb", type=float, default=512.0, metavar="MB",
                   help="workers record the sha256 of inputs up to this size (run.json, the card; 0: none)")
    b.add_argument("--recipe", default="default", help="recipe YAML path or built-in name (default, demo, zh_heavy)")
    b.add_argument("--input", nargs="+", action="extend", required=True, metavar="GLOB",
                   help="input files or globs (local, gs://, s3://, hdfs://)")
    b.add_argument("--kind", default=None, help="input kind when the extension does not say (warc, jsonl, parquet, …)")
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set langid.min_score=0.8")
    b.add_argument("--sample", type=float, default=1.0, metavar="RATE",
                   help="annotate and build only this deterministic share of the input documents (by id hash)")
    b.add_argument("--limit", type=int, default=None, metavar="N",
                   help="at most N documents (deterministic by id hash), to try a recipe quickly")
    b.add_argument("-q", "--quiet", action="store_true")
    b.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="live per-stage progress (rich table on a terminal, a log line every 30 s otherwise)")


def _add_output_args(b: argparse.ArgumentParser) -> None:
    b.add_argument("--output", required=True, help="output directory")
    b.add_argument("--no-card", dest="card", action="store_false", help="do not render README.md and charts/")
    b.add_argument("--force", action="store_true",
                   help="publish into an --output folder that also holds files Yuliao did not write (they are kept)")


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="yuliao", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="annotate what the cache lacks, then select: a corpus "
                                     "(any other --option is passed to Beam)")
    _add_input_args(b)
    _add_output_args(b)
    b.add_argument("--cache", default=None, metavar="DIR",
                   help="annotation store (default: <output>.annotations, a sibling of the output)")
    a = sub.add_parser("annotate", help="extract, normalize, identify language and compute signals into the "
                                        "annotation store (the expensive, per-document phase)")
    _add_input_args(a)
    a.add_argument("--cache", required=True, metavar="DIR", help="annotation store to fill")
    s = sub.add_parser("select", help="build a corpus from the annotation store: quality decisions, dedup, PII, "
                                      "tokenize, balance (never re-extracts)")
    _add_input_args(s)
    _add_output_args(s)
    s.add_argument("--cache", required=True, metavar="DIR", help="annotation store written by annotate or build")
    c = sub.add_parser("card", help="re-render README.md and charts/ of an output directory from its stats")
    c.add_argument("output", help="output directory of a build")
    i = sub.add_parser("inspect", help="summary table and sample documents (kept, or rejected for a reason)")
    i.add_argument("output", help="output directory of a build")
    i.add_argument("--stage", default=None, help="show documents rejected by this stage (default: kept documents)")
    i.add_argument("--reason", default=None, help="show documents rejected for this reason")
    i.add_argument("--lang", default=None, help="only this language")
    i.add_argument("--source", default=None, help="only this source category")
    i.add_argument("--sample", type=int, default=3, metavar="N", help="number of documents to show (0: summary only)")
    i.add_argument("--chars", type=int, default=600, help="characters of text to show per document")
    i.add_argument("--seed", type=int, default=0, help="which sample (deterministic for a given seed)")
    from pipelines.crawl import add_arguments as _crawl_arguments

    _crawl_arguments(sub.add_parser("crawl", help="crawl seed URLs politely into WARC files (any other --option goes to Beam)"))
    from pipelines.recipe_reference import add_arguments as _recipe_arguments

    _recipe_arguments(sub.add_parser("recipe", help="every recipe key: default, meaning and source (--defaults)"))
    from pipelines.export_megatron import add_arguments as _megatron_arguments

    export = sub.add_parser("export", help="convert a build's token Parquet for a trainer")
    _megatron_arguments(export.add_subparsers(dest="format", required=True).add_parser(
        "megatron", help="Megatron-LM indexed dataset .bin/.idx pairs"))
    from pipelines.train_quality import add_arguments as _train_quality_arguments

    _train_quality_arguments(sub.add_parser("train-quality", help="train a fastText quality model (.ftz) from "
                                            "positive/negative files; prints held-out precision/recall/AUC"))
    return ap


def _pipeline(beam_args: list[str]):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import local_runner
    from transforms import worker_memory

    # every SDK worker imports worker_memory at its start, before it builds its data channel (bounded queues)
    options = PipelineOptions([*(beam_args or []), *worker_memory.PLUGIN_OPTIONS])
    if "--runner" not in " ".join(beam_args):
        options.view_as(beam.options.pipeline_options.StandardOptions).runner = "DirectRunner"
    return beam.Pipeline(runner=local_runner(options), options=options)  # lean local workers (issue #20)


def _sampler(args: argparse.Namespace, recipe):
    from transforms.sample import Sampler

    return Sampler(args.sample, args.limit, recipe.seed)


def _filesystems(beam_args: list[str]) -> None:
    """Beam's filesystem options (S3 endpoint and keys, GCS project…) before any path is matched or read."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    FileSystems.set_options(PipelineOptions(beam_args or []))


def _input_records(entries: list, files) -> list[dict]:
    """run.json's inputs: name, kind, size and the sha256 a worker computed while annotating (split 0's marker);
    the launcher reads only those small markers, never the inputs."""
    from pipelines.card.run import input_record

    by_name = {e.ident.name: (e.markers[0].get("fingerprint") or {}) for e in entries}
    return [input_record(f, by_name.get(f.name, {}).get("sha256")) for f in files]


def _store_summary(cache: str, recipe, files, sampler=None) -> tuple[str, list, list]:
    """(settings hash, complete entries, inputs whose entry is missing or incomplete) — markers only."""
    from transforms import store

    shash = store.settings_hash(store.annotate_settings(recipe, sampler))
    done, missing = [], []
    for f in files:
        e = store.complete_entry(cache, shash, store.InputIdentity(f.name, f.size, f.mtime))
        (done if e is not None else missing).append(e if e is not None else f)
    return shash, done, missing


def cmd_annotate(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipelines.build import annotate_phase
    from pipelines.validate import validate_recipe
    from transforms.sources.read import expand_inputs

    recipe = load_recipe(args.recipe, args.overrides)
    _filesystems(beam_args)
    validate_recipe(recipe, args.cache)
    sampler = _sampler(args, recipe)
    files = expand_inputs(args.input, args.kind)
    shash, done, missing = _store_summary(args.cache, recipe, files, sampler)
    if missing:
        p = _pipeline(beam_args)
        annotate_phase(p, recipe, missing, args.cache, sampler, int(args.checksum_max_mb * 1024 * 1024))
        _run_with_progress(p, args.progress and not args.quiet, sum(f.size for f in missing))
    if not args.quiet:
        print(f"annotated {len(missing)} of {len(files)} inputs ({len(done)} already in the store)\n"
              f"store: {args.cache} (settings {shash})")
    return 0


def cmd_build(args: argparse.Namespace, beam_args: list[str]) -> int:
    """``build`` and ``select``: checks first (output, recipe), then the pipeline writes into a staging folder
    that is published only when complete (pipelines/publish.py)."""
    from apache_beam.io.filesystems import FileSystems

    from pipelines.accounting import check_accounting
    from pipelines.build import annotate_phase, build_pipeline, default_cache, select_pipeline
    from pipelines.card import package_versions
    from pipelines.card.run import tokenizer_info
    from pipelines.interrupt import was_interrupted
    from pipelines.publish import check_output, staged_output
    from pipelines.validate import validate_recipe
    from transforms import store
    from transforms.sinks import join, write_json_atomic
    from transforms.sources.read import expand_inputs

    recipe = load_recipe(args.recipe, args.overrides)
    _filesystems(beam_args)
    check_output(args.output, args.force)  # before anything is read: a file, or a folder that is not ours
    cache = args.cache or default_cache(args.output)
    validate_recipe(recipe, cache)
    sampler = _sampler(args, recipe)
    files = expand_inputs(args.input, args.kind)
    selecting = args.command == "select"
    # markers only: when the store already holds every input (a re-select), ``build`` runs select alone and
    # its graph carries no annotate steps
    shash, entries, missing = _store_summary(cache, recipe, files, sampler)
    if selecting:
        if missing:
            names = ", ".join(f.name for f in missing[:5]) + (" …" if len(missing) > 5 else "")
            raise ValueError(f"{len(missing)} input(s) are not (completely) in the annotation store {cache} for "
                             f"these annotate settings ({shash}): {names}; run `yuliao annotate` or `yuliao build`")
    max_bytes = int(args.checksum_max_mb * 1024 * 1024)
    tokenizer = tokenizer_info(recipe.tokenize, cache)
    started = time.time()
    status = 0
    progress = args.progress and not args.quiet
    with staged_output(args.output, args.force) as staging:
        out = staging.path
        p = _pipeline(beam_args)
        if missing and _in_memory(p):
            # on the in-memory runner: annotate, then select as a second pipeline, from the markers; a build killed
            # while annotating (the part worth resuming) has not paid for select's graph (a multi-process run
            # would start its workers twice: one pipeline there, as on a cluster)
            run_id = uuid.uuid4().hex
            annotate_phase(p, recipe, missing, cache, sampler, max_bytes, run_id)
            _run_with_progress(p, progress, sum(f.size for f in missing))
            _, entries, missing = _store_summary(cache, recipe, files, sampler)
            if missing:
                raise RuntimeError(f"{len(missing)} input(s) are still not in the annotation store {cache} after "
                                   f"annotating them (first: {missing[0].name})")
            p = _pipeline(beam_args)
            select_pipeline(p, recipe, entries, out, sampler, run_id)
            _run_with_progress(p, progress)
        elif not missing:
            select_pipeline(p, recipe, entries, out, sampler)
            _run_with_progress(p, progress)
        else:  # a cluster runner: one job, both phases
            build_pipeline(p, recipe, files, out, cache, sampler, max_bytes)
            _run_with_progress(p, progress, sum(f.size for f in files))
            _, entries, _ = _store_summary(cache, recipe, files, sampler)  # what this build just completed
        inputs = _input_records(entries, files)
        write_json_atomic(join(out, "run.json"), {
            "recipe": recipe.model_dump(mode="json"),
            "recipe_yaml": recipe_to_yaml(recipe),
            "inputs": inputs,
            "checksum_max_bytes": max_bytes,
            "annotation_store": {"settings_hash": shash,
                                 "store_version": store.STORE_VERSION},
            "versions": package_versions(),
            "tokenizer": tokenizer,
            "timing": {"wall_seconds": round(time.time() - started, 3)},
        })
        with FileSystems.open(join(out, "stats.json")) as f:
            stats = json.loads(f.read())
        check_accounting(stats)  # a build that lost records is not published
        if args.card:
            status = _render_card_or_warn(out, args.output)
        if was_interrupted():  # a Ctrl-C that a runner thread or library caught and went on from: never publish
            raise KeyboardInterrupt
    if not args.quiet:
        print(summary_table(stats))
        print(f"output: {args.output}")
    return status


def _in_memory(p) -> bool:
    """The local runner in one process (``--direct_running_mode in_memory``, the default)."""
    from apache_beam.options.pipeline_options import DirectOptions

    from transforms.progress import is_local_runner

    return is_local_runner(p.runner) and p.options.view_as(DirectOptions).direct_running_mode == "in_memory"


def _run_with_progress(p, progress: bool, total_bytes: int | None = None) -> None:
    """Run the pipeline to completion; with ``progress``, show per-stage counts (and % of input read) while it runs.

    DirectRunner metrics cannot be polled mid-run (``run()`` blocks until done), so workers append
    to a progress file named by an environment variable; remote runners return from ``run()`` at once,
    so their job id is printed and their Beam metrics are followed (see transforms/progress.py)."""
    import os
    import tempfile

    from pipelines.build import STATS_ORDER
    from transforms.progress import ENV, MetricsProgress, ProgressDisplay, is_local_runner, job_announcement

    if not is_local_runner(p.runner):
        for name in ("apache_beam.runners.dataflow", "apache_beam.runners.portability.portable_runner"):
            logging.getLogger(name).setLevel(logging.INFO)  # the job id / console URL lines
        result = p.run()
        try:
            line = job_announcement(result, p.options, type(p.runner).__name__)
            if line:
                print(line, file=sys.stderr, flush=True)
            if progress:
                with ProgressDisplay(MetricsProgress(result), STATS_ORDER, total_bytes=total_bytes):
                    result.wait_until_finish()
            else:
                result.wait_until_finish()
        except BaseException:
            try:  # interrupted or failed here: do not leave the job writing into a staging folder being removed
                result.cancel()
            except Exception:  # noqa: BLE001 - already finished, or the runner cannot cancel
                pass
            raise
        state = str(result.state)
        if "DONE" not in state:
            raise RuntimeError(f"the job ended in state {state}")
        return
    if not progress:
        p.run().wait_until_finish()
        return
    fd, path = tempfile.mkstemp(prefix="yuliao-progress-", suffix=".tsv")
    os.close(fd)
    previous = os.environ.get(ENV)
    os.environ[ENV] = path
    try:
        with ProgressDisplay(path, STATS_ORDER, total_bytes=total_bytes):
            p.run().wait_until_finish()
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        os.unlink(path)


def _render_card_or_warn(output: str, published: str | None = None) -> int:
    """Render the card; a failure leaves the corpus in place and says how to retry."""
    from pipelines.card import render_card

    try:
        render_card(output)
    except Exception as exc:  # noqa: BLE001 - the data is written; report and let the user rerun `card`
        log.exception("rendering the dataset card failed")
        print(f"yuliao: card rendering failed ({type(exc).__name__}); the corpus is complete. "
              f"Retry with: yuliao card {published or output}", file=sys.stderr)
        return 1
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    """Re-render the card. Without stats.json there is nothing to render (exit 2); without run.json the card
    says what it cannot know, and the command warns and exits 1."""
    from pipelines.accounting import accounting_problems
    from pipelines.card import exists, join, read_json, render_card
    from pipelines.publish import record_files

    missing = [name for name in ("stats.json", "run.json") if not exists(join(args.output, name))]
    if "stats.json" in missing:
        print(f"yuliao: error: {join(args.output, 'stats.json')} not found: not a yuliao build output", file=sys.stderr)
        return 2
    written = render_card(args.output)
    prefix = join(args.output, "")
    record_files(args.output, [p[len(prefix):] for p in written if p.startswith(prefix)])
    for path in written:
        print(path)
    # a flex-template job publishes without the launcher's check (pipelines/flex_main.py): say it here
    problems = accounting_problems(read_json(join(args.output, "stats.json")))
    if problems:
        print(f"yuliao: error: {join(args.output, 'stats.json')} does not account for every record: "
              + "; ".join(problems), file=sys.stderr)
        return 1
    if missing:
        print(f"yuliao: warning: {join(args.output, 'run.json')} not found: the card lacks the recipe, inputs, "
              f"tokenizer and versions of this build", file=sys.stderr)
        return 1
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipelines.inspect import inspect_output

    print(inspect_output(args.output, stage=args.stage, reason=args.reason, lang=args.lang, source=args.source,
                         sample=args.sample, chars=args.chars, seed=args.seed))
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
    from transforms.memory import lean_beam_import

    lean_beam_import(sys.argv[1:] if argv is None else argv)  # before the parser imports Beam (issue #20)
    from pipelines.interrupt import watch_sigint

    watch_sigint()
    parser = _build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command in ("build", "select", "annotate", "crawl"):
            from pipelines.options import check_beam_args, option_strings

            check_beam_args(rest, option_strings(parser))
        if args.command in ("build", "select"):
            return cmd_build(args, rest)
        if args.command == "annotate":
            return cmd_annotate(args, rest)
        if args.command in ("card", "inspect"):
            if rest:
                print(f"yuliao: error: unrecognized arguments: {' '.join(rest)}", file=sys.stderr)
                return 2
            return cmd_card(args) if args.command == "card" else cmd_inspect(args)
        if args.command in ("export", "recipe"):
            if rest:
                print(f"yuliao: error: unrecognized arguments: {' '.join(rest)}", file=sys.stderr)
                return 2
            if args.command == "recipe":
                from pipelines.recipe_reference import cmd_recipe

                return cmd_recipe(args)
            from pipelines.export_megatron import cmd_export_megatron

            return cmd_export_megatron(args)
        if args.command == "train-quality":
            from pipelines.train_quality import cmd_train_quality

            return cmd_train_quality(args)
        if args.command == "crawl":
            from pipelines.crawl import cmd_crawl

            return cmd_crawl(args, rest)
    except AccountingError as exc:  # the pipeline ran but its counts do not add up: nothing was published
        print(f"yuliao: error: {exc}; {args.output} is unchanged", file=sys.stderr)
        return 1
    except (RecipeError, FileNotFoundError, ValueError) as exc:  # StoreVersionError is a ValueError
        print(f"yuliao: error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:
        from pipelines.interrupt import exit_interrupted, was_interrupted

        if not was_interrupted(exc):
            raise
        exit_interrupted(f"yuliao: interrupted; nothing was published"
                         + (f", {args.output} is unchanged" if getattr(args, "output", None) else ""))
    return 1


if __name__ == "__main__":
    sys.exit(main())
