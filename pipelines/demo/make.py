"""Generate the demo inputs (a WARC and a JSONL written for the project) and build the demo corpus.

``python -m pipelines.demo --output demo-output`` — what ``make demo`` runs. Inputs are
generated deterministically (fixed record ids and dates), so two demo builds are byte-identical.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import uuid
from typing import Sequence

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.demo.pages import QA_DOCS, pages

DATE = "2026-01-15T08:00:00Z"
NS = uuid.UUID("6f1c2d3e-0000-4000-8000-000000000000")


def _rid(key: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(NS, key)}>"


def write_demo_warc(path: str) -> int:
    """Pages plus the records a real crawl has: request, revisit, non-HTML and error responses."""
    n = 0
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=True)

        def response(url: str, body: bytes, ctype: str, status: str = "200 OK") -> None:
            nonlocal n
            http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                       warc_headers_dict={"WARC-Date": DATE, "WARC-Record-ID": _rid("resp" + url)})
            w.write_record(rec)
            n += 1

        for url, html in pages():
            req = StatusAndHeaders(f"GET {url.split('/', 3)[-1]} HTTP/1.1", [("Host", url.split("/")[2])],
                                   is_http_request=True)
            w.write_record(w.create_warc_record(url, "request", http_headers=req,
                                                warc_headers_dict={"WARC-Date": DATE, "WARC-Record-ID": _rid("req" + url)}))
            response(url, html.encode("utf-8"), "text/html; charset=utf-8")
        response("https://demo.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
        response("https://demo.example/missing", b"<html><body>Not found</body></html>", "text/html", "404 Not Found")
        revisit = w.create_revisit_record("https://demo.example/zh/park", digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                          refers_to_uri="https://demo.example/zh/park", refers_to_date=DATE,
                                          warc_headers_dict={"WARC-Date": DATE, "WARC-Record-ID": _rid("revisit")})
        w.write_record(revisit)
        n += 1
    return n


def write_demo_jsonl(path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in QA_DOCS:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        f.write("{not json\n")


def _write_if_changed(path: str, write) -> None:
    """Rewrite an input only when its bytes change: an unchanged file keeps its mtime, so a second
    ``make demo`` finds its annotations in the store instead of annotating again."""
    tmp = path + ".new"
    write(tmp)
    with open(tmp, "rb") as new:
        data = new.read()
    if os.path.exists(path):
        with open(path, "rb") as old:
            if old.read() == data:
                os.unlink(tmp)
                return
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__)
    ap.add_argument("--output", default="demo-output")
    ap.add_argument("--inputs-only", action="store_true", help="write the demo inputs and stop")
    args, beam_args = ap.parse_known_args(argv)
    # inputs beside the output, not in it: the output folder holds only what the build publishes
    inp = args.output.rstrip("/") + ".input"
    os.makedirs(inp, exist_ok=True)
    warc, jsonl = os.path.join(inp, "demo.warc.gz"), os.path.join(inp, "demo-qa.jsonl")
    _write_if_changed(warc, write_demo_warc)
    _write_if_changed(jsonl, write_demo_jsonl)
    if args.inputs_only:
        return 0
    from pipelines.cli import main as cli

    return cli(["build", "--recipe", "demo", "--input", warc, jsonl, "--output", args.output, *beam_args])
