"""Reading and writing the card's files on local paths and any Beam filesystem (gs://, s3://, …)."""
from __future__ import annotations

import json
import posixpath
from typing import Optional


def join(base: str, *parts: str) -> str:
    if "://" in base:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, *parts)
    return posixpath.join(base, *parts)


def exists(path: str) -> bool:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    import os

    return os.path.exists(path)


def read_bytes(path: str) -> bytes:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    """Write via a temp name + rename so a reader never sees half a file (the publisher's own writer)."""
    from pipelines.publish import write_bytes_atomic

    write_bytes_atomic(path, data)


def glob_files(pattern: str) -> list[str]:
    if "://" in pattern:
        from apache_beam.io.filesystems import FileSystems

        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    import glob

    return sorted(glob.glob(pattern))


def read_json(path: str) -> Optional[dict]:
    return json.loads(read_bytes(path).decode("utf-8")) if exists(path) else None

