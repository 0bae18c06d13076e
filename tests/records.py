"""Split a reader's output into documents, reject reasons and counters (shared by the source tests)."""
from __future__ import annotations

import collections
from typing import Iterable

from schemas.document import Document
from transforms.sources.raw import SourceReject
from transforms.stage import Count


def split_records(items: Iterable) -> tuple[list[Document], list[str], collections.Counter]:
    docs, rejects, counts = [], [], collections.Counter()
    for item in items:
        if isinstance(item, Document):
            docs.append(item)
        elif isinstance(item, SourceReject):
            rejects.append(item.reason)
        else:
            assert isinstance(item, Count), type(item)
            counts[item.name] += item.value
    return docs, rejects, counts
