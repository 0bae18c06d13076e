"""Exact and near dedup: MinHash equals datasketch, components equal union-find, survivor priority, and on
real pages: zh-CN/zh-TW parallel pages cluster across scripts, edited copies are caught, independent pages
on the same topic are not merged."""
from __future__ import annotations

import gzip
import random
import re

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines.recipe import DedupNearConfig, ExtractConfig, load_recipe
from schemas.document import Document
from tests.gutenberg import book_chapters
from transforms.dedup import signer_from_recipe, stage
from transforms.dedup.components import FINISH_KEY, ConnectedComponents, components_reference, undirected_edges
from transforms.dedup.exact import exact_key, priority
from transforms.dedup.minhash import (char_shingles, cjk_key, iter_windows, jaccard, signature, window_edges,
                                      window_key)

# ------------------------------------------------------------------ helpers
_GOT: dict = {}


def _keep(lst, name):
    """Module-level (pickled by reference), so the in-memory DirectRunner fills this module's ``_GOT``."""
    _GOT[name] = sorted(lst)


def _stat(kv):
    stage_name, counter = kv[0].split("\x1f", 1)
    return (counter if stage_name == "dedup.near" else "exact:" + counter), kv[1]


def run_stage(docs, overrides=()):
    """Run the dedup stage on the DirectRunner; returns (survivors {id: (cluster, size)}, rejects, stats)."""
    recipe = load_recipe(None, list(overrides))
    _GOT.clear()
    with beam.Pipeline("DirectRunner") as p:
        out = stage(p | beam.Create(docs), recipe)
        for name, pc, fn in (
            ("main", out.main, lambda d: (d.id, d.dup_cluster, d.dup_cluster_size)),
            ("rejects", out.rejects, lambda r: (r.id, r.reason, r.detail)),
            ("stats", out.stats | "sum" >> beam.CombinePerKey(sum), _stat),
        ):
            (pc | f"{name} map" >> beam.Map(fn) | f"{name} list" >> beam.combiners.ToList()
             | f"{name} keep" >> beam.Map(_keep, name))
    got = dict(_GOT)
    survivors = {i: (c, s) for i, c, s in got["main"]}
    return survivors, got["rejects"], dict(got["stats"])


def clusters_of(survivors, rejects):
    """{doc id: kept id} for every document."""
    kept = {i: i for i in survivors}
    for rid, _, detail in rejects:
        kept[rid] = re.search(r"kept=(\S+)", detail).group(1)
    return kept


@pytest.fixture(scope="module")
def extractor():
    from transforms.extract import Extractor

    ex = Extractor.from_recipe(ExtractConfig())
    ex.setup()
    return ex


def page_text(extractor, path) -> str:
    from transforms.extract import decode_html

    return extractor.extract_html(decode_html(gzip.open(path).read(), None))[0]


@pytest.fixture(scope="module")
def debian(data_dir, extractor):
    """The 9 smallest of the 15 chapter pairs (keeps the test fast; the bench uses all 15)."""
    root = data_dir / "web" / "debian-reference-zh"
    chapters = sorted((root / "zh-cn").glob("*.html.gz"), key=lambda p: p.stat().st_size)[:9]
    out = {}
    for p in chapters:
        c = p.name.split(".")[0]
        for variant in ("zh-cn", "zh-tw"):
            out[(variant, c)] = page_text(extractor, root / variant / f"{c}.{variant}.html.gz")
    return out


@pytest.fixture(scope="module")
def gne(data_dir, extractor):
    texts = []
    for p in sorted((data_dir / "web" / "gne-zh").glob("tests__*.html.gz")):
        t = page_text(extractor, p)
        if t and len(t) > 800:
            texts.append((p.name.split(".")[0], t))
    return texts[:12]


@pytest.fixture(scope="module")
def english(data_dir):
    """Long English chapters from a real Gutenberg book, split on chapter headings."""
    return book_chapters(data_dir)


