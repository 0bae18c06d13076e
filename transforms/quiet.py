"""Silence libraries that log document content (trafilatura quotes page text): logs must not carry PII.

Called by the CLI and again in each worker's ``setup`` (workers do not run the CLI's main)."""
from __future__ import annotations

import logging

NOISY = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer", "jieba", "readability")


class _DropBeamGcpNotice(logging.Filter):
    """Beam warns on import that optional GCP clients are missing; they are not needed off Dataflow."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def quiet_libraries() -> None:
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _DropBeamGcpNotice) for f in handler.filters):
            handler.addFilter(_DropBeamGcpNotice())
