"""Silence libraries that log document content (trafilatura quotes page text): logs must not carry PII.

Called by the CLI and again in each worker's ``setup`` (workers do not run the CLI's main)."""
from __future__ import annotations

import logging

NOISY = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer", "jieba", "readability")


def quiet_libraries() -> None:
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)
