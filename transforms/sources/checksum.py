"""Input fingerprints computed where the data is read (a worker), never on the launcher (no Beam pipeline code).

``file_fingerprint`` is what run.json records per input: size and modification time from the file
system's metadata, the object store's own checksum when there is one (GCS: crc32c, S3: ETag — free,
no read), and a streamed sha256 when the file is at most ``max_bytes`` (memory stays at one 1 MiB chunk).
``checksum_split`` hashes one byte-range split, so a large file's sha256 work can spread like its reading.
"""
from __future__ import annotations

import hashlib
from typing import Optional

from transforms.sources.split import Split

CHUNK = 1 << 20


def sha256_range(path: str, start: int = 0, stop: Optional[int] = None) -> str:
    """sha256 of the raw (still compressed) bytes ``[start, stop)`` of ``path``, streamed."""
    from apache_beam.io.filesystems import FileSystems

    h = hashlib.sha256()
    with FileSystems.open(path, compression_type="uncompressed") as f:
        if start:
            f.seek(start)
        left = None if stop is None else stop - start
        while left is None or left > 0:
            chunk = f.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


def file_fingerprint(path: str, max_bytes: Optional[int] = None) -> dict:
    """``{"size", "mtime", "store_checksum", "sha256"}`` of one input; ``sha256`` is None above ``max_bytes``
    (None: always hash), ``store_checksum`` None on file systems without one (local files)."""
    from apache_beam.io.filesystems import FileSystems

    meta = FileSystems.match([path])[0].metadata_list[0]
    size = meta.size_in_bytes
    store = None
    if "://" in path:
        try:
            store = FileSystems.checksum(path)  # GCS crc32c, S3 ETag: object metadata, no data read
        except Exception:  # noqa: BLE001 - a store without checksums (hdfs) still gets size/mtime
            store = None
    return {
        "size": size,
        "mtime": getattr(meta, "last_updated_in_seconds", None),
        "store_checksum": store,
        "sha256": sha256_range(path) if max_bytes is None or size <= max_bytes else None,
    }


BYTE_RANGED = frozenset({"jsonl", "mediawiki"})  # kinds whose Split.start/stop are byte offsets


def checksum_split(split: Split) -> dict:
    """sha256 of a split's raw bytes: its byte range for range splits (plain JSONL, multistream dumps: the
    ranges of one file's splits cover it exactly), the whole file for a whole-file split; Parquet row-group
    splits are not byte ranges, so split 0 hashes the whole file and the others nothing."""
    whole = split.start == 0 and split.stop is None
    if split.kind in BYTE_RANGED or whole:
        start, stop = (0, None) if whole else (split.start, split.stop)
    elif split.index == 0:
        start, stop = 0, None
    else:
        return {"name": split.name, "index": split.index, "start": None, "stop": None, "sha256": None}
    return {"name": split.name, "index": split.index, "start": start, "stop": stop,
            "sha256": sha256_range(split.path, start, stop)}
