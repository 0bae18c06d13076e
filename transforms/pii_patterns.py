"""Compiled PII patterns and their validators (Beam-free; used by ``transforms.pii``).

Why not ``\\b``: Python's ``\\b`` treats Han characters as word characters, so ``电话13812345678`` has no
boundary before the ``1`` and ``\\b``-anchored patterns miss PII glued to Chinese text. Every pattern here
is anchored with ASCII look-arounds instead: a number may not touch another ASCII letter/digit, and may not
continue a decimal/dotted number (``3.14159…``) or a longer dash-separated code.

Each candidate regex is deliberately loose; a validator (checksum, date, numbering plan, IP range) decides.
Sources for the formats and checksums: research/chinese.md §4.1.
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from typing import Iterator, Optional

# ---------------------------------------------------------------- boundaries
# left: not after an ASCII alnum/underscore, not after "<digit>." / "<digit>-" / "<digit>/" (decimals, codes,
# dates), not after a currency sign (prices).
NUM_L = r"(?<![0-9A-Za-z_])(?<![0-9][.\-/:])(?<![¥$￥€£])"
# right: not before an ASCII alnum/underscore, not before ".<digit>" / "-<digit>" / "/<digit>" / ":<digit>".
NUM_R = r"(?![0-9A-Za-z_])(?![.\-/:][0-9])"
SEP = r"[ \-\u00a0]"
# NUM_L moved behind a leading one-char class (X(?<!Y.) == (?<!Y)X): a pattern that starts with a character
# class lets `re` skip ahead to candidate characters instead of trying the look-behinds at every position.
NUM_L_AFTER1 = r"(?<![0-9A-Za-z_].)(?<![0-9][.\-/:].)(?<![¥$￥€£].)"  # one separator inside a grouped number (space, hyphen, no-break space)

# ---------------------------------------------------------------- e-mail
# local part: RFC-ish dot-atom subset; domain labels; TLD letters only. No leading \b (Han-adjacent works).
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-])(?!\.[A-Za-z0-9])"
)
# "icon@2x.png" and friends: asset names, not addresses
FILE_TLDS = frozenset("png jpg jpeg gif svg webp bmp ico tif tiff avif css js mp4 webm pdf".split())


def email_ok(s: str) -> bool:
    local, _, domain = s.rpartition("@")
    if ".." in local or local.endswith(".") or ".." in domain:
        return False
    return domain.rsplit(".", 1)[-1].lower() not in FILE_TLDS


# ---------------------------------------------------------------- IP addresses
_IP_L = r"(?:(?<![0-9A-Za-z_.:])|(?<=[Ii][Pp])|(?<=[Ii][Pp][Vv][46]))"  # "IP1.2.3.4" glued is still an IP
IPV4_RE = re.compile(
    _IP_L + r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![0-9A-Za-z_])(?!\.[0-9])"
)
# loose IPv6 candidate (2..8 hex groups, optional ::, optional IPv4 tail), validated by ``ipaddress``
IPV6_RE = re.compile(
    _IP_L + r"(?:[0-9A-Fa-f]{1,4}:|:(?=:))(?:[0-9A-Fa-f]{0,4}:){1,7}"
    r"(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![0-9A-Za-z_:])(?![.][0-9A-Za-z])"
)
# "version 1.2.3.4", "v1.2.3.4", "版本 2.0.0.1": a dotted quad right after these is a version, not an IP
VERSION_CONTEXT_RE = re.compile(
    r"(?:\b(?:v|ver|version|versions|release|build|rev|revision|firmware|kernel|update)\.?|版本号?|版|固件|内核|更新)"
    r"\s*[:：]?\s*(?:is\s+|为|是)?$",
    re.IGNORECASE,
)


def ip_ok(s: str, keep_private: bool) -> bool:
    """Replace only addresses that identify a host on the public Internet (datatrove's rule), unless the
    recipe says private ranges go too. Loopback, unspecified, documentation and multicast ranges stay."""
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    if ip.is_multicast or (ip.version == 4 and ip.is_reserved):  # group addresses (ff02::1, 224.0.0.251)
        return False
    if ip.version == 4 and all(int(o) < 20 for o in s.split(".")):
        return False  # "6.2.4.1" is far more often a section/version number than a host
    if ip.is_global:
        return True
    if keep_private:
        return False
    return ip.is_private and not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_reserved
                                  or ip.is_multicast)


# ---------------------------------------------------------------- mainland resident ID (GB 11643-1999)
# province codes of the first two digits (GB/T 2260): 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82; and
# 83: residence permits for Hong Kong, Macau and Taiwan residents (港澳台居民居住证, since 2018) are numbered like
# resident IDs (same 18 digits, birth date and MOD 11-2 check digit) with region codes 810000, 820000 and 830000
_PROVINCES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]
)
ID18_RE = re.compile(r"[1-8]" + NUM_L_AFTER1 + r"\d{5}(?:[ ]?)(?:18|19|20)\d{2}[01]\d[0-3]\d(?:[ ]?)\d{3}[\dXx]" + NUM_R)
ID15_RE = re.compile(r"[1-8]" + NUM_L_AFTER1 + r"\d{5}\d{2}[01]\d[0-3]\d\d{3}" + NUM_R)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # index = weighted sum mod 11


def _date_ok(y: int, m: int, d: int, max_year: int = 2099) -> bool:
    if not (1880 <= y <= max_year):
        return False
    try:
        _dt.date(y, m, d)
    except ValueError:
        return False
    return True


def cn_id18_ok(raw: str) -> bool:
    """ISO 7064 MOD 11-2 check digit (10 → X), a real calendar birth date, a real province code.
    No region-table lookup: python-stdnum's table rejects many valid current codes (research/chinese.md §4.1)."""
    s = raw.replace(" ", "").upper()
    if len(s) != 18 or int(s[:2]) not in _PROVINCES:
        return False
    if not _date_ok(int(s[6:10]), int(s[10:12]), int(s[12:14])):
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == s[17]


def cn_id15_ok(s: str) -> bool:
    """Legacy 15-digit ID (issued until 1999): province code and a valid 19YYMMDD birth date; no check digit."""
    if len(s) != 15 or int(s[:2]) not in _PROVINCES:
        return False
    return _date_ok(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))


