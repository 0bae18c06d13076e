"""Connected components over an edge list with Beam, by alternating Large-Star / Small-Star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014). Each operation is one
``GroupByKey`` over edges, so no worker ever holds more than one node's neighbourhood:

* **Large-Star** (edges undirected): for node ``u`` with neighbours ``N(u)`` and ``m = min(N(u) ∪ {u})``,
  emit ``(v, m)`` for every ``v ∈ N(u)`` with ``v > u``.
* **Small-Star** (edges oriented larger → smaller): for ``u`` with smaller neighbours ``S(u)`` and
  ``m = min(S(u) ∪ {u})``, emit ``(v, m)`` for every ``v ∈ S(u) ∪ {u}``, ``v ≠ m``.

Both preserve connectivity; alternating them turns every component into a star centred on its minimum
node in O(log² n) rounds (in practice a handful). A step *changes* the graph only at a node where Large-Star
has ``m < u`` and a larger neighbour, or Small-Star has more than one smaller neighbour; each step counts
those nodes. A round with zero changes is a fixed point, so every later round is a no-op.

**Convergence in a static Beam graph.** Beam pipelines cannot loop on data, so the rounds are unrolled up
to ``max_rounds`` (recipe key). Each round's change count is summed; the stats report ``cc_rounds`` (rounds
that changed something, i.e. the rounds actually needed) and ``cc_not_converged`` (1 when the last round
still changed something: a counted warning — some components then stay split into several clusters,
which only keeps more documents, never merges unrelated ones). The cost of a no-op round is one shuffle
of the (already star-shaped, small) edge set. ``components_reference`` is the same algorithm in plain
Python (tests compare both with union-find).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Hashable, Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

CHANGES = "changes"


# ------------------------------------------------------------------ plain Python
def large_star_node(u, neighbours: Iterable) -> tuple[list[tuple], bool]:
    nb = set(neighbours)
    nb.discard(u)
    m = min(nb | {u})
    larger = [v for v in nb if v > u]
    return [(v, m) for v in larger], bool(larger) and m < u


def small_star_node(u, smaller: Iterable) -> tuple[list[tuple], bool]:
    sm = set(smaller)
    sm.discard(u)
    if not sm:
        return [], False
    m = min(sm)
    return [(v, m) for v in sm | {u} if v != m], len(sm) > 1


def _group(pairs: Iterable[tuple]) -> dict:
    g: dict = defaultdict(list)
    for a, b in pairs:
        g[a].append(b)
    return g


def components_reference(edges: Iterable[tuple], max_rounds: int = 64) -> tuple[dict, int]:
    """({node: component minimum}, rounds that changed something); same steps as the Beam transform."""
    cur = [(max(a, b), min(a, b)) for a, b in edges if a != b]
    rounds = 0
    for _ in range(max_rounds):
        changed = 0
        nxt = []
        for u, nb in _group([(a, b) for a, b in cur] + [(b, a) for a, b in cur]).items():
            out, ch = large_star_node(u, nb)
            nxt += out
            changed += ch
        cur, nxt = nxt, []
        for u, sm in _group(cur).items():
            out, ch = small_star_node(u, sm)
            nxt += out
            changed += ch
        cur = nxt
        if not changed:
            break
        rounds += 1
    roots: dict = {}
    for v, m in cur:
        roots[v] = min(roots.get(v, m), m)
        roots.setdefault(m, m)
    return roots, rounds


# ------------------------------------------------------------------ Beam
class _StarStep(beam.DoFn):
    def __init__(self, large: bool):
        self.large = large

    def start_bundle(self) -> None:
        self._changes = 0

    def process(self, element) -> Iterator:
        u, nb = element
        out, changed = (large_star_node if self.large else small_star_node)(u, nb)
        self._changes += changed
        yield from out

    def finish_bundle(self) -> Iterator:
        if self._changes:
            yield beam.pvalue.TaggedOutput(CHANGES, GlobalWindows.windowed_value(self._changes))


def _both_ways(edge: tuple) -> Iterator[tuple]:
    a, b = edge
    yield a, b
    yield b, a


def _membership(edge: tuple) -> Iterator[tuple]:
    v, m = edge
    yield v, m
    yield m, m


class ConnectedComponents(beam.PTransform):
    """Edges ``(a, b)`` of comparable node ids → ``(node, component id)`` for every node on an edge
    (component id = smallest node of the component once converged). Also returns per-round change sums."""

    def __init__(self, max_rounds: int = 16, label: str = "CC"):
        super().__init__()
        self.max_rounds = max_rounds
        self.prefix = label

    def expand(self, edges):
        p = self.prefix
        cur = edges | f"{p} orient" >> beam.Map(lambda e: (max(e), min(e)))
        round_changes = []
        for r in range(self.max_rounds):
            ls = (cur
                  | f"{p} r{r} both ways" >> beam.FlatMap(_both_ways)
                  | f"{p} r{r} large-star group" >> beam.GroupByKey()
                  | f"{p} r{r} large-star" >> beam.ParDo(_StarStep(True)).with_outputs(CHANGES, main="edges"))
            ss = (ls.edges
                  | f"{p} r{r} small-star group" >> beam.GroupByKey()
                  | f"{p} r{r} small-star" >> beam.ParDo(_StarStep(False)).with_outputs(CHANGES, main="edges"))
            cur = ss.edges
            round_changes.append(
                (ls[CHANGES], ss[CHANGES])
                | f"{p} r{r} changes" >> beam.Flatten()
                | f"{p} r{r} sum" >> beam.CombineGlobally(sum))
        members = (cur
                   | f"{p} members" >> beam.FlatMap(_membership)
                   | f"{p} root" >> beam.CombinePerKey(min))
        return members, round_changes
