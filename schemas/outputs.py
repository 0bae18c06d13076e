"""Schemas of the side outputs: rejects (dead letters) and the stats rows."""
from __future__ import annotations

from typing import Mapping, NamedTuple, Optional

import apache_beam as beam
import pyarrow as pa

from schemas.document import SCHEMA_VERSION, kv_list


class Reject(NamedTuple):
    """A document a stage dropped, or an input it could not read. Never carries raw PII:
    ``text`` is filled only when the recipe asks, and only after PII scrubbing."""

    id: str
    source: str
    origin: str
    stage: str
    reason: str
    url: Optional[str] = None
    lang: Optional[str] = None
    signals: Mapping[str, float] = {}
    detail: Optional[str] = None
    text: Optional[str] = None


beam.coders.registry.register_coder(Reject, beam.coders.RowCoder)

REJECT_ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("signals", kv_list(pa.float64())),
        pa.field("detail", pa.string()),
        pa.field("text", pa.string()),
    ],
    metadata={"yuliao.schema": "reject", "yuliao.schema_version": str(SCHEMA_VERSION)},
)


def reject_to_row(r: Reject) -> dict:
    row = r._asdict()
    row["signals"] = sorted((row["signals"] or {}).items())
    return row


# stats.json layout (schema_version in the file):
# {"schema_version": 1, "stages": {stage: {"in": n, "out": n, "rejected": {reason: n}, ...extra counters}},
#  "order": [stage, ...], "timing": {...}}  -- "timing" is the only field that varies between reruns.
from transforms.contract import STATS_KEY_SEP  # noqa: E402,F401 - re-exported
