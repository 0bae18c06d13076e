"""Run metadata the CLI records in run.json: package versions, input checksums, the tokenizer used."""
from __future__ import annotations

from importlib import metadata
from typing import Iterable, Optional

PACKAGES = ("yuliao", "apache-beam", "pyarrow", "trafilatura", "fasttext", "tokenizers", "datasketch",
            "jieba", "opencc-python-reimplemented", "warcio")


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256_of(path: str, max_bytes: int, size: int | None = None) -> Optional[str]:
    """sha256 of an input file, or None when it is larger than ``max_bytes`` (too slow to hash)."""
    import hashlib

    if size is not None and size > max_bytes:
        return None
    h = hashlib.sha256()
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        f = FileSystems.open(path, compression_type="uncompressed")
    else:
        f = open(path, "rb")
    with f:
        read = 0
        while chunk := f.read(1 << 20):
            read += len(chunk)
            if read > max_bytes:
                return None
            h.update(chunk)
    return h.hexdigest()

