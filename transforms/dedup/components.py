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

**Rounds shrink.** After every round the edges are *shaped* (a combiner per node: out-neighbours as a set,
in-edges as one flag, lifted before the shuffle, so a star centre with many leaves costs one flag per bundle).
A node is *unsettled* if it has more than one out-neighbour or both in- and out-edges. Every other node is a
*leaf* (one out-edge ``u → t``, no in-edge) or a *sink* (no out-edge; ``t = u``): it leaves the rounds as a
*pending* pair ``(u, t)``. Only ``F_r`` — the out-edges of unsettled nodes — goes on to round ``r + 1``.
Removing leaves (degree-1 nodes, each larger than its neighbour) changes neither connectivity among the
remaining nodes nor any component's minimum, so the components of ``F_r`` have the true minima of their
nodes, and a sink outside ``F_r`` only has leaves and is its own minimum. A converged component (a star)
leaves entirely in the round that made it one, so each round costs work proportional to the edges *not yet
converged*, and a no-op round on converged data moves no data at all (only the fixed per-stage cost).

**Finish and resolve.** Beam graphs cannot loop on data, so ``max_rounds`` rounds are unrolled in the static
graph; what is still unconverged after the last one (``F_last``, counted as ``cc_finish_edges``) is resolved
by union-find on one key (smaller root wins, so a root is the component minimum whatever the order). That
finish holds only components that did not converge in ``max_rounds`` rounds (0 edges on the synthetic
book-text duplicate graphs of ``bench/SCALE.md`` and ``bench/DEDUP_SCALE.md``; web data not yet measured;
adversarial graphs — a path over sorted ids needs ~log₂ n rounds — mean: raise ``max_rounds``, which on
converged data costs only the fixed per-stage overhead). Roots then flow backwards, round by round, through
one ``GroupByKey`` per round keyed by ``t`` (pending pairs ``(u, t)``, the roots of ``F_r``'s nodes, and a
flag for ``F_r``'s sources, each value tagged with its kind by the step that produced it): ``u``'s root is
``t``'s root in ``F_r``, or ``t`` itself when ``t`` is not in ``F_r``. No side input: every step is keyed by node, so no worker holds more than one node's neighbourhood
(the root of one ``t`` and its pending leaves, streamed) except the finish key.

The result equals union-find on the whole input for any ``max_rounds`` ≥ 1.
``ConnectedComponents`` also returns ``(round index, changes)`` for rounds that changed something and
``(FINISH_KEY, |F_last|)`` when ``F_last`` is not empty, all through one ``Flatten`` and one
``CombinePerKey(sum)``. ``components_reference`` is the same algorithm in plain Python (tests compare both
with an independent union-find).

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
    """The Beam transform's steps in plain Python: shrinking rounds, finish, backward resolve."""
    cur = [(max(a, b), min(a, b)) for a, b in edges if a != b]
    changes = [0] * max_rounds
    layers: list[tuple[list[tuple], list]] = []  # per round: (pending pairs, sources of F_r)
    for r in range(max_rounds):
        if not cur:
            break
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
        outs, has_in = _group(nxt), {m for _, m in nxt}
        finish, pending = [], []
        for u in sorted(set(outs) | has_in):
            f, p = settle_node(u, outs.get(u, ()), u in has_in)
            finish += f
            if p:
                pending.append(p)
        layers.append((pending, sorted({u for u, _ in finish})))
        cur = finish
    roots = union_find_roots(cur)  # the finish: every node of F_last
    for pending, sources in reversed(layers):
        nxt_roots = {u: roots.get(t, t) for u, t in pending}
        nxt_roots.update((u, roots[u]) for u in sources)
        roots = nxt_roots
    return CCResult(dict(sorted(roots.items())), changes, len(cur))


# ------------------------------------------------------------------ Beam
# Kinds of the values the resolve groups carry. Each resolve is one ``Flatten`` + ``GroupByKey`` over values tagged by
# the steps that produce them, not a ``CoGroupByKey`` (which adds a tagging ``Map`` per input and a ``Map`` after
# the group: fixed cost on every run, bench/STEPS.md) and which would hold a target's pending leaves as one list.
ROOT, PENDING, SOURCE = "root", "pending", "source"


def _oriented(edge: tuple) -> Iterator[tuple]:
    yield edge


def _ends(edge: tuple) -> Iterator[tuple]:
    """Oriented edge → (source, target) and (target, in-marker) for the shape combiner."""
    v, m = edge
    yield v, m
    yield m, _IN


def undirected_edges(edge: tuple) -> Iterator[tuple]:
    """``(a, b)`` → ``(a, b), (b, a)``; a self-loop → nothing (what ``ConnectedComponents`` groups)."""
    a, b = edge
    if a != b:
        yield a, b
        yield b, a


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
    """Per node: (out-neighbours, has an in-edge). A combiner, lifted before the shuffle, so a star centre with many
    leaves costs one in-flag per bundle, not one per leaf (a runner that hands a worker a group as one list would
    otherwise hold every leaf's marker)."""

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
    """Per node, on the main output the values its round's resolve groups: ``(t, (PENDING, u))`` for a settled
    node ``u`` (pending pair ``(u, t)``), ``(u, (SOURCE, None))`` once for an unsettled one. An unsettled node's
    out-edges go on FINISH already shaped for what reads them: both ways (the next round's Large-Star groups them
    by node), or after the last round on the finish's single key, counted there."""

    def __init__(self, last: bool):
        self.last = last

    def start_bundle(self) -> None:
        self._finish = 0

    def process(self, element) -> Iterator:
        u, (outs, has_in) = element
        finish, pending = settle_node(u, outs, has_in)
        if pending:
            yield pending[1], (PENDING, pending[0])
            return
        yield u, (SOURCE, None)
        self._finish += len(finish)
        for e in finish:
            if self.last:
                yield beam.pvalue.TaggedOutput(FINISH, (0, e))
            else:
                for x in undirected_edges(e):
                    yield beam.pvalue.TaggedOutput(FINISH, x)

    def finish_bundle(self) -> Iterator:
        if self._finish and self.last:
            yield beam.pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value((FINISH_KEY, self._finish)))


