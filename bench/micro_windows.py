"""One LSH window checked at once (``transforms.dedup.minhash.window_edges``) against the same pairs checked one by
one with ``jaccard`` and joined by ``components.union_find_roots`` (what verifying a window pair by pair costs).

    .venv/bin/python bench/micro_windows.py [--members 256] [--repeat 30]

Signatures are one base signature with 0–9 of 112 slots changed per member (a boilerplate window: nearly every
pair verifies). Prints ms per window for both and their ratio, and checks both give the same components.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from transforms.dedup.components import union_find_roots
from transforms.dedup.minhash import jaccard, window_edges


def pairwise(ids: list[str], sigs: np.ndarray, threshold: float) -> dict[str, str]:
    """{id: smallest id of its component}: every pair checked with ``jaccard``, the verified ones joined by the
    components step's own union-find."""
    verified = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))
                if jaccard(sigs[i], sigs[j]) >= threshold]
    return {**{i: i for i in ids}, **union_find_roots(verified)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    sigs = np.tile(rng.integers(0, 2**32, size=112, dtype=np.uint32), (args.members, 1))
    for row in sigs:
        k = int(rng.integers(0, 10))
        row[rng.choice(112, size=k, replace=False)] = rng.integers(0, 2**32, size=k, dtype=np.uint32)
    ids = [f"{i:08d}" for i in range(args.members)]
    t = time.perf_counter()
    for _ in range(args.repeat):
        edges, _, _ = window_edges(ids, sigs, 0.8)
    at_once = (time.perf_counter() - t) / args.repeat * 1000
    t = time.perf_counter()
    for _ in range(max(1, args.repeat // 10)):
        roots = pairwise(ids, sigs, 0.8)
    by_pair = (time.perf_counter() - t) / max(1, args.repeat // 10) * 1000
    forest = {u: r for u, r in edges}
    assert all(forest.get(u, u) == r for u, r in roots.items()), "different components"
    print(f"{args.members} members: window_edges {at_once:.1f} ms, pair by pair {by_pair:.1f} ms, "
          f"{by_pair / at_once:.1f}x")


if __name__ == "__main__":
    main()
