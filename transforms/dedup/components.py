"""Connected components over an edge list with Beam: a few Large-Star / Small-Star rounds, then an exact finish.

**Rounds** — Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014). Each operation is one
``GroupByKey`` over edges, so no worker ever holds more than one node's neighbourhood:

* **Large-Star** (edges undirected): for node ``u`` with neighbours ``N(u)`` and ``m = min(N(u) ∪ {u})``,
  emit ``(v, m)`` for every ``v ∈ N(u)`` with ``v > u``.
* **Small-Star** (edges oriented larger → smaller): for ``u`` with smaller neighbours ``S(u)`` and
  ``m = min(S(u) ∪ {u})``, emit ``(v, m)`` for every ``v ∈ S(u) ∪ {u}``, ``v ≠ m``.

Both preserve connectivity; alternating them turns every component into a star centred on its minimum node.
A step *changes* the graph only at a node where Large-Star has ``m < u`` and a larger neighbour, or
Small-Star has more than one smaller neighbour; each step counts those nodes. A round without changes maps
the (distinct) edge set to itself, so every later round is a no-op.

**Why a finish.** Beam graphs cannot loop on data, so rounds are unrolled in the static graph. Each round
costs transforms and stages (graph translation, DoFn validation, bundle set-up) whatever the data size, and
the number of rounds must cover the worst case (a 10k-node chain needs 11) although the duplicate graphs we
measured converged in 2–3 (synthetic Gutenberg-paragraph copies, bench/DEDUP_SCALE.md; web data not yet
measured). So only ``max_rounds`` rounds (recipe, default 4) run distributed, and whatever is not a
star yet is finished exactly:

1. **Shape.** Group the oriented edges by node (a combiner: out-neighbours as a set, in-edges as one flag,
   lifted before the shuffle, so a star centre with many leaves costs one flag per bundle). A node is
   *unsettled* if it has more than one out-neighbour or both in- and out-edges. Edges of a graph with no
   unsettled node are disjoint stars centred on their minima (leaves have one edge, centres none out), i.e.
   converged.
2. **Finish edges** ``F`` = all out-edges of unsettled nodes. Every other node is a *leaf* (one out-edge
   ``u → t``, no in-edge) or a *sink* (no out-edge; ``t = u``). Removing leaves — degree-1 nodes, each
   larger than its neighbour — changes neither connectivity among the remaining nodes nor any component's
   minimum, so union-find over ``F`` alone gives the true minimum of every node in ``F``; a sink outside
   ``F`` only has leaves and is its own minimum.
3. **Resolve.** ``F`` goes to one key and is resolved by union-find (smaller root wins, so a root is the
   component minimum whatever the order); leaves and sinks look their ``t`` up in that mapping (a side input
   holding only the nodes of ``F``; absent → ``t`` itself). Converged stars never leave their node-keyed
   grouping; only unconverged components reach the single worker.

The result equals union-find on the whole input for any ``max_rounds`` ≥ 1; rounds only decide how much goes
to the finish (0 edges once the rounds converged: 2–3 rounds on the bench's synthetic duplicates). The finish
and its side input hold only unconverged components, so a large ``cc_finish_edges`` (adversarial graphs: a path over
sorted ids needs ~log₂ n rounds and keeps most edges unconverged until then) means: raise ``max_rounds``.
``ConnectedComponents``
also returns ``(round index, changes)`` for rounds that changed something and ``(FINISH_KEY, |F|)`` when
``F`` is not empty, all through one ``Flatten`` and one ``CombinePerKey(sum)``. ``components_reference`` is
the same algorithm in plain Python (tests compare both with an independent union-find).

Nodes that only occur on self-loops get no output (as before: they are not on any edge between two nodes).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

COUNTS = "counts"
FINISH = "finish"
FINISH_KEY = -1  # key of the finish-edge count in the counts output (rounds are 0..max_rounds-1)
_IN = None  # in-edge marker in the shape step (node ids are comparable, so never None)


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


def settle_node(u, outs: Iterable, has_in: bool) -> tuple[list[tuple], tuple | None]:
    """(finish edges, None) for an unsettled node, else ([], (u, t)): u's component minimum is t's."""
    outs = sorted(set(outs))
    if len(outs) > 1 or (outs and has_in):
        return [(u, o) for o in outs], None
    return [], (u, outs[0] if outs else u)


def union_find_roots(edges: Iterable[tuple]) -> dict:
    """{node: smallest node of its component} for every node on an edge."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in sorted(parent)}


def _group(pairs: Iterable[tuple]) -> dict:
    g: dict = defaultdict(list)
    for a, b in pairs:
        g[a].append(b)
    return g


class CCResult(NamedTuple):
    roots: dict  # node → component minimum
    changes: list[int]  # per round (len = max_rounds)
    finish_edges: int

    @property
    def rounds(self) -> int:
        """Rounds that changed the graph (cc_rounds)."""
        return sum(1 for n in self.changes if n)


def components_reference(edges: Iterable[tuple], max_rounds: int = 64) -> CCResult:
    """The Beam transform's steps in plain Python: rounds, shape, finish, resolve."""
    cur = [(max(a, b), min(a, b)) for a, b in edges if a != b]
    changes = [0] * max_rounds
    for r in range(max_rounds):
        nxt = []
        for u, nb in _group(cur + [(b, a) for a, b in cur]).items():
            out, ch = large_star_node(u, nb)
            nxt += out
            changes[r] += ch
        cur, nxt = nxt, []
        for u, sm in _group(cur).items():
            out, ch = small_star_node(u, sm)
            nxt += out
            changes[r] += ch
        cur = nxt
        if not changes[r]:
            break  # a round without changes maps the edge set to itself: later rounds are no-ops
    outs, has_in = _group(cur), {m for _, m in cur}
    finish, pending = [], []
    for u in sorted(set(outs) | has_in):
        f, p = settle_node(u, outs.get(u, ()), u in has_in)
        finish += f
        if p:
            pending.append(p)
    froots = union_find_roots(finish)
    roots = {u: froots[u] for u, _ in finish}
    roots.update((u, froots.get(t, t)) for u, t in pending)
    return CCResult(roots, changes, len(finish))


