"""The annotate phase's per-split runner: read → per-document stages → the annotation store.

A split runs start to finish inside one call, in plain Python (no Beam between its stages): records flow
in batches from the reader through the stage objects of ``pipelines/build.py``'s ``annotate_stages`` and are
streamed into the split's store files, which are committed (renamed, marker last) only when the whole
split is done. So a killed build loses at most the splits in progress, and documents never pay a Beam
coder round trip between extraction, normalisation, language ID and signals.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Iterator, Optional, Sequence

from schemas.document import Document, annotation_row
from schemas.outputs import Reject, reject_to_row
from transforms.contract import Count, Rejection, Stage, run_batch
from transforms.pii import spans_from_flat, spans_to_flat
from transforms.progress import Ticker
from transforms.stage import to_reject
from transforms.sources.raw import RawPage
from transforms.sources.read import Split, read_unit
from transforms.store import SplitWriter

# records gathered from the reader before they go through the stages together: enough for batched LID and
# tokenizer calls, few enough that a batch of raw pages and their documents stays small in memory
READ_BATCH = 64


class Signals:
    """Stage ``signals``: quality signals, the near-dedup MinHash signature, PII spans and token ids, stored for
    select.

    Drops nothing: thresholds are applied by select's ``quality`` stage, so changing one never re-annotates.
    Token ids are stored with the tokenizer's fingerprint; select reuses them only for the same tokenizer
    settings and for text no select stage changed. PII spans (and the token ids of the text they scrub) are
    stored with the PII settings' fingerprint: select's ``pii`` stage replaces them without scanning, and its
    ``tokenize`` stage finds ids for the scrubbed text too, so a re-select never loads the tokenizer."""

    name = "signals"

    def __init__(self, quality, signer, tokenize, batch_size: int, pii=None, pii_settings: Optional[str] = None):
        self.quality, self.signer, self.tokenize, self.batch_size = quality, signer, tokenize, batch_size
        self.tokenizer = tokenize.fingerprint() if tokenize is not None else None
        self.pii, self.pii_settings = pii, pii_settings  # a PiiScrubber and pii_fingerprint(recipe.pii), or None

    def setup(self) -> None:
        self.quality.setup()

    def apply(self, docs: Sequence[Document]) -> Iterator[Document | Rejection | Count]:
        out = []
        for doc in docs:
            sig = self.quality.text_signals(doc, all_words=True)
            sig.update(self.quality.badword_terms(doc))
            minhash, _ = self.signer.sign(doc.text, doc.lang)
            out.append(doc._replace(signals=sig,
                                    minhash=None if minhash is None else minhash.astype("<u4").tobytes(),
                                    pii_spans=None if self.pii is None else spans_to_flat(self.pii.find(doc.text))))
        if self.tokenize is None:
            yield from out
            return
        out = self.tokenize.encode_all(out)
        with_pii = [k for k, d in enumerate(out) if d.pii_spans]
        scrubbed = [self.pii.replace(out[k].text, spans_from_flat(out[k].pii_spans))[0] for k in with_pii]
        for k, (n, ids) in zip(with_pii, self.tokenize.encode_texts(scrubbed)):
            out[k] = out[k]._replace(pii_n_tokens=n, pii_token_ids=ids)
        yield from out


class SplitAnnotator:
    """Runs ``extract`` (raw web pages only) and then ``stages`` (every document) over one split."""

    def __init__(self, recipe, extract: Stage, stages: Sequence[Stage]):
        self.recipe, self.extract, self.stages = recipe, extract, list(stages)
        self.keep_text = recipe.sink.rejects_keep_text
        self._ready = False

    def setup(self) -> None:
        if not self._ready:
            self.extract.setup()
            for st in self.stages:
                st.setup()
            self._ready = True

    def _run(self, stage: Stage, docs: list[Document], counts: Counter, ms: Counter, writer: SplitWriter
             ) -> list[Document]:
        kept: list[Document] = []
        step = max(1, stage.batch_size)
        t0 = time.perf_counter()
        rejected = 0
        for i in range(0, len(docs), step):
            for item in run_batch(stage, docs[i:i + step], counts):
                if isinstance(item, Rejection):
                    rejected += 1
                    writer.add("rejects", reject_to_row(to_reject(stage.name, item, self.keep_text)))
                else:
                    kept.append(item)
        ms[stage.name] += time.perf_counter() - t0
        counts["#chars_out"] += sum(len(d.text) for d in kept)
        self._tick(stage.name, len(docs), len(kept), rejected)
        return kept

    def _tick(self, name: str, n_in: int, n_out: int, n_rej: int) -> None:
        t = self._tickers.get(name)
        if t is None:
            t = self._tickers[name] = Ticker(name)
        t.add(n_in, n_out, n_rej)

    def _batch(self, records: list, counts: dict[str, Counter], ms: Counter, writer: SplitWriter) -> int:
        raw = [r for r in records if isinstance(r, RawPage)]
        docs = [r for r in records if isinstance(r, Document)]
        if raw:
            docs = self._run(self.extract, raw, counts[self.extract.name], ms, writer) + docs
        for st in self.stages:
            if not docs:
                break
            docs = self._run(st, docs, counts[st.name], ms, writer)
        last = self.stages[-1] if self.stages else None
        tokenizer, pii_settings = getattr(last, "tokenizer", None), getattr(last, "pii_settings", None)
        for d in docs:
            writer.add("docs", annotation_row(d, tokenizer, pii_settings))
        return len(docs)

    def annotate(self, split: Split, n_splits: int, writer: SplitWriter, marker: dict, sampler=None) -> dict:
        """Annotate one split into ``writer`` and commit it; returns the marker written. With an active
        ``sampler`` (``--sample``/``--limit``), records outside the sample are counted (stage ``sample``) and
        never extracted, and at most ``limit`` sampled records of the split are annotated."""
        self.setup()
        self._tickers: dict[str, Ticker] = {}
        counts: dict[str, Counter] = defaultdict(Counter)
        ms: Counter = Counter()
        source_stage = f"source.{split.kind}"
        batch: list = []
        n_docs = 0
        t0 = time.perf_counter()
        sample = counts["sample"] if sampler is not None and sampler.active else None
        for rec in read_unit(split, self.recipe, counts[source_stage]):
            if isinstance(rec, Reject):
                writer.add("rejects", reject_to_row(rec))
                continue
            if sample is not None:
                sample["in"] += 1
                if not sampler.keep(rec.id):
                    sample["rejected/not_sampled"] += 1
                    continue
                if sampler.limit is not None and sample["out"] >= sampler.limit:
                    sample["rejected/over_limit"] += 1
                    continue
                sample["out"] += 1
            batch.append(rec)
            if len(batch) >= READ_BATCH:
                n_docs += self._batch(batch, counts, ms, writer)
                batch = []
        if batch:
            n_docs += self._batch(batch, counts, ms, writer)
        src = counts[source_stage]
        self._tick(source_stage, src["in"], src["out"], src["in"] - src["out"])
        for t in self._tickers.values():
            t.flush()
        for name, seconds in ms.items():
            counts[name]["@ms"] += int(seconds * 1000)
        marker = {**marker, "n_splits": n_splits, "documents": n_docs,
                  "seconds": round(time.perf_counter() - t0, 3),
                  "counts": {stage: dict(sorted(c.items())) for stage, c in sorted(counts.items()) if c}}
        return writer.commit(marker)


def annotate_split(annotator: SplitAnnotator, split: Split, n_splits: int, entry: str, base_marker: dict,
                   sink_cfg, sampler=None) -> Optional[dict]:
    """Annotate and commit one split; a failure leaves no file that counts as complete."""
    writer = SplitWriter(entry, split.index, sink_cfg.compression, min(sink_cfg.row_group_rows, 2000))
    try:
        return annotator.annotate(split, n_splits, writer, {**base_marker,
                                                            "split": {"index": split.index, "start": split.start,
                                                                      "stop": split.stop}}, sampler)
    except BaseException:
        writer.abort()
        raise