# ------------------------------------------------------------------ units
def test_signature_is_datasketch_minhash():
    from datasketch import MinHash

    h = np.unique(np.random.RandomState(0).randint(0, 2 ** 32, 9000).astype(np.uint64))  # > one block
    m = MinHash(num_perm=112, seed=1, hashfunc=lambda x: x)
    m.update_batch(h.tolist())
    assert np.array_equal(signature(h, 112, 1), m.hashvalues.astype(np.uint32))
    assert not np.array_equal(signature(h, 112, 2), signature(h, 112, 1))  # the seed matters


@pytest.mark.parametrize("num_perm,seed", [(112, 1), (128, 42), (256, 7), (64, 0)])
def test_permutations_are_datasketch_s(num_perm, seed):
    from datasketch import MinHash

    from transforms.dedup.minhash import permutations

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    ours = permutations(num_perm, seed)
    assert np.array_equal(ours[0][0], a) and np.array_equal(ours[1][0], b)


def test_cjk_key_ignores_script_width_punctuation_and_tw_phrases():
    a = "軟體的檔案與程式，預設請用「apt」安裝。"
    b = "软件的文件与程序, 默认请用 \"apt\" 安装."
    assert cjk_key(a) == cjk_key(b) != ""
    assert cjk_key("這是一個測試文件，內容相同。") == cjk_key("这是一个测试文件。内容相同!")
    assert cjk_key("軟體", tw_phrases=False) != cjk_key("软件", tw_phrases=False)
    assert char_shingles("", 5).size == 0


@pytest.mark.parametrize("tw, cn", [("檔案", "文件"), ("文件", "文档"), ("程式", "程序"), ("程序", "进程"),
                                    ("預設", "缺省"), ("預設", "默认"), ("軟體", "软件"), ("原始碼", "源代码")])
def test_cjk_key_taiwan_and_mainland_spellings_meet(tw, cn):
    """Mainland words that are also Taiwan words (文件, 程序) must not be folded away from their own
    Taiwan spelling: both sides map to one member of the term's class."""
    assert cjk_key(tw) == cjk_key(cn)
    assert cjk_key(f"請把{tw}存好") == cjk_key(f"请把{cn}存好")


def _aligned_lines(debian):
    """(zh-CN line, zh-TW line) of the chapters whose two translations keep the same line structure."""
    pairs = []
    for (variant, c), text in debian.items():
        if variant == "zh-cn":
            cn, tw = ([ln for ln in t.split("\n") if ln.strip()] for t in (text, debian[("zh-tw", c)]))
            if len(cn) == len(tw) and sum(cjk_key(a, False) == cjk_key(b, False) for a, b in zip(cn, tw)) >= len(cn) / 4:
                pairs += zip(cn, tw)  # aligned: a quarter equal even unfolded (pr01 is shifted by one line)
    return pairs


def test_cjk_key_folds_real_taiwan_mainland_translations(debian):
    """On the real debian-reference zh-CN/zh-TW translations (line i ↔ line i), most lines whose keys differ
    without the fold meet with it (bench/cjk_fold.py: 1,572 of 1,805 aligned lines on all 15 pages, the
    earlier one-way fold 1,346, no fold 784), and character copies in the other script still meet."""
    import opencc

    pairs = _aligned_lines(debian)
    assert len(pairs) >= 500
    off = sum(cjk_key(a, False) == cjk_key(b, False) for a, b in pairs)
    on = sum(cjk_key(a) == cjk_key(b) for a, b in pairs)
    print("aligned lines equal fold off/on", off, on, len(pairs))
    assert off < 0.5 * len(pairs) and on >= 0.83 * len(pairs), (off, on, len(pairs))
    s2t = opencc.OpenCC("s2t")  # the same words in Traditional characters (no Taiwan vocabulary)
    copies = [(a, s2t.convert(a)) for a, _ in pairs]
    assert sum(cjk_key(a) == cjk_key(b) for a, b in copies) >= 0.99 * len(copies)
    chapters = sorted(c for v, c in debian if v == "zh-cn")
    j_on = [jaccard_exact(cjk_key(debian[("zh-cn", c)]), cjk_key(debian[("zh-tw", c)])) for c in chapters]
    j_off = [jaccard_exact(cjk_key(debian[("zh-cn", c)], False), cjk_key(debian[("zh-tw", c)], False))
             for c in chapters]
    print("mean char-5-gram Jaccard fold off/on", np.mean(j_off), np.mean(j_on))
    assert np.mean(j_off) < 0.65 and np.mean(j_on) >= 0.85
    for c in chapters:
        assert j_on[chapters.index(c)] > j_off[chapters.index(c)], c
        assert jaccard_exact(cjk_key(debian[("zh-cn", c)]), cjk_key(s2t.convert(debian[("zh-cn", c)]))) >= 0.99, c