# ---------------------------------------------------------------- bank / credit cards
# 13-19 digits, bare or in groups (4-4-4-4[-3], 4-6-5, 4-6-4 ...), one consistent separator; not right after
# "/" (URL path ids such as ".../posts/2395361813834269").
CARD_RE = re.compile(r"\d" + NUM_L_AFTER1 + r"(?<!/.)(?:\d{12,18}|\d{3}(?:" + SEP + r"\d{3,6}){2,4})" + NUM_R)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = ord(c) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_ok(raw: str) -> bool:
    """Luhn plus a payment-card issuer prefix for the length, so that ISBN-13s, EAN-13 barcodes, timestamps and
    most order numbers cannot pass by chance (Luhn alone passes 1 in 10)."""
    seps = {c for c in raw if not c.isdigit()}
    if len(seps) > 1:
        return False
    digits = raw.replace(" ", "").replace("-", "").replace("\u00a0", "")
    n = len(digits)
    if not (13 <= n <= 19) or not luhn_ok(digits):
        return False
    if seps and min(len(g) for g in re.split(r"[ \-\u00a0]", raw)) < 3:
        return False
    return _issuer_ok(digits)


def _issuer_ok(d: str) -> bool:
    """Issuer prefixes by length (ISO/IEC 7812 IIN ranges of the card networks in use): Visa 4 (13/16/19),
    Mastercard 51-55 and 2221-2720, Amex 34/37 (15), Diners 30/36/38/39 (14/16), JCB 35 and old 1800/2131 (15),
    Discover/UnionPay/Maestro 6 (16, 19; UnionPay 62 also 17-18), mainland domestic debit 95 (19). EAN-13 barcodes (69…, 978…) fail."""
    n = len(d)
    if n == 13:
        return d[0] == "4"
    if n == 14:
        return d[:2] in ("30", "36", "38", "39")
    if n == 15:
        return d[:2] in ("34", "37") or d[:4] in ("1800", "2131")
    if n == 16:
        return (d[0] in "46" or "51" <= d[:2] <= "55" or "2221" <= d[:4] <= "2720"
                or d[:2] in ("30", "35", "36", "38", "39"))
    if n == 17:
        return d[:2] == "62"
    if n == 18:  # UnionPay only, and not shaped like a resident ID (province + 18xx/19xx/20xx birth year)
        return d[:2] == "62" and not (int(d[:2]) in _PROVINCES and d[6:8] in ("18", "19", "20"))
    return d[0] in "46" or d[:2] in ("35", "95")


