"""Documents cut from the English Gutenberg book several tests share (../shared/data/books/gutenberg-en)."""
from __future__ import annotations

import re
from pathlib import Path


def pride_and_prejudice(data_dir: Path) -> str:
    return (data_dir / "books" / "gutenberg-en" / "pg1342.txt").read_text(encoding="utf-8-sig")


def book_paragraphs(data_dir: Path, min_chars: int) -> list[str]:
    """Its blank-line-separated paragraphs longer than ``min_chars``."""
    return [p.strip() for p in re.split(r"\n\s*\n", pride_and_prejudice(data_dir)) if len(p.strip()) > min_chars]


def book_chapters(data_dir: Path) -> list[str]:
    """Eight long chapters (over 6,000 characters), split on the chapter headings."""
    raw = pride_and_prejudice(data_dir)
    return [c.strip() for c in re.split(r"\n\s*Chapter \d+\s*\n", raw) if len(c.strip()) > 6000][1:9]