def jaccard_exact(a: str, b: str, n: int = 5) -> float:
    sa, sb = char_shingles(a, n), char_shingles(b, n)
    return np.intersect1d(sa, sb).size / np.union1d(sa, sb).size


def _union_find(edges) -> dict:
    """Independent of the module: {node: smallest node of its component}."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a != b:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in list(parent)}


def _random_graph(seed: int, n_nodes: int, n_edges: int) -> list[tuple]:
    rng = random.Random(seed)
    nodes = [f"{rng.getrandbits(48):012x}" for _ in range(n_nodes)]
    return [(rng.choice(nodes), rng.choice(nodes)) for _ in range(n_edges)]


def _chain(n: int, seed: int | None) -> list[tuple]:
    """Path over n nodes; labels shuffled unless seed is None (sorted labels: Large/Small-Star's worst case)."""
    labels = [f"c{i:06d}" for i in range(n)]
    if seed is not None:
        random.Random(seed).shuffle(labels)
    return [(labels[i], labels[i + 1]) for i in range(n - 1)]


def _stars(n_stars: int, leaves: int) -> list[tuple]:
    """Already converged: every edge joins a leaf to its star's centre, the smallest node."""
    return [(f"s{s:03d}-{j:03d}", f"s{s:03d}-000") for s in range(n_stars) for j in range(1, leaves + 1)]


def test_components_reference_equals_union_find():
    """The plain-Python algorithm (rounds + exact finish) gives union-find's roots for every round budget,
    including budgets far below what the graph needs; the finish only gets edges of unconverged components."""
    graphs = {f"random{s}": _random_graph(s, 150, s * 12) for s in range(25)}
    graphs |= {"chain": _chain(2000, 1), "sorted chain": _chain(2000, None), "stars": _stars(5, 30),
               "loops": [("a", "a"), ("a", "b"), ("c", "c")], "empty": []}
    for name, edges in graphs.items():
        expected = _union_find(edges)
        for max_rounds in (1, 2, 3, 4, 12):
            got = components_reference(edges, max_rounds)
            assert got.roots == expected, (name, max_rounds)
            assert len(got.changes) == max_rounds and got.rounds <= max_rounds
            if not any(got.changes[-1:]):  # converged within the budget: nothing for the finish
                assert got.finish_edges == 0, (name, max_rounds)
    assert components_reference(graphs["loops"]).roots == {"a": "a", "b": "a"}  # "c" is on no edge
    stars = components_reference(graphs["stars"], 1)
    assert stars.changes == [0] and stars.finish_edges == 0
    chain = components_reference(graphs["chain"], 4)
    assert chain.rounds == 4 and chain.finish_edges > 0  # 2000 shuffled nodes need more than 4 rounds
    assert components_reference(graphs["chain"], 64).finish_edges == 0


def test_components_beam_equals_union_find():
    """On the DirectRunner the transform gives union-find's roots and the reference's counts: a 10k-node chain
    (needs 11 rounds, gets 4: the finish resolves the rest), random graphs, already converged stars (no change,
    0 finish edges), empty input."""
    graphs = {"chain10k": _chain(10_000, 7), "random1": _random_graph(1, 300, 250),
              "random2": _random_graph(2, 2000, 1800), "random3": _random_graph(3, 500, 900),
              "stars": _stars(20, 40), "empty": []}
    expect = {}
    with beam.Pipeline("DirectRunner") as p:
        for name, edges in graphs.items():
            ref = components_reference(edges, 4)
            assert ref.roots == _union_find(edges), name
            counts = [(r, n) for r, n in enumerate(ref.changes) if n]
            counts += [(FINISH_KEY, ref.finish_edges)] if ref.finish_edges else []
            expect[name] = ref, counts
            members, totals = (p | f"{name} edges" >> beam.Create(edges)
                               | f"{name} CC" >> ConnectedComponents(max_rounds=4, label=f"CC {name}"))
            assert_that(members, equal_to(sorted(ref.roots.items())), label=f"{name} members")
            assert_that(totals, equal_to(counts), label=f"{name} counts")
            # as near dedup uses it: edges given both ways by their producer, roots tagged for a join
            tagged, totals2 = (p | f"{name} edges 2" >> beam.Create(edges)
                               | f"{name} both ways" >> beam.FlatMap(undirected_edges)
                               | f"{name} CC 2" >> ConnectedComponents(4, f"CC2 {name}", root_tag="r", both_ways=True))
            assert_that(tagged, equal_to([(n, ("r", r)) for n, r in sorted(ref.roots.items())]),
                        label=f"{name} tagged")
            assert_that(totals2, equal_to(counts), label=f"{name} counts 2")
    chain, chain_counts = expect["chain10k"]
    assert chain.rounds == 4 and 0 < chain.finish_edges < 10_000 and chain_counts[-1][0] == FINISH_KEY
    assert expect["stars"][1] == [] and expect["empty"][1] == []  # no round changed, finish got 0 edges
    assert any(ref.finish_edges == 0 and ref.rounds > 0 for ref, _ in expect.values())  # converged in budget


def test_near_dedup_exact_with_a_short_round_budget(english):
    """A chain of overlapping excerpts (each shares ~94% of its word 5-grams with the next, far fewer with
    distant ones) is one cluster whatever ``max_rounds``: with 1 round the finish resolves it, byte-identical
    decisions to 12 rounds; the stats say so."""
    words = " ".join(english).split()
    docs = [Document(id=f"w{k:02d}", text=" ".join(words[k * 30:k * 30 + 1000]), source="web", origin="o",
                     lang="en") for k in range(24)]
    short = run_stage(docs, ["dedup.exact.enabled=false", "dedup.near.max_rounds=1"])
    full = run_stage(docs, ["dedup.exact.enabled=false", "dedup.near.max_rounds=12"])
    assert short[:2] == full[:2]
    assert len(short[0]) == 1 and len(short[1]) == 23  # one cluster
    assert short[2]["cc_rounds"] == 1 and short[2]["cc_not_converged"] == 1 and short[2]["cc_finish_edges"] > 0
    assert full[2]["cc_not_converged"] == 0 and full[2]["cc_finish_edges"] == 0 and full[2]["cc_rounds"] >= 2


def test_priority_source_signal_length_id():
    def d(i, source="web", n=10, q=None):
        return Document(id=i, text="x" * n, source=source, origin="o", signals={"q": q} if q is not None else {})

    rank = ("encyclopedia", "book", "news", "qa", "web")
    docs = [d("a", n=50), d("b", "encyclopedia", 5), d("c", "book", 100, q=0.1), d("e", "book", 10, q=0.9),
            d("f", "forum", 999), d("g", "book", 10, q=0.9)]
    order = [x.id for x in sorted(docs, key=lambda x: priority(x, rank, "q"))]
    assert order == ["b", "e", "g", "c", "a", "f"]


def test_giant_bucket_is_windowed():
    members = [f"n{i:04d}" for i in reversed(range(40))] + ["n0003"]
    windows = list(iter_windows(members, max_bucket_size=8))
    assert [w[0] for w in windows] == [f"n{i:04d}" for i in range(0, 33, 4)] and windows[-1][-1] == "n0039"
    assert all(len(w) == 8 and w == sorted(w) for w in windows)
    slots = [m for w in windows for m in w]
    assert sorted(set(slots)) == sorted(set(members)) and max(slots.count(m) for m in slots) == 2
    assert all(any(f"n{i:04d}" in w and f"n{i + 1:04d}" in w for w in windows) for i in range(39))
    assert not any("n0000" in w and "n0039" in w for w in windows)
    assert window_key(windows[0]) == window_key(list(windows[0])) != window_key(windows[1])


def _union_find_components(ids, pairs) -> set[frozenset]:
    """The components of ``pairs`` over ``ids`` (an id on no pair is its own), from ``_union_find``."""
    roots = _union_find(pairs)
    groups: dict = {}
    for i in ids:
        groups.setdefault(roots.get(i, i), set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_window_edges_keep_the_windows_connectivity():
    """All pairs of a window are Jaccard-checked, as pair by pair with ``jaccard``; the edges are a spanning
    forest (members − components of them), each to its component's smallest id, with the same components."""
    rng = np.random.default_rng(7)
    bases = rng.integers(0, 2**32, size=(5, 112), dtype=np.uint32)
    ids = sorted(f"d{rng.integers(10**9):09d}" for _ in range(60))
    sigs = bases[rng.integers(0, 5, size=60)].copy()
    for row in sigs:  # 0-16 slots changed: two rows of one base agree on ~112 - k1 - k2, around the threshold
        k = int(rng.integers(0, 17))
        row[rng.choice(112, size=k, replace=False)] = rng.integers(0, 2**32, size=k, dtype=np.uint32)
    edges, compared, verified = window_edges(ids, sigs, 0.8)
    truth = [(ids[i], ids[j]) for i in range(60) for j in range(i + 1, 60) if jaccard(sigs[i], sigs[j]) >= 0.8]
    assert compared == 60 * 59 // 2 and verified == len(truth)
    components = _union_find_components(ids, truth)
    same_base = sum(1 for i in range(60) for j in range(i + 1, 60) if (sigs[i] == sigs[j]).sum() > 56)
    assert 100 < verified < same_base and len(components) >= 5  # some same-base pairs fail
    assert _union_find_components(ids, edges) == components
    assert len(edges) == 60 - len(components) and all(root == min(c) for _, root in edges for c in components
                                                     if root in c)


def test_giant_buckets_decide_as_small_ones(english, monkeypatch):
    """Two clusters of 10 near-copies and 3 unique chapters. With ``max_bucket_size=4`` every band bucket of a
    cluster is giant and goes through overlapping windows; with the default size each is one window; with every
    bucket paired (``PAIRED_MAX`` raised) each pair is checked on its own. The decisions are the same."""
    from transforms.dedup import minhash

    docs = [Document(id=f"c{c}k{k:02d}", text=english[c] + f" tail {k} " * 3, source="web", origin="o", lang="en")
            for c in range(2) for k in range(10)]
    docs += [Document(id=f"u{k}", text=english[5 + k], source="web", origin="o", lang="en") for k in range(3)]
    giant = run_stage(docs, ["dedup.exact.enabled=false", "dedup.near.max_bucket_size=4"])
    whole = run_stage(docs, ["dedup.exact.enabled=false"])
    monkeypatch.setattr(minhash, "PAIRED_MAX", 256)
    paired = run_stage(docs, ["dedup.exact.enabled=false"])
    assert giant[:2] == whole[:2] == paired[:2]
    assert sorted(giant[0]) == ["c0k00", "c1k00", "u0", "u1", "u2"] and len(giant[1]) == 18
    assert giant[2]["giant_buckets"] > 0 and giant[2]["windows"] > whole[2]["windows"] > 0
    assert "giant_buckets" not in whole[2] and "windows" not in paired[2]
    assert "bucket_pairs" not in giant[2] and "bucket_pairs" not in whole[2] and paired[2]["bucket_pairs"] > 0
    assert whole[2]["window_edges"] < paired[2]["verified_pairs"] == 2 * 45  # forests, not every pair


def test_exact_dedup_keeps_by_priority():
    text = "Same text here.\n\nSecond  paragraph."
    docs = [Document(id="w1", text=text, source="web", origin="a"),
            Document(id="e1", text=text.replace("\n\n", "\n"), source="encyclopedia", origin="b"),
            Document(id="w0", text=text + " ", source="web", origin="c"),
            Document(id="u", text="Unrelated words entirely, nothing shared with the rest.", source="web", origin="d")]
    assert exact_key(docs[0].text) == exact_key(docs[1].text)
    survivors, rejects, stats = run_stage(docs, ["dedup.near.enabled=false"])
    assert survivors == {"e1": ("e1", 3), "u": ("u", 1)}
    assert sorted((r[0], r[1]) for r in rejects) == [("w0", "exact_duplicate"), ("w1", "exact_duplicate")]
    assert all(r[2] == "cluster=e1 kept=e1" for r in rejects)
    assert stats["exact:in"] == 4 and stats["exact:out"] == 2 and stats["exact:rejected/exact_duplicate"] == 2


# ------------------------------------------------------------------ real pages
def test_zh_cn_and_zh_tw_pages_cluster_across_scripts(debian):
    """Parallel pages cluster with their counterpart and with nothing else. The zh-TW translation uses
    Taiwan vocabulary (資訊/信息, 檔案/文件), so true Jaccard of the folded keys ranges 0.66–0.96: at the default
    recipe every pair whose MinHash estimate is >= 0.8 clusters; at threshold 0.6 (16 bands × 7 rows) every
    pair estimated >= 0.7 does (pr01, J 0.66, has P(candidate) ~0.6 there and may or may not)."""
    docs = [Document(id=f"{v}:{c}", text=t, source="web", origin=c, lang="zh") for (v, c), t in debian.items()]
    chapters = sorted({c for _, c in debian})
    signer = signer_from_recipe(DedupNearConfig())
    est = {c: jaccard(signer.sign(debian[("zh-cn", c)], "zh")[0], signer.sign(debian[("zh-tw", c)], "zh")[0])
           for c in chapters}
    for overrides, must in (([], [c for c in chapters if est[c] >= 0.8]),
                            (["dedup.near.threshold=0.6", "dedup.near.jaccard_threshold=0.6"],
                             [c for c in chapters if est[c] >= 0.7])):
        survivors, rejects, stats = run_stage(docs, overrides)
        kept = clusters_of(survivors, rejects)
        assert len(must) >= 6
        for c in must:
            assert kept[f"zh-cn:{c}"] == kept[f"zh-tw:{c}"], (c, overrides)
        for doc_id, k in kept.items():  # nothing merged across chapters
            assert k.split(":")[1] == doc_id.split(":")[1]
        for sid, (cluster, size) in survivors.items():
            assert size == sum(1 for v in kept.values() if v == sid)
        assert stats["rejected/near_duplicate"] == len(rejects) == len(docs) - len(survivors) >= len(must)
    assert len(must) >= 8


def _edit_words(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * rate))):
        words[i] = rng.choice(["the", "a", "very", "indeed", "quite"])
    return " ".join(words)