class _Finish(beam.DoFn):
    """All finish edges on one key → the root of every node of F_last (union-find), tagged for the last resolve."""

    def process(self, element) -> Iterator:
        _, edges = element
        for node, root in union_find_roots(sorted(edges)).items():
            yield node, (ROOT, root)


class _Resolve(beam.DoFn):
    """One round's resolve group ``t → values``: ``t``'s root in ``F_r`` (ROOT, none when ``t`` is not in ``F_r``:
    then ``t`` is its own root), whether ``t`` is a source of ``F_r`` and its pending leaves ``u`` →
    ``(u, root)`` for every node of round ``r`` (``(t, root)`` first when ``t`` is a source). Read twice, root first,
    so a target's leaves are streamed, never held."""

    def __init__(self, tag: str | None):
        self.tag = tag

    def _emit(self, node, root) -> tuple:
        return (node, root) if self.tag is None else (node, (self.tag, root))

    def process(self, element) -> Iterator:
        t, values = element
        emit = self._emit
        root, source = t, False
        for kind, x in values:
            if kind == ROOT:
                root = x
            elif kind == SOURCE:
                source = True
        if source:
            yield emit(t, root)
        for kind, x in values:
            if kind == PENDING:
                yield emit(x, root)


class ConnectedComponents(beam.PTransform):
    """Edges ``(a, b)`` of comparable node ids → ``(node, component minimum)`` for every node on an edge (with
    ``root_tag``: ``(node, (root_tag, minimum))``, ready to be grouped with other tagged values), and
    ``(round, changes)`` / ``(FINISH_KEY, finish edges)`` sums (only non-zero ones). With ``both_ways``, the
    producer already gives every edge in both directions and no self-loop (``undirected_edges``): one step fewer."""

    def __init__(self, max_rounds: int = 4, label: str = "CC", root_tag: str | None = None, both_ways: bool = False):
        super().__init__()
        if max_rounds < 1:
            raise ValueError("max_rounds must be >= 1 (the finish alone would take every edge to one worker)")
        self.max_rounds = max_rounds
        self.prefix = label
        self.root_tag, self.both_ways = root_tag, both_ways

    def expand(self, edges):
        p = self.prefix
        cur = edges if self.both_ways else edges | f"{p} undirected" >> beam.FlatMap(undirected_edges)
        counts, layers = [], []
        for r in range(self.max_rounds):
            ls = (cur
                  | f"{p} r{r} large-star group" >> beam.GroupByKey()
                  | f"{p} r{r} large-star" >> beam.ParDo(_StarStep(True, r, _oriented)).with_outputs(
                      COUNTS, main="edges"))
            ss = (ls.edges
                  | f"{p} r{r} small-star group" >> beam.GroupByKey()
                  | f"{p} r{r} small-star" >> beam.ParDo(_StarStep(False, r, _ends)).with_outputs(
                      COUNTS, main="edges"))
            last = r == self.max_rounds - 1
            settled = (ss.edges
                       | f"{p} r{r} shape" >> beam.CombinePerKey(_Shape())
                       | f"{p} r{r} settle" >> beam.ParDo(_Settle(last)).with_outputs(FINISH, COUNTS, main="resolve"))
            counts += [ls[COUNTS], ss[COUNTS], *([settled[COUNTS]] if last else [])]  # a settle counts only at the end
            layers.append(settled.resolve)
            cur = settled[FINISH]  # only unconverged edges go on
        roots = (cur
                 | f"{p} finish group" >> beam.GroupByKey()
                 | f"{p} finish" >> beam.ParDo(_Finish()))
        for r in reversed(range(self.max_rounds)):
            roots = ((layers[r], roots)
                     | f"{p} r{r} join roots" >> beam.Flatten()
                     | f"{p} r{r} root group" >> beam.GroupByKey()
                     | f"{p} r{r} resolve" >> beam.ParDo(_Resolve(ROOT if r else self.root_tag)))
        totals = (counts
                  | f"{p} counts" >> beam.Flatten()
                  | f"{p} count sums" >> beam.CombinePerKey(sum))
        return roots, totals
