"""PII scrubbing for Chinese and English text: detect, validate, replace with typed placeholders.

Types: ``EMAIL``, ``IP`` (public IPv4/IPv6; private ranges optional), ``PHONE`` (mainland mobile and landline,
Taiwan, North American, and any ``+``-prefixed international number via ``phonenumbers``), ``ID_NUMBER``
(mainland resident ID and the residence permit of Hong Kong/Macau/Taiwan residents, region 81/82/83: 18-digit
MOD 11-2 + birth date; 15-digit legacy + date), ``BANK_CARD`` (Luhn + issuer
prefix), ``SSN`` (US), and ``PASSPORT`` / ``QQ`` / ``WECHAT`` only right after a context keyword.

Design (see research/chinese.md §4): loose compiled candidate patterns with ASCII look-arounds (never ``\\b``,
which fails next to Han characters), then validators; overlapping candidates are resolved by type priority
(a checksum-validated ID beats a phone-shaped substring); replacement is done in one left-to-right pass so text
outside the matches is unchanged byte for byte. Cheap pre-filters skip whole detector families when the text
cannot contain them (no ``@``, no 3-digit run, no keyword), which is most of a typical document.

Nothing here logs or raises with document text; counts by type go to ``Document.pii`` and to stats as
``replaced/<TYPE>``.
"""
from __future__ import annotations

import bisect
import json
import threading
from typing import Iterable, Iterator, Mapping, NamedTuple, Optional, Sequence

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from schemas.document import PII_TYPES, Document  # PII_TYPES: also the priority order when candidates of two
from transforms import pii_patterns as P          # types overlap (earlier wins)
from transforms.contract import Count, Rejection

DEFAULT_PLACEHOLDERS: dict[str, str] = {t: f"<{t}>" for t in PII_TYPES}


class Span(NamedTuple):
    start: int
    end: int
    type: str


