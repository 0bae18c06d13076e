"""The annotation store: per-split Parquet written by ``annotate``, read by ``select``.

Layout (any Beam filesystem: local, gs://, s3://)::

    <cache>/<settings hash>/settings.json                      the annotate-phase settings that were hashed
    <cache>/<settings hash>/<input key>/split-00000.docs.parquet
    <cache>/<settings hash>/<input key>/split-00000.rejects.parquet
    <cache>/<settings hash>/<input key>/split-00000.done.json  completion marker, written last

The settings hash covers every recipe key that changes what annotate computes (``annotate_settings``), so a
store entry is reused only for identical settings; other settings are a different folder and are recomputed.
The input key hashes the input's name (relative to its ``--input`` pattern), size and modification time.
Files are written under temporary names and renamed; the marker is written last and records row counts and
byte sizes, so a partial, truncated or corrupt entry is detected and recomputed, never read.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from array import array
from typing import Any, Iterable, Mapping, NamedTuple, Optional

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.annotation import ANNOTATION_SCHEMA, STORE_VERSION
from schemas.outputs import REJECT_ARROW_SCHEMA
from transforms.sinks import join, write_json_atomic

log = logging.getLogger("yuliao.store")


class StoreVersionError(ValueError):
    """A store written by another store schema version: refused, never read or overwritten silently."""


# ---------------------------------------------------------------- what annotate depends on
# Signal-shaping parameters of the quality rules (everything else in those sections is a threshold, applied in
# select). Names are relative to a ZhQualityConfig / SpaceQualityConfig.
_ZH_SIGNAL_KEYS = ("stop_words", "char_ngram", "word_max_chars")
_SPACE_SIGNAL_KEYS = {"gopher": ("stop_words",),
                      "c4": ("max_word_length", "remove_citations", "filter_no_terminal_punct", "min_words_per_line",
                             "filter_javascript", "filter_policy"),
                      "fineweb": ("short_line_length",)}
_NEAR_SIGNATURE_KEYS = ("num_perm", "seed", "word_ngram", "char_ngram", "cjk_langs", "cjk_min_han_share",
                        "cjk_tw_phrases")


def _zh_signal_settings(c: Mapping) -> dict:
    return {**{k: c[k] for k in _ZH_SIGNAL_KEYS}, "top_n": sorted(c["top_n_grams"]), "dup_n": sorted(c["dup_n_grams"])}


def _space_signal_settings(c: Mapping) -> dict:
    out = {f"{sec}.{k}": c[sec][k] for sec, keys in _SPACE_SIGNAL_KEYS.items() for k in keys}
    out["top_n"] = sorted(c["repetition"]["top_n_grams"])
    out["dup_n"] = sorted(c["repetition"]["dup_n_grams"])
    return out


def _model_settings(m: Mapping) -> dict:
    """The quality model keys that change the stored score (thresholds are select's), with each model file's
    size and modification time, so a model replaced at the same path is not mistaken for the old one."""
    out: dict = {"enabled": m["enabled"], "models": {}, "order_models": {}}
    for key, lang, path in [("models", *kv) for kv in sorted(m["models"].items())] + [
            ("order_models", *kv) for kv in sorted(m.get("order_models", {}).items())]:
        ident = None
        if path is None:  # the shipped file: its size, so a package with retrained models re-annotates
            from transforms.quality.model import shipped_model_path
            from transforms.quality.order import shipped_order_path

            try:
                shipped = shipped_model_path(lang) if key == "models" else shipped_order_path(lang)
                ident = [os.path.getsize(shipped)]
            except FileNotFoundError:  # no shipped file for this language: fails at load, with its own message
                ident = None
        else:
            try:
                meta = FileSystems.match([path])[0].metadata_list[0]
                ident = [meta.size_in_bytes, meta.last_updated_in_seconds]
            except Exception:  # noqa: BLE001 - a missing model fails when the stage loads it, with its own message
                ident = None
        out[key][lang] = [path, ident]
    return out


def annotate_settings(recipe, sampler=None) -> dict:
    """The recipe keys whose values change what annotate stores (JSON-able, canonical).

    Sources, extraction, normalisation and language ID whole; of quality, only what shapes the signals
    (languages' rule groups, stop-word lists, n-gram sizes, C4 line handling, the bad-word lists matched); of
    near dedup, only what shapes the signature. Quality thresholds, bad-word pruning, dedup, PII, tokenizer,
    balance and sinks are applied by ``select`` and never invalidate the store."""
    r = recipe.model_dump(mode="json")
    q = r["quality"]
    return {
        "store_version": STORE_VERSION,
        "sources": r["sources"],
        "extract": r["extract"],
        "normalize": r["normalize"],
        "langid": r["langid"],
        "quality": {
            "zh_languages": q["zh_languages"],
            "unrated_languages": q["unrated_languages"],
            "zh": _zh_signal_settings(q["zh"]),
            "zh_by_lang": {k: _zh_signal_settings(v) for k, v in sorted(q["zh_by_lang"].items())},
            "space": _space_signal_settings(q["space"]),
            "space_by_lang": {k: _space_signal_settings(v) for k, v in sorted(q["space_by_lang"].items())},
            "model": _model_settings(q["model"]),
            # which bad words annotate looks for (their pruning and thresholds are select's)
            "badwords": {k: q["badwords"][k] for k in ("enabled", "lists", "substring_languages")},
        },
        "minhash": {k: r["dedup"]["near"][k] for k in _NEAR_SIGNATURE_KEYS},
        # a sampled store (--sample/--limit) must never pass for a full one
        **({"sample": sampler.settings()} if sampler is not None and sampler.active else {}),
    }


def settings_hash(settings: Mapping) -> str:
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


# ---------------------------------------------------------------- paths
class InputIdentity(NamedTuple):
    """What makes two inputs the same for the cache: name relative to the input root, size, modification time."""

    name: str
    size: int
    mtime: float


def input_identity(path: str, name: str) -> InputIdentity:
    meta = FileSystems.match([path])[0].metadata_list[0]
    return InputIdentity(name, meta.size_in_bytes, round(float(meta.last_updated_in_seconds or 0.0), 3))


def input_key(ident: InputIdentity) -> str:
    h = hashlib.blake2b(f"{ident.name}\x1f{ident.size}\x1f{ident.mtime}".encode("utf-8", "surrogatepass"),
                        digest_size=8).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ident.name.rsplit("/", 1)[-1])[:48]
    return f"{stem}-{h}"


def entry_dir(cache: str, shash: str, ident: InputIdentity) -> str:
    return join(cache, shash, input_key(ident))


def split_paths(entry: str, index: int) -> dict[str, str]:
    stem = join(entry, f"split-{index:05d}")
    return {"docs": f"{stem}.docs.parquet", "rejects": f"{stem}.rejects.parquet", "done": f"{stem}.done.json"}


# ---------------------------------------------------------------- writing
class SplitWriter:
    """Streams one split's documents and rejects to temporary Parquet files; ``commit`` renames them into place
    and writes the completion marker last. Holds at most ``row_group_rows`` rows (and about ``max_buffer_bytes``)
    of each in memory."""

    max_buffer_bytes = 32 << 20

    def __init__(self, entry: str, index: int, compression: str = "zstd", row_group_rows: int = 2000):
        self.paths = split_paths(entry, index)
        self.compression = None if compression == "none" else compression
        self.row_group_rows = row_group_rows
        tag = uuid.uuid4().hex
        self._tmp = {k: f"{self.paths[k]}.tmp-{tag}" for k in ("docs", "rejects")}
        self._rows: dict[str, list[dict]] = {"docs": [], "rejects": []}
        self._bytes = {"docs": 0, "rejects": 0}
        self._count = {"docs": 0, "rejects": 0}
        self._files: dict[str, Any] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}
        if "://" not in entry:
            import os

            os.makedirs(entry, exist_ok=True)

    def _schema(self, kind: str) -> pa.Schema:
        return ANNOTATION_SCHEMA if kind == "docs" else REJECT_ARROW_SCHEMA

    def _flush(self, kind: str) -> None:
        rows = self._rows[kind]
        if not rows:
            return
        if kind not in self._writers:
            self._files[kind] = FileSystems.create(self._tmp[kind], compression_type="uncompressed")
            self._writers[kind] = pq.ParquetWriter(self._files[kind], self._schema(kind), compression=self.compression,
                                                   use_dictionary=["source", "lang", "script", "stage", "reason"])
        self._writers[kind].write_table(pa.Table.from_pylist(rows, schema=self._schema(kind)))
        self._rows[kind] = []
        self._bytes[kind] = 0

    def add(self, kind: str, row: dict) -> None:
        self._rows[kind].append(row)
        self._count[kind] += 1
        # rows also flush by size: a row of a long document (text plus token ids as Python ints, ~36 bytes each)
        # can weigh megabytes, so ``row_group_rows`` alone would not bound the buffer
        self._bytes[kind] += len(row.get("text") or "") + 36 * len(row.get("token_ids") or ())
        if len(self._rows[kind]) >= self.row_group_rows or self._bytes[kind] >= self.max_buffer_bytes:
            self._flush(kind)

    def commit(self, marker: dict) -> dict:
        """Close, rename into place, then write the marker (with row counts and sizes) last."""
        files = {}
        for kind in ("docs", "rejects"):
            self._flush(kind)
            if kind not in self._writers:  # an empty file still has the schema: select reads it like any other
                self._files[kind] = FileSystems.create(self._tmp[kind], compression_type="uncompressed")
                self._writers[kind] = pq.ParquetWriter(self._files[kind], self._schema(kind),
                                                       compression=self.compression)
            self._writers[kind].close()
            self._files[kind].close()
            final = self.paths[kind]
            if FileSystems.exists(final):
                FileSystems.delete([final])
            FileSystems.rename([self._tmp[kind]], [final])
            size = FileSystems.match([final])[0].metadata_list[0].size_in_bytes
            files[kind] = {"file": final.rsplit("/", 1)[-1], "rows": self._count[kind], "bytes": size}
        marker = {**marker, "store_version": STORE_VERSION, "files": files}
        write_json_atomic(self.paths["done"], marker)
        return marker

    def abort(self) -> None:
        for kind, w in self._writers.items():
            try:
                w.close()
                self._files[kind].close()
            except Exception:  # noqa: BLE001 - best effort: the temp name never counts as complete
                pass
        existing = [t for t in self._tmp.values() if FileSystems.exists(t)]
        if existing:
            FileSystems.delete(existing)


# ---------------------------------------------------------------- reading and validation
def read_rows(entry: str, marker: Mapping, kind: str, batch_rows: int = 1000) -> Iterable[dict]:
    """The rows of one split's ``docs`` or ``rejects`` file, ``batch_rows`` at a time (bounded memory whatever the
    split's size). Select reads each split where it was annotated, so no extra shuffle is needed between them."""
    info = marker["files"][kind]
    if not info["rows"]:
        return
    with FileSystems.open(join(entry, info["file"]), compression_type="uncompressed") as f:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_rows):
            names = batch.schema.names
            id_columns = [name for name in ("token_ids", "pii_token_ids") if name in names]
            if not id_columns:
                yield from batch.to_pylist()
                continue
            arrays = [uint32_arrays(batch.column(name)) for name in id_columns]
            rest = batch.drop_columns(id_columns).to_pylist()
            for k, row in enumerate(rest):
                for name, col in zip(id_columns, arrays):
                    row[name] = col[k]
                yield {name: row[name] for name in names}


_U32 = "I" if array("I").itemsize == 4 else "L"


def uint32_arrays(col: pa.ListArray) -> list:
    """A ``list<uint32>`` column as ``array.array`` per row (None for nulls). Token ids stay in that form through
    select: every shuffle pickles each document, and an array pickles as one bytes copy where a list of a
    thousand Python ints costs ~20x more to encode and decode (bench: re-select CPU); ``to_arrow_row``
    writes either form identically."""
    if col.values.null_count or col.values.type != pa.uint32():  # never written by annotate: Arrow's own lists
        return col.to_pylist()
    # the buffers, not ``to_numpy``: pyarrow's ``to_numpy`` imports pandas (~80 MB) when it is installed
    offsets = col.offsets.to_pylist()
    ids = col.values
    values = memoryview(ids.buffers()[1])[ids.offset * 4:(ids.offset + len(ids)) * 4]
    nulls = col.is_null().to_pylist() if col.null_count else [False] * len(col)
    out: list[Optional[array]] = []
    for k in range(len(col)):
        if nulls[k]:
            out.append(None)
        else:
            a = array(_U32)
            a.frombytes(values[offsets[k] * 4:offsets[k + 1] * 4])
            out.append(a)
    return out


def read_marker(path: str) -> Optional[dict]:
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            return json.loads(f.read().decode("utf-8"))
    except Exception:  # noqa: BLE001 - missing or unreadable marker: the split is not complete
        return None


def check_version(marker: Mapping, where: str) -> None:
    found = marker.get("store_version")
    if found != STORE_VERSION:
        raise StoreVersionError(
            f"annotation store {where} has store schema version {found}; this Yuliao reads version {STORE_VERSION}. "
            f"Use another --cache folder or delete that one (it is recomputed).")


def valid_split(entry: str, index: int, shash: str) -> Optional[dict]:
    """The marker of a complete, intact split, or None (missing, partial, truncated or corrupt: recompute).
    Raises ``StoreVersionError`` for a split written by another store version."""
    paths = split_paths(entry, index)
    marker = read_marker(paths["done"])
    if marker is None:
        return None
    check_version(marker, paths["done"])
    if marker.get("settings_hash") != shash:
        log.warning("annotation store entry %s records other settings; recomputing it", paths["done"])
        return None
    for kind in ("docs", "rejects"):
        want = marker["files"][kind]
        try:
            meta = FileSystems.match([paths[kind]])[0].metadata_list
            if not meta or meta[0].size_in_bytes != want["bytes"]:
                raise ValueError("size differs")
            with FileSystems.open(paths[kind], compression_type="uncompressed") as f:
                rows = pq.ParquetFile(f).metadata.num_rows
            if rows != want["rows"]:
                raise ValueError("row count differs")
        except Exception as exc:  # noqa: BLE001 - any damage means: recompute this split
            log.warning("annotation store file %s is damaged (%s); recomputing its split", paths[kind],
                        type(exc).__name__ if not isinstance(exc, ValueError) else exc)
            return None
    return marker


class Entry(NamedTuple):
    """The complete annotation of one input: its splits' markers, in split order."""

    ident: InputIdentity
    directory: str
    markers: tuple[dict, ...]

    def files(self, kind: str) -> list[str]:
        return [join(self.directory, m["files"][kind]["file"]) for m in self.markers]


def complete_entry(cache: str, shash: str, ident: InputIdentity) -> Optional[Entry]:
    """The entry of an input if every one of its splits is complete and intact, else None."""
    directory = entry_dir(cache, shash, ident)
    first = valid_split(directory, 0, shash)
    if first is None:
        return None
    markers = [first]
    for i in range(1, int(first["n_splits"])):
        m = valid_split(directory, i, shash)
        if m is None:
            return None
        markers.append(m)
    return Entry(ident, directory, tuple(markers))


def write_settings(cache: str, shash: str, settings: Mapping) -> None:
    path = join(cache, shash, "settings.json")
    if "://" not in path:
        import os

        os.makedirs(join(cache, shash), exist_ok=True)
    if not FileSystems.exists(path):
        write_json_atomic(path, settings)


def merged_counts(entries: Iterable[Entry]) -> list[tuple[str, int]]:
    """Every split's stage counters, as (stats key, n) pairs for ``stats.json``."""
    from transforms.contract import stats_key

    out: list[tuple[str, int]] = []
    for e in entries:
        for m in e.markers:
            for stage, counters in sorted(m["counts"].items()):
                out.extend((stats_key(stage, k), int(v)) for k, v in sorted(counters.items()))
    return out
