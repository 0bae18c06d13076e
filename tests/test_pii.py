"""PII scrubbing: accuracy on the seeded Faker set, hard negatives, byte-exact replacement, the stage contract,
and the build end to end (scrubbed documents, scrubbed reject text, stats counters)."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from pipelines.recipe import PiiConfig, load_recipe
from schemas.document import Document
from schemas.outputs import Reject
from tests.pii_testset import HARD_NEGATIVES, TYPES, all_cases, negatives, score
from transforms.pii import PiiScrubber, PiiStage, scrub_reject, scrub_text
from transforms.stage import Count


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber()


# ---------------------------------------------------------------- accuracy
@pytest.mark.parametrize("seed", [20240607, 7])
def test_recall_and_precision_per_type_at_least_099(scrubber, seed):
    cases, negs = all_cases(seed, per_type=300, n_multi=150)
    tp: dict = {}
    fp: dict = {}
    fn: dict = {}
    for c in cases:
        score([tuple(s) for s in scrubber.find(c.text)], c.spans, tp, fp, fn)
    for t in negs:
        score([tuple(s) for s in scrubber.find(t)], (), tp, fp, fn)
    for kind in TYPES:
        a, b, m = tp.get(kind, 0), fp.get(kind, 0), fn.get(kind, 0)
        assert a + m >= 300, kind  # the set really has this type
        assert a / (a + m) >= 0.99, (kind, "recall", a, m)
        assert a / (a + b) >= 0.99, (kind, "precision", a, b)


def test_hand_written_hard_negatives_are_untouched(scrubber):
    kept = [t for t in HARD_NEGATIVES if scrubber.scrub(t)[0] != t]
    assert kept == []


def test_generated_validator_failing_lookalikes_are_untouched(scrubber):
    negs = negatives(11, 350)[len(HARD_NEGATIVES):]
    assert [t for t in negs if scrubber.find(t)] == []


# ---------------------------------------------------------------- behaviour
@pytest.mark.parametrize("text,expected", [
    ("请联系zhang.san@163.com获取", "请联系<EMAIL>获取"),                     # glued to Han on both sides
    ("手机13812345678，座机010-65529988。", "手机<PHONE>，座机<PHONE>。"),
    ("电话+86 138-1234-5678", "电话<PHONE>"),
    ("身份证号11010519491231002X已登记", "身份证号<ID_NUMBER>已登记"),
    ("身份证号11010519491231002x已登记", "身份证号<ID_NUMBER>已登记"),
    ("卡号6222 0212 3456 7890 128", "卡号<BANK_CARD>"),
    ("Visa 4111-1111-1111-1111 exp", "Visa <BANK_CARD> exp"),
    ("来自IP121.40.18.7的请求", "来自IP<IP>的请求"),
    ("addr 2a03:2880:f10c:83:face:b00c::25de ok", "addr <IP> ok"),
    ("SSN 536-22-1234.", "SSN <SSN>."),
    ("护照号码：E12345678", "护照号码：<PASSPORT>"),
    ("QQ：12345678，微信号：zhang_san88", "QQ：<QQ>，微信号：<WECHAT>"),
    ("Call (415) 555-0172 today", "Call <PHONE> today"),
    ("Tel +44 20 7946 0958", "Tel <PHONE>"),
])
def test_replacements(scrubber, text, expected):
    assert scrubber.scrub(text)[0] == expected


@pytest.mark.parametrize("text", [
    "E12345678 is a product code", "12345678 QQ", "微信支付", "v1.2.3.4", "第6.2.4.1节", "192.168.1.1",
    "ff02::1", "lodash@4.17.21", "icon@2x.png", "ISBN 978-7-111-54742-6", "¥13800000000", "3.141592653589793",
])
def test_negatives_without_context_or_validation(scrubber, text):
    assert scrubber.find(text) == []


def _permit(region: str, birth: str, seq: str, wrong: bool = False) -> str:
    """An 18-digit number with a valid (or, ``wrong``, an invalid) MOD 11-2 check character."""
    body = region + birth + seq
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))) % 11]
    return body + ("0" if check != "0" else "1") if wrong else body + check


@pytest.mark.parametrize("text,expected", [
    # bare 10-digit North American numbers right after a contact word, with or without a separator
    ("call 4155550172", "call <PHONE>"), ("电话4155550172", "电话<PHONE>"), ("Tel: 4155550172", "Tel: <PHONE>"),
    ("Tel.4155550172", "Tel.<PHONE>"), ("TEL4155550172 (office)", "TEL<PHONE> (office)"),
    ("call4155550172 now", "call<PHONE> now"), ("电话-4155550172", "电话-<PHONE>"), ("Fax.415-555-0172", "Fax.<PHONE>"),
    ("Telephone 4155550172", "Telephone <PHONE>"), ("联系电话：4155550172。", "联系电话：<PHONE>。"),
    # residence permits of Hong Kong, Macau and Taiwan residents: region 81/82/83, same check digit as IDs
    (f"港澳居民居住证{_permit('810000', '19850312', '123')}", "港澳居民居住证<ID_NUMBER>"),
    (f"证件号码：{_permit('820000', '20010704', '561')}。", "证件号码：<ID_NUMBER>。"),
    (f"台湾居民居住证 {_permit('830000', '19900101', '002')}", "台湾居民居住证 <ID_NUMBER>"),
])
def test_contact_word_phones_and_residence_permits(scrubber, text, expected):
    assert scrubber.scrub(text)[0] == expected
    assert scrubber.scrub(text)[1] == {expected.split("<")[1].split(">")[0]: 1}


@pytest.mark.parametrize("text", [
    "4155550172", "order 4155550172 shipped", "invoice no. 4155550172", "Recall 4155550172", "see context 4155550172",
    "hotel4155550172", "v1.4155550172", "编号4155550172", "call 1234567890", "Tel.5551234567",  # no contact word / no valid area
    _permit("830000", "19900101", "002", wrong=True), _permit("840000", "19900101", "002"),  # bad check digit / region
])
def test_bare_digit_runs_without_context_stay(scrubber, text):
    assert scrubber.find(text) == []


def test_text_outside_matches_is_byte_identical(scrubber):
    cases, _ = all_cases(3, per_type=40, n_multi=40)
    for c in cases:
        out, counts = scrubber.scrub(c.text)
        spans = scrubber.find(c.text)
        assert sum(counts.values()) == len(spans)
        # rebuild the input from the output by putting the originals back in place of the placeholders
        pos, rebuilt, o = 0, [], 0
        for s in spans:
            ph = scrubber.placeholders[s.type]
            seg = c.text[pos:s.start]
            assert out[o:o + len(seg)] == seg
            o += len(seg)
            assert out[o:o + len(ph)] == ph
            o += len(ph)
            rebuilt.append(seg + c.text[s.start:s.end])
            pos = s.end
        assert out[o:] == c.text[pos:]
        assert "".join(rebuilt) + c.text[pos:] == c.text


# ---------------------------------------------------------------- candidate windows = whole-text scans
def _real_texts(data_dir) -> list[str]:
    """10 kB pieces of real files as they are (HTML included): a Debian manual (IPs, versions, colons), Chinese
    user reviews, Gutenberg books."""
    import csv
    import gzip

    raw = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
           for p in sorted((data_dir / "web" / "debian-reference-zh").glob("*/*.html.gz"))]
    with open(data_dir / "misc" / "zh-ugc" / "waimai_10k.csv", encoding="utf-8") as f:
        raw.append("\n".join(",".join(row) for row in csv.reader(f)))
    raw += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((data_dir / "books").glob("gutenberg-*/*.txt"))[:6]]
    return [t[i:i + 10_000] for t in raw for i in range(0, len(t), 10_000)]


def _fuzz_texts(seed: int, n: int) -> list[str]:
    """Short strings dense in the shapes every detector looks for (digits, hex, separators, keywords)."""
    import random

    rng = random.Random(seed)
    alphabet = (list("0123456789") * 4 + list("abcdefABCDEF") + list(" -.()+:/#xX\u00a0\u3000\n_@¥") * 2
                + ["ext", "转", "电话", "tel", "Tel.", "whatsapp", "身份证", "IP", "IPv6", "版本", "v", "中", "QQ", "QQQ",
                   "微信:", "WeChat: ", "wxid_", "Passport No. ", "护照", "::", "fe80:", "+86 ", "+1 ", "(010) "])
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 120))) for _ in range(n)]


@pytest.mark.parametrize("cfg", [PiiConfig(), PiiConfig(keep_private_ips=False, international_phones=False)])
def test_find_scans_windows_yet_equals_whole_text_scans(data_dir, cfg):
    """``find`` runs the digit, IP and keyword detectors only near their candidates; it must return exactly what
    running every detector over the whole text returns, on real text and on shape-dense synthetic text."""
    s = PiiScrubber.from_config(cfg)
    cases, negs = all_cases(11, per_type=60, n_multi=60)
    texts = _real_texts(data_dir) + [c.text for c in cases] + negs + _fuzz_texts(5, 12_000)
    found = [s.find_exhaustive(t) for t in texts]
    assert [s.find(t) for t in texts] == found
    kinds = {sp.type for spans in found for sp in spans}
    assert kinds >= {"EMAIL", "IP", "ID_NUMBER", "BANK_CARD", "PASSPORT", "QQ", "WECHAT", "PHONE", "SSN"}


def test_placeholders_types_and_private_ips_are_configurable():
    cfg = PiiConfig(placeholders={"EMAIL": "[邮箱]"}, types=("EMAIL", "IP"), keep_private_ips=False)
    s = PiiScrubber.from_config(cfg)
    out, counts = s.scrub("邮箱a.b@example.com，内网192.168.1.10，手机13812345678")
    assert out == "邮箱[邮箱]，内网<IP>，手机13812345678"
    assert counts == {"EMAIL": 1, "IP": 1}
    with pytest.raises(Exception):
        PiiConfig(types=("EMAIL", "NAME"))
    recipe = load_recipe(None, ["pii.placeholders.PHONE=<TEL>", "pii.keep_private_ips=false"])
    assert recipe.pii.placeholders["PHONE"] == "<TEL>" and recipe.pii.placeholders["EMAIL"] == "<EMAIL>"


def test_deterministic_and_idempotent(scrubber):
    cases, _ = all_cases(5, per_type=20, n_multi=20)
    for c in cases:
        once = scrubber.scrub(c.text)[0]
        assert scrubber.scrub(c.text)[0] == once
        assert scrubber.scrub(once)[0] == once  # placeholders are never themselves PII


# ---------------------------------------------------------------- stage contract
def test_stage_counts_and_pii_map():
    stage = PiiStage(PiiConfig())
    docs = [
        Document(id="a", text="邮箱x@example.com，手机13812345678，手机13912345678", source="web", origin="o",
                 title="联系 y@example.org", pii={"EMAIL": 1}),
        Document(id="b", text="no personal data here", source="web", origin="o"),
    ]
    out = list(stage.apply(docs))
    kept = [d for d in out if isinstance(d, Document)]
    counts = {c.name: c.value for c in out if isinstance(c, Count)}
    assert [d.id for d in kept] == ["a", "b"]
    a, b = kept
    assert a.text == "邮箱<EMAIL>，手机<PHONE>，手机<PHONE>" and a.title == "联系 <EMAIL>"
    assert a.pii == {"EMAIL": 3, "PHONE": 2}  # adds to what an earlier pass recorded
    assert b is docs[1]
    assert counts == {"docs_with_pii": 1, "replaced/EMAIL": 2, "replaced/PHONE": 2}


def test_scrub_text_and_reject_rows():
    cfg = PiiConfig()
    assert scrub_text("mail a@b.cn", cfg) == "mail <EMAIL>"
    assert scrub_text(None, cfg) is None
    r = Reject(id="1", source="web", origin="o", stage="langid", reason="x", text="QQ：12345678")
    assert scrub_reject(r, cfg).text == "QQ：<QQ>"
    assert scrub_reject(r._replace(text=None), cfg).text is None


# ---------------------------------------------------------------- end to end
def test_build_scrubs_documents_and_kept_reject_text(tmp_path):
    from tests.runners import RUNNER_MODES, run_build

    zh = ("北京今天天气晴朗，市民纷纷外出踏青。社区组织的春季徒步活动将于本周六上午九点开始，路线沿着河边步道一直走到"
          "植物园，全程大约八公里，沿途设有三个补给点，为参加者提供饮用水和简单的食物。主办方提醒大家穿舒适的运动鞋，"
          "带好防晒用品，并注意保管个人物品。如需报名参加活动，请联系张老师，手机13812345678，或发邮件至"
          "zhang.laoshi@163.com。报名截止时间为本周四晚上八点，名额有限，先到先得。活动结束后还将举行简短的交流会，"
          "请参加者分享自己的徒步心得和摄影作品，优秀作品将在社区公告栏展出。欢迎大家积极参加，共享美好春光。")
    fr = ("Bonjour à tous, la réunion aura lieu demain matin à la mairie. Écrivez à marie.dupont@example.fr "
          "ou appelez le +33 1 23 45 67 89 pour confirmer votre présence. Merci beaucoup et à bientôt.")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"text": t, "id": i}) for i, t in (("zh", zh), ("fr", fr))) + "\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    run_build([str(src)], out, RUNNER_MODES["direct_in_memory"], recipe="demo",
              overrides=["sink.rejects_keep_text=true", "langid.languages=[zh, en]"])
    data = [r for f in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejects = [r for f in sorted((out / "rejects").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    # user ids are not document ids (they need not be unique); the reader keeps them in origin as "#id=<id>"
    def user_id(row):
        return row["origin"].rsplit("#id=", 1)[-1]

    assert [user_id(r) for r in data] == ["zh"], [(user_id(r), r["stage"], r["reason"]) for r in rejects]
    doc = data[0]
    assert "13812345678" not in doc["text"] and "<PHONE>" in doc["text"] and "<EMAIL>" in doc["text"]
    assert {kv["key"]: kv["value"] for kv in doc["pii"]} == {"EMAIL": 1, "PHONE": 1}
    rej = {user_id(r): r for r in rejects}["fr"]
    assert rej["text"] and "marie.dupont" not in rej["text"] and "<EMAIL>" in rej["text"] and "<PHONE>" in rej["text"]
    stats = json.loads((out / "stats.json").read_text())["stages"]["pii"]
    assert stats["counters"] == {"docs_with_pii": 1, "replaced/EMAIL": 1, "replaced/PHONE": 1}
    assert stats["in"] == stats["out"] == 1


def test_stage_with_annotate_spans_equals_a_scan_and_a_text_change_drops_them():
    """Spans found by annotate (``Document.pii_spans``) give the stage's scan result without scanning; the ids of
    the scrubbed text come with them; a stage that rewrites the text (``invalidated``) drops both."""
    from transforms.decontam.match import invalidated
    from transforms.pii import spans_to_flat

    positives, negatives_ = all_cases(seed=3)
    cases = [c.text for c in positives[:150]] + negatives_[:50]
    cfg = load_recipe("default").pii
    stage, scrubber = PiiStage(cfg), PiiScrubber.from_config(cfg)
    docs = [Document(id=str(k), text=t, source="web", origin="o", title="联系 13800138000") for k, t in enumerate(cases)]
    scanned = [d for d in stage.apply(docs) if isinstance(d, Document)]
    annotated = [d._replace(pii_spans=spans_to_flat(scrubber.find(d.text)), pii_token_ids=[7], pii_n_tokens=1)
                 for d in docs]
    reused = [d for d in stage.apply(annotated) if isinstance(d, Document)]
    changed = [k for k, d in enumerate(scanned) if d.text != docs[k].text]
    assert changed and [d.text for d in reused] == [d.text for d in scanned]
    assert [d.pii for d in reused] == [d.pii for d in scanned] and [d.title for d in reused] == [d.title for d in scanned]
    assert all(reused[k].n_tokens == 1 and list(reused[k].token_ids) == [7] for k in changed)
    assert all(d.pii_spans is None and d.pii_token_ids is None for d in reused)
    # text rewritten after annotate (boilerplate, decontam): stored spans are gone, so the stage scans again
    moved = invalidated(annotated[changed[0]], "x " + docs[changed[0]].text)
    assert moved.pii_spans is None and moved.pii_token_ids is None and moved.pii_n_tokens is None
    again = [d for d in stage.apply([moved]) if isinstance(d, Document)][0]
    assert again.text == "x " + scanned[changed[0]].text and again.n_tokens is None