class PiiScrubber:
    """Finds and replaces PII in one string. Stateless after construction; safe to share across threads."""

    def __init__(self, types: Sequence[str] = PII_TYPES, placeholders: Optional[Mapping[str, str]] = None,
                 keep_private_ips: bool = True, nanp: bool = True, international: bool = True):
        unknown = set(types) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"unknown PII types: {sorted(unknown)}")
        self.types = frozenset(types)
        self.placeholders = {**DEFAULT_PLACEHOLDERS, **dict(placeholders or {})}
        self.keep_private_ips = keep_private_ips
        self.nanp = nanp
        self.international = international

    @classmethod
    def from_config(cls, cfg) -> "PiiScrubber":
        return cls(cfg.types, cfg.placeholders, cfg.keep_private_ips, cfg.nanp_phones, cfg.international_phones)

    # ------------------------------------------------------------ detection
    def find(self, text: str) -> list[Span]:
        """Validated, non-overlapping PII spans sorted by start.

        The digit-run detectors (IDs, cards, national phones, SSN) and the IPv4 one scan only windows around
        the digit shapes every match of theirs contains (``pii_patterns.windows``), and the keyword and IPv6
        detectors are tried only where a match can start (``pii_patterns.match_at``): a typical document has few
        such places, so most of its text is never scanned by them (a re-select spent most of its PII time there)."""
        return self._find(text, exhaustive=False)

    def find_exhaustive(self, text: str) -> list[Span]:
        """``find`` with every detector scanning the whole text: the reference ``find`` must equal (tests)."""
        return self._find(text, exhaustive=True)

    def _find(self, text: str, exhaustive: bool) -> list[Span]:
        if not text:
            return []
        starts: list[int] = []
        accepted: list[Span] = []

        def add(start: int, end: int, kind: str) -> None:
            i = bisect.bisect_right(starts, start)
            if i and accepted[i - 1].end > start:
                return
            if i < len(accepted) and accepted[i].start < end:
                return
            starts.insert(i, start)
            accepted.insert(i, Span(start, end, kind))

        t = self.types
        whole = [(0, len(text))]

        def scan(pattern, ranges: list[tuple[int, int]]) -> Iterator:
            for start, end in ranges:
                yield from pattern.finditer(text, start, end)

        has_digits = P.HAS_DIGIT_RUN.search(text) is not None
        numeric = (whole if exhaustive else P.windows(P.NUMERIC_CHAIN, text)) if has_digits else []
        if "EMAIL" in t and "@" in text:
            for m in P.EMAIL_RE.finditer(text):
                if P.email_ok(m.group()):
                    add(m.start(), m.end(), "EMAIL")
        if "IP" in t:
            if P.HAS_IPV4ISH.search(text):
                for m in scan(P.IPV4_RE, whole if exhaustive else P.windows(P.HAS_IPV4ISH, text)):
                    if P.ip_ok(m.group(), self.keep_private_ips) and not P.version_before(text, m.start()):
                        add(m.start(), m.end(), "IP")
            if ":" in text and P.HAS_IPV6ISH.search(text):
                for m in P.IPV6_RE.finditer(text) if exhaustive else P.match_at(P.IPV6_RE, text, P.ipv6_starts(text)):
                    s = m.group()
                    if s.count(":") >= 2 and P.ip_ok(s, self.keep_private_ips):
                        add(m.start(), m.end(), "IP")
        if has_digits:
            if "ID_NUMBER" in t:
                for m in scan(P.ID18_RE, numeric):
                    if P.cn_id18_ok(m.group()):
                        add(m.start(), m.end(), "ID_NUMBER")
                for m in scan(P.ID15_RE, numeric):
                    # a 15-digit Amex number (34/37…, Luhn) is a card unless an ID keyword precedes it
                    if P.cn_id15_ok(m.group()) and (not P.card_ok(m.group()) or P.id_context_before(text, m.start())):
                        add(m.start(), m.end(), "ID_NUMBER")
            if "BANK_CARD" in t:
                for m in scan(P.CARD_RE, numeric):
                    if P.card_ok(m.group()):
                        add(m.start(), m.end(), "BANK_CARD")
        keyword_at = (([0] if P.has_context(text) else []) if exhaustive else P.context_starts(text)) \
            if t & {"PASSPORT", "QQ", "WECHAT"} else []
        if keyword_at:
            # an explicit keyword ("护照号码：…", "QQ：…") is stronger evidence than a phone-shaped digit run
            def keyed(pattern) -> Iterator:
                return pattern.finditer(text) if exhaustive else P.match_at(pattern, text, keyword_at)

            if "PASSPORT" in t and has_digits:
                for m in keyed(P.PASSPORT_RE):
                    add(*m.span("v"), "PASSPORT")
            if "QQ" in t and has_digits:
                for m in keyed(P.QQ_RE):
                    add(*m.span("v"), "QQ")
            if "WECHAT" in t:
                for m in keyed(P.WECHAT_RE):
                    if P.wechat_ok(m.group("v")):
                        add(*m.span("v"), "WECHAT")
        if "PHONE" in t:
            if self.international and "+" in text:  # before national patterns: "+39 312 345 6371" is not NANP
                for m in P.PLUS_DIGIT_RE.finditer(text):
                    for start, end in _international_at(text, m.start()):
                        add(start, end, "PHONE")
            if has_digits:
                for start, end in self._phones(text, numeric, scan):
                    add(start, end, "PHONE")
        if "SSN" in t and has_digits:
            for m in scan(P.SSN_RE, numeric):
                add(m.start(), m.end(), "SSN")
        return accepted

    def _phones(self, text: str, ranges: list[tuple[int, int]], scan) -> Iterator[tuple[int, int]]:
        for m in scan(P.CN_MOBILE_RE, ranges):
            d = P.digits_of(m.group())[-11:]
            if _valid(d, "CN"):
                yield m.span()
        for m in scan(P.TRUNK_RE, ranges):
            if _trunk_ok(m.group(), m.group("cc")):
                yield m.span()
        if self.nanp:
            for m in scan(P.NANP_RE, ranges):
                bare = m.group("bare")
                if bare is None or (_valid(bare, "US") and P.phone_context_before(text, m.start())):
                    yield m.span()
            for m in scan(P.CONTACT_NANP_RE, ranges):
                bare = m.group("bare")
                if bare is None or _valid(bare, "US"):
                    yield m.span("v")

    # ------------------------------------------------------------ replacement
    def scrub(self, text: str) -> tuple[str, dict[str, int]]:
        """Text with every span replaced by its placeholder, and counts by type (only non-zero types)."""
        return self.replace(text, self.find(text))

    def replace(self, text: str, spans: Sequence[Span]) -> tuple[str, dict[str, int]]:
        """``text`` with ``spans`` (``find``'s, possibly found earlier by annotate) replaced by placeholders."""
        if not spans:
            return text, {}
        out: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        for s in spans:
            out.append(text[pos:s.start])
            out.append(self.placeholders[s.type])
            counts[s.type] = counts.get(s.type, 0) + 1
            pos = s.end
        out.append(text[pos:])
        return "".join(out), counts


def _valid(national_digits: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(national_digits, region))
    except phonenumbers.NumberParseException:
        return False


def _trunk_ok(raw: str, cc: Optional[str]) -> bool:
    """Numbers with a trunk ``0``: written with grouping (separators or parentheses) the shape is enough
    (0 + 1-3 digit area code + 6-8 digit subscriber starting 1-9); a bare digit run must be a number the
    mainland or Taiwan numbering plan assigns, since bare runs are often codes."""
    main = raw[len(cc):] if cc else raw
    for ext in ("转", "轉", "ext", "x"):
        if ext in main:
            main = main.split(ext, 1)[0]
    digits = P.digits_of(main)
    if not digits.startswith("0"):
        digits = "0" + digits
    if not 9 <= len(digits) <= 12:
        return False
    grouped = any(c in main for c in " -()\u00a0")
    return grouped or _valid(digits, "CN") or _valid(digits, "TW")


