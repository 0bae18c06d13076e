"""Dedup stage cost vs input size: wall time, CPU time and peak RSS at 10k, 50k and 200k documents.

    .venv/bin/python bench/dedup_scale.py run [--sizes 10000 50000 200000] [--runner-args ...]

Documents are synthesised from distinct real paragraphs (Gutenberg English and Chinese books in
../shared/data): document i joins 3 paragraphs drawn by a seeded RNG (~1–2k characters, half English, half
Chinese); 5% of documents are word/character-edited copies of an earlier one and 2% exact copies, so every
branch of the stage (exact groups, LSH buckets, verification, components, survivor joins) carries data.
Each size runs in its own process (``_one``) under ``bench/common.run_measured`` (whole process tree
sampled from /proc), on the DirectRunner in-memory by default. The documents are generated inside the
pipeline (one seed element → ``FlatMap(synth)``, like a source read; not a ``beam.Create`` of N docs, which
pickles them all into the pipeline proto), so the figures include generation; ``gen_s`` times it alone.
Results are appended to ``bench/work/results/dedup_scale.jsonl``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def paragraphs(data: Path) -> tuple[list[str], list[str]]:
    en, zh = set(), set()
    for f in sorted((data / "books" / "gutenberg-en").glob("*.txt")):
        en |= {p.strip() for p in re.split(r"\n\s*\n", f.read_text(encoding="utf-8-sig", errors="replace"))
               if len(p.strip()) > 200}
    for f in sorted((data / "books" / "gutenberg-zh").glob("*.txt")):
        zh |= {p.strip().replace("\n", "") for p in re.split(r"\n\s*\n", f.read_text(encoding="utf-8-sig",
                                                                                        errors="replace"))
               if len(p.strip()) > 120}
    return sorted(en), sorted(zh)


def synth(n: int, data: Path, seed: int = 7):
    """Yield n Documents (deterministic)."""
    from schemas.document import Document

    en, zh = paragraphs(data)
    rng = random.Random(seed)
    made: list[tuple[str, str]] = []
    for i in range(n):
        r = rng.random()
        if made and r < 0.02:
            text, lang = made[rng.randrange(len(made))]
        elif made and r < 0.07:
            text, lang = made[rng.randrange(len(made))]
            if lang == "en":
                words = text.split(" ")
                for j in rng.sample(range(len(words)), max(1, len(words) // 100)):
                    words[j] = "indeed"
                text = " ".join(words)
            else:
                chars = list(text)
                for j in rng.sample(range(len(chars)), max(1, len(chars) // 100)):
                    chars[j] = "的"
                text = "".join(chars)
        else:
            lang = "en" if i % 2 == 0 else "zh"
            pool = en if lang == "en" else zh
            text = "\n\n".join(pool[rng.randrange(len(pool))] for _ in range(3))
            if len(made) < 20_000:
                made.append((text, lang))
        yield Document(id=f"doc{i:07d}", text=text, source="web", origin="synth", lang=lang)


def one(n: int, data: Path, runner_args: list[str], out: Path) -> None:
    """Run the stage on n synthetic documents; write its stats and generation time to ``out``."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.recipe import load_recipe
    from transforms.dedup import stage

    t0 = time.perf_counter()
    sum(1 for _ in synth(n, data))  # generation alone (documents dropped), to report gen_s
    gen = time.perf_counter() - t0
    recipe = load_recipe(None, [])
    t1 = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        # Documents are generated inside the pipeline from one seed element, as a source would read them:
        # a ``beam.Create(docs)`` pickles (and bz2-compresses) every document into the pipeline proto several
        # times, which took 44% of the 10k run's samples (py-spy) and is no part of the stage.
        docs = (p | beam.Create([n], reshuffle=False)
                | "synth" >> beam.FlatMap(lambda k, d=str(data): synth(k, Path(d))))
        res = stage(docs, recipe)
        (res.stats | beam.CombinePerKey(sum) | beam.combiners.ToList()
         | beam.Map(lambda kv, path=str(out): Path(path).write_text(json.dumps(dict(kv)))))
        res.main | "count main" >> beam.combiners.Count.Globally()
    stats = json.loads(out.read_text())
    stats = {k.replace("\x1f", "/"): v for k, v in stats.items() if "@" not in k}
    out.write_text(json.dumps({"gen_s": round(gen, 1), "pipeline_s": round(time.perf_counter() - t1, 1),
                               "stats": stats}))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path.insert(0, str(REPO))
    data_default = os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data"))
    if argv and argv[0] == "_one":
        one(int(argv[1]), Path(argv[2]), argv[4:], Path(argv[3]))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    ap.add_argument("--data", default=data_default)
    ap.add_argument("--runner-args", nargs=argparse.REMAINDER,
                    default=["--runner", "DirectRunner", "--direct_running_mode", "in_memory"])
    args = ap.parse_args(argv)
    from bench.common import run_measured

    results = REPO / "bench" / "work" / "results"
    results.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        tmp = results / f"dedup_scale_{n}.tmp.json"
        m = run_measured([sys.executable, __file__, "_one", str(n), args.data, str(tmp), *args.runner_args],
                         log_path=str(results / f"dedup_scale_{n}.log"))
        row = {"docs": n, **{k: round(v, 1) for k, v in m.items()}, "runner_args": args.runner_args}
        if m["rc"] == 0:
            row.update(json.loads(tmp.read_text()))
            tmp.unlink()
            st = row["stats"]  # every document is kept or rejected with a reason: lost must be 0
            kept = st.get("dedup.near/out", st.get("dedup.exact/out", 0))
            row["lost"] = n - kept - sum(v for k, v in st.items() if k.startswith("dedup") and "/rejected/" in k)
        row["us_per_doc"] = round(1e6 * m["wall_s"] / n)
        with open(results / "dedup_scale.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps({k: v for k, v in row.items() if k != "stats"}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