def _edit_chars(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    for i in rng.sample(range(len(chars)), max(1, int(len(chars) * rate))):
        chars[i] = rng.choice("的一是在不了有和人这中大为上个国")
    return "".join(chars)


def _reorder(text: str, rng: random.Random) -> str:
    """Sections moved: paragraphs cut into 4 blocks whose order is shuffled (as when a page's sections are
    rearranged). A full paragraph shuffle of short dialogue paragraphs drops word-5-gram Jaccard to ~0.8,
    the LSH threshold itself; bench/dedup_accuracy.py measures that case."""
    sep = "\n\n" if "\n\n" in text else "\n"  # Gutenberg: blank-line paragraphs; extracted pages: one per line
    paras = [p for p in text.split(sep) if p.strip()]
    k = max(1, len(paras) // 4)
    blocks = [paras[i:i + k] for i in range(0, len(paras), k)]
    order = list(range(len(blocks)))
    while order == sorted(order) and len(order) > 1:
        rng.shuffle(order)
    return sep.join(p for i in order for p in blocks[i])


def test_edited_copies_caught_and_same_topic_pages_kept(english, gne):
    rng = random.Random(3)
    docs, expect_same = [], []
    nav_en = "Home | About | Contact | Privacy policy | Terms of use | Subscribe to our newsletter\n"
    nav_zh = "首页 | 关于我们 | 联系方式 | 隐私政策 | 免责声明 | 网站地图\n"
    for i, ch in enumerate(english):
        docs.append(Document(id=f"en{i}", text=ch, source="book", origin="o", lang="en"))
        edit = [lambda t: _edit_words(t, 0.01, rng), lambda t: _reorder(t, rng),
                lambda t: nav_en + t + "\nCopyright 2024 Example Press. All rights reserved."][i % 3]
        docs.append(Document(id=f"en{i}-copy", text=edit(ch), source="web", origin="o", lang="en"))
        expect_same.append((f"en{i}", f"en{i}-copy"))
    for i, (name, t) in enumerate(gne):
        docs.append(Document(id=f"zh{i}", text=t, source="news", origin=name, lang="zh"))
        if i % 2 == 0:
            edit = [lambda t: _edit_chars(t, 0.01, rng), lambda t: _reorder(t, rng),
                    lambda t: nav_zh + t + "\n版权所有 © 2024 某某网 京ICP备00000000号"][(i // 2) % 3]
            docs.append(Document(id=f"zh{i}-copy", text=edit(t), source="web", origin=name, lang="zh"))
            expect_same.append((f"zh{i}", f"zh{i}-copy"))
    survivors, rejects, stats = run_stage(docs)
    kept = clusters_of(survivors, rejects)
    for a, b in expect_same:
        assert kept[a] == kept[b], (a, b)
        assert kept[a] == a, "the original survives: its source (book, news) outranks web"
    originals = [d.id for d in docs if "-copy" not in d.id]
    assert len({kept[o] for o in originals}) == len(originals), "independent pages on one topic were merged"
    assert stats["rejected/near_duplicate"] == len(expect_same)


def test_whitespace_collapse_equals_the_regex_on_every_code_point():
    """``exact_key`` and boilerplate's ``content_hash`` collapse whitespace with ``str.split`` (~3x faster than the
    regex they replaced): the same keys as ``re.sub(r"\\s+", " ", text).strip()`` for every code point, in runs and
    at the ends."""
    import hashlib
    import re

    import xxhash

    from transforms.boilerplate.lines import content_hash

    ws = re.compile(r"\s+")
    for start in range(0, 0x110000, 4096):
        text = "\t\x85" + "".join(f"a{chr(c)}{chr(c)} b" for c in range(start, min(start + 4096, 0x110000))) + "\u3000 "
        norm = ws.sub(" ", text).strip()
        assert exact_key(text) == hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        text = "".join(ch for ch in text if not "\ud800" <= ch <= "\udfff")  # xxhash refuses lone surrogates
        assert content_hash(text) == xxhash.xxh64_intdigest(ws.sub(" ", text).strip())