def _international_at(text: str, start: int) -> Iterator[tuple[int, int]]:
    """``phonenumbers`` on a short window at one ``+`` (scanning whole documents with the matcher is slow);
    only numbers the plan of their country calls valid."""
    if start and (text[start - 1].isascii() and text[start - 1].isalnum() or text[start - 1] in "(（"):
        return  # "(+86)138…" is left to the mainland pattern, which takes the parentheses too
    window = text[start:start + 40]
    for match in PhoneNumberMatcher(window, None, leniency=Leniency.VALID):
        if match.start != 0:
            break
        end = start + match.end
        if end < len(text) and text[end].isascii() and text[end].isalnum():
            break
        yield start, end
        break


# ---------------------------------------------------------------- spans found by annotate
DETECTOR_VERSION = 1
"""Bump when a change to the detectors or validators can change ``find``'s spans: spans stored by an earlier
version are then ignored (their fingerprint differs) and select scans the text again."""


def pii_fingerprint(cfg) -> str:
    """What stored spans (and the token ids of the text they scrub) depend on: every ``pii`` setting but the
    batch size, and ``DETECTOR_VERSION``. Annotate stores spans with it; select uses them only when its own
    recipe gives the same fingerprint, so changing a PII setting never needs a re-annotation."""
    import hashlib

    settings = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in ("batch_size", "enabled")}
    key = json.dumps([DETECTOR_VERSION, settings], sort_keys=True)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def spans_to_flat(spans: Sequence[Span]) -> list[int]:
    """Spans as ``[start, end, type index, …]`` (index into ``PII_TYPES``): compact on a ``Document``."""
    return [x for s in spans for x in (s.start, s.end, PII_TYPES.index(s.type))]


def spans_from_flat(flat: Sequence[int]) -> list[Span]:
    return [Span(flat[i], flat[i + 1], PII_TYPES[flat[i + 2]]) for i in range(0, len(flat), 3)]


# ---------------------------------------------------------------- config-keyed helpers
_CACHE: dict[str, PiiScrubber] = {}
_LOCK = threading.Lock()


def scrubber_for(cfg) -> PiiScrubber:
    """One scrubber per distinct config per process (configs are frozen pydantic models)."""
    key = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    s = _CACHE.get(key)
    if s is None:
        with _LOCK:
            s = _CACHE.setdefault(key, PiiScrubber.from_config(cfg))
    return s


def scrub_text(text: Optional[str], cfg) -> Optional[str]:
    """Scrub one string with the recipe's ``pii`` section (used for the text kept in rejects)."""
    if not text:
        return text
    return scrubber_for(cfg).scrub(text)[0]


# ---------------------------------------------------------------- stage
class PiiStage:
    """Stage ``pii``: replace PII in ``text`` (and ``title``); record counts in ``pii``. Never rejects."""

    name = "pii"

    def __init__(self, cfg):
        self.cfg = cfg
        self.batch_size = cfg.batch_size
        self._scrubber: Optional[PiiScrubber] = None

    def setup(self) -> None:
        if self._scrubber is None:
            self._scrubber = PiiScrubber.from_config(self.cfg)

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection | Count]:
        self.setup()
        scrub = self._scrubber.scrub
        for doc in docs:
            if doc.pii_spans is not None:  # found by annotate under these settings, for this exact text
                text, counts = self._scrubber.replace(doc.text, spans_from_flat(doc.pii_spans))
            else:
                text, counts = scrub(doc.text)
            stored = doc.pii_spans is not None or doc.pii_n_tokens is not None
            # annotate's PII fields are used up here: they never travel further
            changes: dict = {"pii_spans": None, "pii_token_ids": None, "pii_n_tokens": None} if stored else {}
            if counts:  # new text: the ids annotate stored for the scrubbed text, if any (else tokenize encodes it)
                changes.update(text=text, token_ids=doc.pii_token_ids, n_tokens=doc.pii_n_tokens)
            if doc.title:
                title, tcounts = scrub(doc.title)
                if tcounts:
                    changes["title"] = title
                    for k, v in tcounts.items():
                        counts[k] = counts.get(k, 0) + v
            if counts:
                merged = dict(doc.pii or {})
                for k, v in counts.items():
                    merged[k] = merged.get(k, 0) + v
                changes["pii"] = merged
                yield Count("docs_with_pii", 1)
                for k in sorted(counts):
                    yield Count(f"replaced/{k}", counts[k])
            yield doc._replace(**changes) if changes else doc


def scrub_reject(reject, cfg):
    """Beam-side helper: a ``Reject`` with its kept text scrubbed (no-op when there is no text)."""
    if not reject.text:
        return reject
    return reject._replace(text=scrub_text(reject.text, cfg))


def stage(pcoll, recipe):
    from transforms.stage import apply_stage

    return apply_stage(pcoll, PiiStage(recipe.pii), recipe.sink.rejects_keep_text)