# ---------------------------------------------------------------- phones
# mainland mobile: 1[3-9]x xxxx xxxx, optional +86 / 0086 / (+86), separators between the 3-4-4 groups
CN_MOBILE_RE = re.compile(
    NUM_L.replace("(?<![0-9A-Za-z_])", "(?<![0-9A-Za-z_+])")
    + r"(?:(?:\(\+?86\)|\+86|0086|\+\s86)" + SEP + r"?)?1[3-9]\d" + SEP + r"?\d{4}" + SEP + r"?\d{4}" + NUM_R
)
# numbers with a trunk "0" (mainland landlines with area code; Taiwan landlines and mobiles):
#   (010) 6552 9988 · 010-65529988 · 0755 8601 3388 · 02-2345-6789 · 0912-345-678 · 0912-345678 · 0912345678
TRUNK_RE = re.compile(
    r"(?<![0-9A-Za-z_+])(?<![0-9][.\-/: ])(?<![¥$￥€£])"
    r"(?P<cc>(?:\+86|0086|\+886|00886)" + SEP + r"?)?"
    r"(?:\(0\d{1,3}\)" + SEP + r"?|0\d{1,3}" + SEP + r"?)"
    r"\d{3,4}" + SEP + r"?\d{3,4}"
    r"(?:" + SEP + r"?(?:转|轉|ext\.?|x)\s?\d{1,5})?" + NUM_R + r"(?![ \-]\d)"  # not inside a longer digit-group run (IBAN)
)
# North American numbering plan, written the way people write it (area and exchange start 2-9):
#   (415) 555-0172 · 415-555-0172 · 415.555.0172 · +1-415-555-0172 · 001-415-555-0172 · ... x123
_NANP_BODY = (
    r"(?:(?:\+1|001|1)[\-. ]?)?"
    r"(?:\([2-9]\d{2}\)\s?[2-9]\d{2}[\-. ]?\d{4}|[2-9]\d{2}(?P<s>[\-. ])[2-9]\d{2}(?P=s)\d{4}|(?P<bare>[2-9]\d{2}[2-9]\d{6}))"
    r"(?:\s?(?:x|ext\.?|#)\s?\d{1,5})?"
    r"(?![0-9A-Za-z_])(?![.\-/:][0-9])"
)
NANP_RE = re.compile(r"(?<![0-9A-Za-z_+\-.])" + _NANP_BODY)
# bare digit runs ("4155550172") are phones only after a phone keyword: on their own they are as often codes.
# English keywords start a word ("Recall 4155550172", "context 4155550172" are not contact words).
_ZH_PHONE_WORDS = r"电话|電話|手机|手機|致电|致電|热线|熱線|联系|聯絡|聯繫|拨打|撥打|传真|傳真|号码|號碼"
PHONE_CONTEXT_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:tel|phone|call|fax|mobile|cell|contact|reach|dial|text|whatsapp)|" + _ZH_PHONE_WORDS + ")",
    re.IGNORECASE,
)
# a North American number glued to its keyword or after "." / "-" ("Tel.4155550172", "call4155550172",
# "电话-415-555-0172"), which NANP_RE's left boundary refuses (it keeps "v1.4155550172", "ab-4155550172" out)
CONTACT_NANP_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:tel|phone|call|fax|mobile|cell|dial|whatsapp)|" + _ZH_PHONE_WORDS + r")\.?[:：#.\-]?\s?"
    r"(?P<v>" + _NANP_BODY + ")",
    re.IGNORECASE,
)


