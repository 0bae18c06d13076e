"""How well ``cjk_key`` makes zh-CN and zh-TW spellings of the same text meet (Beam-free, ~20 s).

    PYTHONPATH=. .venv/bin/python bench/cjk_fold.py [--data DIR]   (default: $YULIAO_TEST_DATA or ../shared/data)

On the 15 parallel debian-reference pages (``web/debian-reference-zh``: the same guide translated for the
mainland in Simplified script and for Taiwan in Traditional script, with Taiwan vocabulary), prints per page
and on average the exact character-5-gram Jaccard of the two keys with the Taiwan phrase fold off and on,
and the Jaccard of every zh-CN page with its character-level Traditional copy (OpenCC ``s2t``, no phrase
change), which must stay ~1.0: the fold may not separate copies that differ only in script. On the pages
whose two versions align line by line (same number of non-empty lines, a quarter of them equal even unfolded),
it also counts the lines whose keys are equal with the fold off and on.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path
from statistics import mean, median

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 1.0


def page_texts(data: Path) -> dict[str, dict[str, str]]:
    from pipelines.recipe import ExtractConfig
    from transforms.extract import Extractor, decode_html

    ex = Extractor.from_recipe(ExtractConfig())
    ex.setup()
    root = data / "web" / "debian-reference-zh"
    out: dict[str, dict[str, str]] = {}
    for p in sorted((root / "zh-cn").glob("*.html.gz")):
        page = p.name.split(".")[0]
        out[page] = {v: ex.extract_html(decode_html(gzip.open(root / f"zh-{v}" / f"{page}.zh-{v}.html.gz").read(),
                                                    None))[0] for v in ("cn", "tw")}
    return out


def main() -> None:
    import opencc

    from transforms.dedup.minhash import char_shingles, cjk_key

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("YULIAO_TEST_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--n", type=int, default=5, help="character n-gram length")
    args = ap.parse_args()
    s2t = opencc.OpenCC("s2t")
    rows = []
    lines = {"aligned_lines": 0, "differ_unfolded": 0, "agree_fold_off": 0, "agree_fold_on": 0}
    for page, t in page_texts(args.data).items():
        cn, tw = ([ln for ln in t[v].split("\n") if ln.strip()] for v in ("cn", "tw"))
        # line i ↔ line i where the translations keep the page's line structure: same number of lines and at
        # least a quarter equal even without the fold (pr01 has the same count but is shifted by one line)
        if len(cn) == len(tw) and sum(cjk_key(a, False) == cjk_key(b, False) for a, b in zip(cn, tw)) >= len(cn) / 4:
            for a, b in zip(cn, tw):
                off = cjk_key(a, False) == cjk_key(b, False)
                lines["aligned_lines"] += 1
                lines["differ_unfolded"] += not off
                lines["agree_fold_off"] += off
                lines["agree_fold_on"] += cjk_key(a) == cjk_key(b)
        row = {"page": page}
        for fold in (False, True):
            cn, tw = (char_shingles(cjk_key(t[v], fold), args.n) for v in ("cn", "tw"))
            row[f"jaccard_fold_{'on' if fold else 'off'}"] = round(exact_jaccard(cn, tw), 4)
        row["script_copy_jaccard"] = round(exact_jaccard(char_shingles(cjk_key(t["cn"]), args.n),
                                                         char_shingles(cjk_key(s2t.convert(t["cn"])), args.n)), 4)
        rows.append(row)
        print(json.dumps(row))
    summary = {k: {"mean": round(mean(r[k] for r in rows), 4), "median": round(median(r[k] for r in rows), 4),
                   "min": round(min(r[k] for r in rows), 4)}
               for k in ("jaccard_fold_off", "jaccard_fold_on", "script_copy_jaccard")}
    print(json.dumps({"pages": len(rows), "n": args.n, **summary, "line_keys": lines}))


if __name__ == "__main__":
    main()
