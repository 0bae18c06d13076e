"""Silence libraries that log document content (trafilatura quotes page text): logs must not carry PII.

Called by the CLI and again in each worker's ``setup`` (workers do not run the CLI's main)."""
from __future__ import annotations

import logging

NOISY = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer", "jieba", "readability")


class _DropBeamGcpNotice(logging.Filter):
    """Beam warns on import that optional GCP clients (and MongoDB's bson) are missing; they are not needed off
    Dataflow, and a local run imports Beam without them (transforms/memory.py)."""

    NOTICES = ("apitools not found", "Could not find a compatible bson package")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(n in message for n in self.NOTICES)


def quiet_libraries() -> None:
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _DropBeamGcpNotice) for f in handler.filters):
            handler.addFilter(_DropBeamGcpNotice())
