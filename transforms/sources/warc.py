"""WARC/ARC reader: response and WET conversion records → ``RawPage``.

warcio handles WARC 1.0/1.1/0.18, ARC, per-record and whole-file gzip, and chunked or
compressed HTTP bodies. Each file is read by one worker (a file is the split unit); a
record that cannot be parsed ends that file's reading with a counted error, keeping every
record before it.
"""
from __future__ import annotations

import re
from typing import IO, Iterator, Union

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from schemas.document import doc_id
from transforms.sources.raw import RawPage, SourceReject, source_for_url
from transforms.contract import Count
from transforms.sources.split import Split, as_split

_CT_RE = re.compile(r"^\s*([^;\s]+)(?:.*?charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+))?", re.I | re.S)

Skipped = Count  # a counted, non-document WARC record (request, metadata, warcinfo …)


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    m = _CT_RE.match(value)
    if not m:
        return "", None
    return m.group(1).lower(), (m.group(2).lower() if m.group(2) else None)


def read_warc(
    stream: IO[bytes],
    name: str,
    *,
    record_types: tuple[str, ...] = ("response", "conversion"),
    html_types: tuple[str, ...] = ("text/html", "application/xhtml+xml"),
    max_record_bytes: int = 20_000_000,
    domain_categories: dict[str, str] | None = None,
    default_source: str = "web",
) -> Iterator[Union[RawPage, SourceReject, Skipped]]:
    """Yield pages, rejected records and skip counters for one WARC/ARC stream."""
    cats = domain_categories or {}
    it = ArchiveIterator(stream, arc2warc=True, ensure_http_headers=False)
    try:
        for record in it:
            # get_record_offset() reads the record to its end, so it is called only after the body is read
            rtype = record.rec_type
            url = record.rec_headers.get_header("WARC-Target-URI")
            if not rtype:  # header block cut off or missing WARC-Type
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, "warc_bad_header")
                continue
            if rtype == "revisit":
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, "warc_revisit")
                continue
            if rtype not in record_types:
                yield Skipped(f"skipped/{rtype}")
                continue
            date = record.rec_headers.get_header("WARC-Date")
            length = int(record.rec_headers.get_header("Content-Length") or 0)
            if length > max_record_bytes:
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, "record_too_large")
                continue
            if rtype == "response":
                if record.http_headers is None:
                    # a response without an HTTP envelope (e.g. dns: or a bare payload)
                    ctype, charset = parse_content_type(record.rec_headers.get_header("Content-Type"))
                    if ctype.startswith("application/http"):
                        yield SourceReject(f"{name}@{it.get_record_offset()}", url, "bad_http_headers")
                        continue
                else:
                    status = record.http_headers.get_statuscode()
                    if status and not status.startswith("2"):
                        yield SourceReject(f"{name}@{it.get_record_offset()}", url, f"http_status_{status[:1]}xx")
                        continue
                    ctype, charset = parse_content_type(record.http_headers.get_header("Content-Type"))
                if ctype not in html_types:
                    yield SourceReject(f"{name}@{it.get_record_offset()}", url, "non_html")
                    continue
                kind = "text/html"
            else:  # conversion (WET) records carry extracted plain text
                ctype, charset = parse_content_type(record.rec_headers.get_header("Content-Type"))
                kind = "text/plain"
                charset = charset or "utf-8"
            try:
                body = record.content_stream().read(max_record_bytes + 1)
            except Exception as exc:  # noqa: BLE001 - corrupt body (bad chunking / gzip): dead letter
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, f"bad_body:{type(exc).__name__}")
                continue
            if len(body) <= max_record_bytes and getattr(record.raw_stream, "limit", 0) > 0:
                # the stream ended before Content-Length bytes: a truncated file or a lying header
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, "record_truncated")
                continue
            offset = it.get_record_offset()
            origin = f"{name}@{offset}"
            if len(body) > max_record_bytes:
                yield SourceReject(f"{name}@{it.get_record_offset()}", url, "record_too_large")
                continue
            yield RawPage(
                id=doc_id("warc", name, offset),
                origin=origin,
                source=source_for_url(url, cats, default_source),
                url=url,
                fetched_at=date,
                content_type=kind,
                charset=charset,
                body=body,
            )
    except ArchiveLoadFailed:
        yield SourceReject(f"{name}@{it.offset}", None, "warc_unreadable")
    except Exception as exc:  # noqa: BLE001 - truncated gzip member, bad header, warcio parse errors: dead letter
        yield SourceReject(f"{name}@{it.offset}", None, f"warc_truncated:{type(exc).__name__}")


def read_file(split: Split | str, recipe) -> Iterator[Union[RawPage, SourceReject, Skipped]]:
    """READERS entry point (``kind = warc``): one split per file; ids and origins use ``split.name``."""
    from apache_beam.io.filesystems import FileSystems

    split = as_split(split, "warc")
    w = recipe.sources.warc
    with FileSystems.open(split.path, compression_type="uncompressed") as f:
        yield from read_warc(f, split.name, record_types=w.record_types, html_types=w.html_types,
                             max_record_bytes=w.max_record_bytes,
                             domain_categories=recipe.sources.domain_categories,
                             default_source=recipe.sources.default_source)