def phone_context_before(text: str, start: int) -> bool:
    return bool(PHONE_CONTEXT_RE.search(text[max(0, start - 24):start]))


# any "+<digits>" international number: candidates for phonenumbers.PhoneNumberMatcher
PLUS_DIGIT_RE = re.compile(r"\+\s?\(?\d")

# ---------------------------------------------------------------- US SSN
# AAA-GG-SSSS; area not 000/666/9xx, group not 00, serial not 0000 (SSA rules); dashes or spaces, same one
SSN_RE = re.compile(
    r"(?<![0-9A-Za-z_\-./])(?!000|666|9\d\d)\d{3}(?P<s>[\- ])(?!00)\d{2}(?P=s)(?!0000)\d{4}(?![0-9A-Za-z_])(?![.\-/][0-9])"
)

# ---------------------------------------------------------------- context-gated identifiers
# filler allowed between a keyword and the value: separators and the usual words for "number/is"
_FILL = r"(?:\s|[:：#=（）()\[\]【】是为為的号號码碼]|No\.?|NO\.?|no\.?|[Nn]umber|ID|Id|id|账号|帳號|号码|號碼){0,6}?"
PASSPORT_RE = re.compile(
    r"(?:护照|護照|[Pp]assport|PASSPORT|通行证|通行證)" + _FILL
    + r"(?P<v>(?<![0-9A-Za-z])(?:[A-Z]{1,2}\d{6,9}|\d{9}|[A-Z]\d{2}[A-Z]\d{5})(?![0-9A-Za-z]))"
)
QQ_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:QQ|qq|Qq)(?![A-Za-z])|扣扣|企鹅号|企鵝號)(?:群|号码|號碼|号|號)?" + _FILL
    + r"(?P<v>(?<![0-9A-Za-z])[1-9]\d{4,10}(?![0-9A-Za-z@]))"
)
WECHAT_RE = re.compile(
    r"(?:微信|微訊|(?<![A-Za-z])(?:WeChat|Wechat|wechat|WECHAT|weixin|Weixin|vx|VX|Vx|wx|WX|Wx)(?![A-Za-z])|[Vv]信|薇信|威信)"
    r"\s?(?:号|號|账号|帳號|ID|id|Id)?\s*(?:[:：]|是|为|為)\s*"
    r"(?P<v>(?<![0-9A-Za-z_\-])(?:wxid_[A-Za-z0-9_\-]{4,30}|[A-Za-z][A-Za-z0-9_\-]{5,19})(?![0-9A-Za-z_\-@.]))"
)


def wechat_ok(s: str) -> bool:
    """A WeChat ID of letters only is usually an ordinary word ("WeChat: account"); require a digit, ``_``
    or ``-``, which almost every real ID has."""
    return s.startswith("wxid_") or any(c.isdigit() or c in "_-" for c in s)


# ---------------------------------------------------------------- pre-filters
HAS_DIGIT_RUN = re.compile(r"\d{3}")  # every numeric PII type has a run of >= 3 digits
HAS_IPV4ISH = re.compile(r"\d\.\d{1,3}\.\d")  # in every IPV4_RE match: last digit of octet 1 to first of 3
# Every match of ID18/ID15/CARD/CN_MOBILE/TRUNK/NANP/CONTACT_NANP/SSN holds a chain of >= 7 digits with at most
# two other characters between neighbours (SSN 9 digits, gaps 1; "(010) 6552…" has ") " between the area code
# and the number; ID18 17 digits, gaps 1; …). A match starts at most ~13 characters before its chain's first
# digit ("whatsapp: +1") and ends at most ~13 after its last (" ext. 12345" and a 2-character look-ahead), so
# these detectors only need to scan windows around such chains (``windows``).
NUMERIC_CHAIN = re.compile(r"\d(?:\D{0,2}\d){6,}")
WINDOW_MARGIN = 32  # characters kept on each side of a chain: more than twice the reach above


