"""Trafilatura's evaluation set (../shared/data/web/trafilatura): share of `with` snippets kept and
`without` snippets dropped by our extractor. Used by tests and bench."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from pipelines.recipe import ExtractConfig
from transforms.extract import Extractor, decode_html


def eval_pages(root: Path) -> list[tuple[str, dict, Path]]:
    base = root / "web" / "trafilatura"
    data = json.loads((base / "evaldata.json").read_text(encoding="utf-8"))
    out = []
    for url, item in sorted(data.items()):
        for folder in ("eval", "cache"):
            p = base / folder / (item["file"] + ".gz")
            if p.exists():
                out.append((url, item, p))
                break
    return out


def score(root: Path, extractor: Extractor | None = None, limit: int | None = None) -> dict:
    ex = extractor or Extractor.from_recipe(ExtractConfig())
    ex.setup()
    kept = with_total = dropped = without_total = 0
    pages = eval_pages(root)[:limit]
    for url, item, path in pages:
        html = decode_html(gzip.decompress(path.read_bytes()), None)
        text, _ = ex.extract_html(html)
        text = text or ""
        for s in item.get("with", []):
            with_total += 1
            kept += s in text
        for s in item.get("without", []):
            without_total += 1
            dropped += s not in text
    return {"pages": len(pages), "with_kept": kept / max(1, with_total), "without_dropped": dropped / max(1, without_total),
            "with_total": with_total, "without_total": without_total}


if __name__ == "__main__":
    import sys
    import time

    t = time.time()
    print(score(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")), f"{time.time() - t:.1f}s")