# ------------------------------------------------------------------ Beam
def _both_ways(edge: tuple) -> Iterator[tuple]:
    a, b = edge
    yield a, b
    yield b, a


def _oriented(edge: tuple) -> Iterator[tuple]:
    yield edge


def _ends(edge: tuple) -> Iterator[tuple]:
    """Oriented edge → (source, target) and (target, in-marker) for the shape combiner."""
    v, m = edge
    yield v, m
    yield m, _IN


def _undirected(edge: tuple) -> Iterator[tuple]:
    a, b = edge
    if a != b:
        yield from _both_ways((a, b))


class _StarStep(beam.DoFn):
    """One Large- or Small-Star step; ``emit`` shapes its edges for the next grouping. Change counts leave
    as ``(round, n)`` on the COUNTS output, once per bundle."""

    def __init__(self, large: bool, rnd: int, emit: Callable[[tuple], Iterator[tuple]]):
        self.large, self.rnd, self.emit = large, rnd, emit

    def start_bundle(self) -> None:
        self._changes = 0

    def process(self, element) -> Iterator:
        u, nb = element
        out, changed = (large_star_node if self.large else small_star_node)(u, nb)
        self._changes += changed
        for e in out:
            yield from self.emit(e)

    def finish_bundle(self) -> Iterator:
        if self._changes:
            yield beam.pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value((self.rnd, self._changes)))


class _Shape(beam.CombineFn):
    """Per node: (out-neighbours, has an in-edge)."""

    def create_accumulator(self):
        return set(), False

    def add_input(self, acc, x):
        outs, has_in = acc
        if x is _IN:
            return outs, True
        outs.add(x)
        return outs, has_in

    def merge_accumulators(self, accs):
        outs, has_in = set(), False
        for o, h in accs:
            outs |= o
            has_in = has_in or h
        return outs, has_in

    def extract_output(self, acc):
        return sorted(acc[0]), acc[1]


class _Settle(beam.DoFn):
    """Settled node → (u, t) on the main output; unsettled node → its out-edges on FINISH (counted)."""

    def start_bundle(self) -> None:
        self._finish = 0

    def process(self, element) -> Iterator:
        u, (outs, has_in) = element
        finish, pending = settle_node(u, outs, has_in)
        if pending:
            yield pending
        self._finish += len(finish)
        for e in finish:
            yield beam.pvalue.TaggedOutput(FINISH, e)

    def finish_bundle(self) -> Iterator:
        if self._finish:
            yield beam.pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value((FINISH_KEY, self._finish)))


def _resolve(element) -> Iterator:
    """All finish edges on one key → (node, root) for every node of F; sources also on SOURCES."""
    _, edges = element
    edges = sorted(edges)
    roots = union_find_roots(edges)
    sources = {u for u, _ in edges}
    for node, root in roots.items():
        yield node, root
        if node in sources:
            yield beam.pvalue.TaggedOutput("sources", (node, root))


def _lookup(pending: tuple, froots: dict) -> tuple:
    u, t = pending
    return u, froots.get(t, t)


class ConnectedComponents(beam.PTransform):
    """Edges ``(a, b)`` of comparable node ids → ``(node, component minimum)`` for every node on an edge, and
    ``(round, changes)`` / ``(FINISH_KEY, finish edges)`` sums (only non-zero ones)."""

    def __init__(self, max_rounds: int = 4, label: str = "CC"):
        super().__init__()
        if max_rounds < 1:
            raise ValueError("max_rounds must be >= 1 (the finish alone would take every edge to one worker)")
        self.max_rounds = max_rounds
        self.prefix = label

    def expand(self, edges):
        p, last = self.prefix, self.max_rounds - 1
        cur = edges | f"{p} undirected" >> beam.FlatMap(_undirected)
        counts = []
        for r in range(self.max_rounds):
            ls = (cur
                  | f"{p} r{r} large-star group" >> beam.GroupByKey()
                  | f"{p} r{r} large-star" >> beam.ParDo(_StarStep(True, r, _oriented)).with_outputs(
                      COUNTS, main="edges"))
            ss = (ls.edges
                  | f"{p} r{r} small-star group" >> beam.GroupByKey()
                  | f"{p} r{r} small-star" >> beam.ParDo(_StarStep(False, r, _ends if r == last else _both_ways))
                  .with_outputs(COUNTS, main="edges"))
            cur = ss.edges
            counts += [ls[COUNTS], ss[COUNTS]]
        settled = (cur
                   | f"{p} shape" >> beam.CombinePerKey(_Shape())
                   | f"{p} settle" >> beam.ParDo(_Settle()).with_outputs(FINISH, COUNTS, main="pending"))
        counts.append(settled[COUNTS])
        finished = (settled[FINISH]
                    | f"{p} finish key" >> beam.Map(lambda e: (0, e))
                    | f"{p} finish group" >> beam.GroupByKey()
                    | f"{p} finish" >> beam.FlatMap(_resolve).with_outputs("sources", main="roots"))
        resolved = settled.pending | f"{p} resolve" >> beam.Map(_lookup, beam.pvalue.AsDict(finished.roots))
        members = (resolved, finished.sources) | f"{p} members" >> beam.Flatten()
        totals = (counts
                  | f"{p} counts" >> beam.Flatten()
                  | f"{p} count sums" >> beam.CombinePerKey(sum))
        return members, totals