def windows(pattern: re.Pattern, text: str, margin: int = WINDOW_MARGIN) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` ranges of ``text`` around every match of ``pattern``, ``margin`` characters wider
    on each side. A detector whose every match lies inside such a range with its look-arounds, run with
    ``finditer(text, start, end)`` on each range, finds exactly what it finds on the whole text: look-behinds
    still see the characters before ``start``, and nothing it matches ends near ``end``."""
    out: list[tuple[int, int]] = []
    for m in pattern.finditer(text):
        s, e = max(0, m.start() - margin), min(len(text), m.end() + margin)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out
HAS_IPV6ISH = re.compile(r"[0-9A-Fa-f]:[0-9A-Fa-f:]")
_CONTEXT_WORDS = ("护照", "護照", "assport", "ASSPORT", "通行证", "通行證", "QQ", "qq", "Qq", "扣扣", "企鹅", "企鵝", "微信",
                  "微訊", "echat", "eChat", "ECHAT", "eixin", "vx", "VX", "Vx", "wx", "WX", "Wx", "V信", "v信", "薇信", "威信")


def has_context(text: str) -> bool:
    """Substring tests (C fast search) instead of one alternation regex: ~10x faster on keyword-free text."""
    return any(w in text for w in _CONTEXT_WORDS)


# every keyword of PASSPORT_RE / QQ_RE / WECHAT_RE holds one of _CONTEXT_WORDS at most this far from its start
# ("Passport" → "assport" at 1, "WECHAT" → "ECHAT" at 1)
_CONTEXT_OFFSET = 2


_CONTEXT_WORDS_RE = re.compile("|".join(map(re.escape, sorted(_CONTEXT_WORDS, key=len, reverse=True))))


def context_starts(text: str) -> list[int]:
    """Sorted positions where a PASSPORT/QQ/WECHAT match can start (empty iff not ``has_context``): trying the
    patterns only there (``match_at``) finds what ``finditer`` finds on the whole text, without running their
    leading alternations at every character of a document that mentions "QQ" once. One scan for all the words
    finds them without overlaps; a word overlapping a found one starts inside it, so every position of a found
    word is a candidate too."""
    starts: set[int] = set()
    for m in _CONTEXT_WORDS_RE.finditer(text):
        starts.update(range(max(0, m.start() - _CONTEXT_OFFSET), m.end()))
    return sorted(starts)


def ipv6_starts(text: str) -> list[int]:
    """Sorted positions where an IPV6_RE match can start: it begins with ``[hex]{1,4}:`` or ``:``, so at most
    four characters before a colon."""
    starts: set[int] = set()
    i = text.find(":")
    while i >= 0:
        starts.update(range(max(0, i - 4), i + 1))
        i = text.find(":", i + 1)
    return sorted(starts)


def match_at(pattern: re.Pattern, text: str, starts: list[int]) -> Iterator[re.Match]:
    """``pattern.finditer(text)`` when no match can start outside ``starts`` (sorted): the same leftmost,
    non-overlapping matches, each tried with ``match`` on the whole text (look-arounds see everything)."""
    end = 0
    for p in starts:
        if p >= end:
            m = pattern.match(text, p)
            if m:
                yield m
                end = m.end()


ID_CONTEXT_RE = re.compile(r"身份|证件|證件|证号|證號|ID|id")


def id_context_before(text: str, start: int) -> bool:
    return bool(ID_CONTEXT_RE.search(text[max(0, start - 16):start]))


_PRODUCT_SLASH_RE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*/$")  # user-agent style "Firefox/115.0.3.1"


def version_before(text: str, start: int) -> bool:
    before = text[max(0, start - 24):start]
    return bool(VERSION_CONTEXT_RE.search(before) or _PRODUCT_SLASH_RE.search(before))


def digits_of(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def first_group(m: re.Match, name: str = "v") -> Optional[tuple[int, int]]:
    return m.span(name) if m.group(name) is not None else None
