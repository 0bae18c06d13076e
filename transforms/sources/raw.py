"""A fetched web payload before extraction (WARC response, WET conversion, crawler output)."""
from __future__ import annotations

from typing import NamedTuple, Optional

import apache_beam as beam


class RawPage(NamedTuple):
    id: str
    origin: str
    source: str
    url: Optional[str]
    fetched_at: Optional[str]
    content_type: str  # lower-case MIME type without parameters, e.g. text/html, text/plain
    charset: Optional[str]  # from the HTTP header / WARC header, if any
    body: bytes


beam.coders.registry.register_coder(RawPage, beam.coders.RowCoder)


def source_for_url(url: Optional[str], domain_categories: dict[str, str], default: str) -> str:
    """Category (`encyclopedia`, `qa`, …) of a web page by its host, suffix-matched."""
    if not url:
        return default
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return default
    for domain, category in domain_categories.items():
        d = domain.lower()
        if host == d or host.endswith("." + d):
            return category
    return default


class SourceReject(NamedTuple):
    """An input record a reader could not turn into a document (revisit, non-HTML, corrupt …)."""

    origin: str
    url: Optional[str]
    reason: str
