"""Select's graph has no step that only moves elements where one pass would do: on the FnApiRunner each ``Flatten``
read by another ``Flatten``, and each ``Flatten`` nothing reads, is a fused stage of its own (bench/select_stages.py),
the fixed cost that dominates a re-select (bench/RESULTS.md). ``OneList`` gives what ``ToList`` gave."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines import build
from pipelines.recipe import load_recipe
from transforms.stage import OneList

FLATTEN = "beam:transform:flatten:v1"
KNOWN: set[str] = set()  # CandidateEdges' "near pair stats" Flatten → All stats is gone (its stats stay unflattened)


def _select_graph(overrides=()):
    p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    entries = p | "Store entries" >> beam.Create([("a", {}, False), ("b", {}, False)])
    build.select_phase(p, load_recipe("default", list(overrides)), entries, "/nonexistent/out")
    return p.to_runner_api().components


def _flatten_problems(components) -> list[str]:
    leaves = [t for t in components.transforms.values() if not t.subtransforms]
    readers: dict[str, list] = {}
    for t in leaves:
        for pc in t.inputs.values():
            readers.setdefault(pc, []).append(t)
    problems = []
    for t in leaves:
        if t.spec.urn != FLATTEN:
            continue
        (out,) = t.outputs.values()
        if not readers.get(out):
            problems.append(f"{t.unique_name}: read by nothing")
        problems += [f"{t.unique_name} → {r.unique_name}" for r in readers.get(out, []) if r.spec.urn == FLATTEN]
    return problems


def test_select_flattens_once():
    for overrides in ((), ("sink.rejects_keep_text=true",), ("dedup.near.enabled=false",), ("balance.enabled=false",)):
        components = _select_graph(overrides)
        assert set(_flatten_problems(components)) <= KNOWN, overrides
        names = [t.unique_name for t in components.transforms.values()]
        assert sum(1 for n in names if n.endswith("/Write shard")) == 3  # data, rejects (with sink dead letters), index
        # joins are Flatten + GroupByKey of values their producers tagged: a CoGroupByKey adds a tagging Map per
        # input and a Map after the group, each a step of fixed cost on every run (bench/STEPS.md)
        assert [n for n in names if "CoGroupByKeyImpl" in n] == [], overrides


def test_the_check_sees_a_flatten_of_flattens():
    p = beam.Pipeline()
    a = p | "a" >> beam.Create([1])
    inner = (a, a | "b" >> beam.Map(lambda x: x)) | "inner" >> beam.Flatten()
    _ = (inner, a) | "outer" >> beam.Flatten() | "use" >> beam.Map(print)
    _ = (a, inner) | "unread" >> beam.Flatten()
    assert sorted(_flatten_problems(p.to_runner_api().components)) == [
        "inner → outer", "inner → unread", "unread: read by nothing"]


def test_one_list():
    with beam.Pipeline("DirectRunner") as p:
        empty = p | "e" >> beam.Create([])
        three = p | "t" >> beam.Create([3, 1, 2])
        assert_that(empty | "e list" >> OneList(), equal_to([]), label="no element")
        assert_that(empty | "e always" >> OneList(always=True), equal_to([[]]), label="always")
        assert_that(three | "t list" >> OneList() | beam.Map(sorted), equal_to([[1, 2, 3]]), label="three")
        both = (three, p | "u" >> beam.Create([4])) | "both" >> OneList()
        # ``then``: what reads the list runs in the listing step, and yields its elements
        assert_that(three | "t then" >> OneList(then=lambda xs: [sum(xs), len(xs)]), equal_to([6, 3]), label="then")
        assert_that(empty | "e then" >> OneList(then=lambda xs: [len(xs)]), equal_to([]), label="then, no element")
        assert_that(empty | "e always then" >> OneList(always=True, then=lambda xs: [len(xs)]), equal_to([0]),
                    label="then, always")
        assert_that(both | "sorted" >> beam.Map(sorted), equal_to([[1, 2, 3, 4]]), label="two inputs")
