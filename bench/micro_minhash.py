"""Micro-benchmark: text → 112-permutation MinHash signature, ours vs datasketch vs rensa.

Every method starts from the same text and the same keys (our ``word_key`` / ``cjk_key``: word
5-grams, or character 5-grams of the t2s-normalised text for Chinese), so only shingling and
signing differ:

- ``yuliao``: ``transforms.dedup.minhash.Signer.sign`` (NumPy shingle hashes, datasketch-identical
  permutations evaluated in blocks);
- ``datasketch_sha1``: ``datasketch.MinHash(112).update_batch`` over the shingle strings (its default
  SHA-1 hash), the textbook use;
- ``datasketch_xxh``: the same with ``hashfunc=xxhash.xxh32_intdigest``;
- ``rensa_r`` / ``rensa_c``: rensa's ``RMinHash`` / ``CMinHash`` (Rust) over the shingle strings.

rensa is not a project dependency: ``pip install --target bench/work/micro-libs rensa``.
Reports documents and MB of text per CPU-second, median (min–max) of ``--runs`` round-robin runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
sys.path.append(os.path.join(HERE, "work", "micro-libs"))
from common import fmt, load_texts  # noqa: E402

NUM_PERM = 112
RESULTS = os.path.join(HERE, "work", "results", "micro_minhash.jsonl")


def shingle_strings(text: str, lang: str, signer) -> list[str]:
    from transforms.dedup import minhash as mh

    if mh.is_cjk(text, lang, signer.cjk_langs, signer.cjk_min_han_share):
        key = mh.cjk_key(text, signer.tw_phrases)
        n = signer.char_ngram
        return list({key[i:i + n] for i in range(max(1, len(key) - n + 1))}) if key else []
    words = mh.word_key(text)
    n = signer.word_ngram
    return list({" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}) if words else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    from pipelines.recipe import DedupNearConfig
    from transforms.dedup import signer_from_recipe

    texts = load_texts()
    mb = sum(len(t.encode("utf-8")) for _, t in texts) / 1e6
    signer = signer_from_recipe(DedupNearConfig(num_perm=NUM_PERM))
    methods = {"yuliao": lambda lang, t: signer.sign(t, lang)}
    try:
        import datasketch
        import xxhash

        def ds(hashfunc=None):
            def run(lang, t):
                m = datasketch.MinHash(NUM_PERM, seed=1, **({"hashfunc": hashfunc} if hashfunc else {}))
                sh = shingle_strings(t, lang, signer)
                m.update_batch([s.encode("utf-8") for s in sh])
                return m.hashvalues
            return run

        methods["datasketch_sha1"] = ds()
        methods["datasketch_xxh"] = ds(xxhash.xxh32_intdigest)
    except ImportError:
        pass
    try:
        import rensa

        def rr(cls):
            def run(lang, t):
                m = cls(NUM_PERM, 1)
                m.update(shingle_strings(t, lang, signer))
                return m.digest()
            return run

        methods["rensa_r"] = rr(rensa.RMinHash)
        methods["rensa_c"] = rr(rensa.CMinHash)
    except ImportError:
        pass
    # shingling alone (string keys), the part every non-yuliao method shares
    methods["shingle_strings_only"] = lambda lang, t: shingle_strings(t, lang, signer)
    for fn in methods.values():  # warm-up (imports, OpenCC dictionaries, permutations)
        for lang, t in texts[:5]:
            fn(lang, t)
    secs: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(args.runs):
        for name, fn in methods.items():
            t0 = time.process_time()
            for lang, t in texts:
                fn(lang, t)
            secs[name].append(time.process_time() - t0)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    print(f"{len(texts)} texts, {mb:.1f} MB; {NUM_PERM} permutations; CPU time, median (min–max) of {args.runs}")
    print("| method | docs/CPU-s | MB/CPU-s |")
    print("|---|---|---|")
    for name, s in secs.items():
        with open(RESULTS, "a") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "method": name, "docs": len(texts),
                                "mb": mb, "cpu_s": s}) + "\n")
        print(f"| {name} | {fmt([len(texts) / x for x in s])} | {fmt([mb / x for x in s], 2)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
