"""The DoFn introspection cache (transforms/beam_speedups.py) gives Beam exactly the answers Beam computes."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate

from pipelines.build import build_pipeline
from pipelines.demo.make import write_demo_warc
from pipelines.recipe import load_recipe
from transforms import beam_speedups
from transforms.sources.read import expand_inputs

SPEC = userstate.BagStateSpec("seen", VarIntCoder())


class _Stateful(beam.DoFn):
    def process(self, kv, seen=beam.DoFn.StateParam(SPEC)):
        seen.add(kv[1])
        yield kv[0], sorted(seen.read())


class _Plain(beam.DoFn):
    def process(self, x):
        yield x


def _dofns(p: beam.Pipeline) -> list:
    found = []

    class V(PipelineVisitor):
        def visit_transform(self, node):
            fn = getattr(node.transform, "fn", None)
            if isinstance(fn, beam.DoFn):
                found.append(fn)

    p.visit(V())
    return found


def test_installed_and_idempotent():
    assert beam_speedups.INSTALLED
    patched = userstate.get_dofn_specs
    assert patched.__wrapped__ is not None and beam_speedups.install() and userstate.get_dofn_specs is patched


def test_every_dofn_of_the_full_build_gets_beams_own_answer(tmp_path):
    warc = tmp_path / "in.warc.gz"
    write_demo_warc(str(warc))
    p = beam.Pipeline(options=PipelineOptions(["--runner", "DirectRunner"]))
    build_pipeline(p, load_recipe("default"), expand_inputs([str(warc)]), str(tmp_path / "out"),
                   cache=str(tmp_path / "cache"))
    dofns = _dofns(p) + [_Stateful(), _Plain()]
    assert len(dofns) > 60  # every step of both phases
    original = userstate.get_dofn_specs.__wrapped__
    for fn in dofns:
        for copy in (fn, pickler.loads(pickler.dumps(fn))):  # as a worker gets it
            assert userstate.get_dofn_specs(copy) == original(copy), type(fn)


def test_state_specs_are_not_hidden_and_instances_that_change_methods_are_not_shared():
    assert userstate.is_stateful_dofn(_Stateful()) and not userstate.is_stateful_dofn(_Plain())
    odd = _Plain()
    odd.process = _Stateful().process  # an instance whose method is not its class's: never answered per class
    assert userstate.is_stateful_dofn(odd) and not userstate.is_stateful_dofn(_Plain())
    plain = beam.Map(lambda x: x).fn  # Map wraps a user function: per class only when it takes no state
    stateful = beam.Map(lambda kv, seen=beam.DoFn.StateParam(SPEC): kv).fn
    assert beam_speedups._class_level(plain) and not beam_speedups._class_level(stateful)
    original = userstate.get_dofn_specs.__wrapped__
    assert userstate.get_dofn_specs(plain) == original(plain)
    assert userstate.get_dofn_specs(stateful) == original(stateful)
    assert not userstate.is_stateful_dofn(beam.Map(lambda x: x).fn)
    sets = userstate.get_dofn_specs(_Stateful())
    sets[0].clear()  # a caller changing what it got does not change the next answer
    assert userstate.get_dofn_specs(_Stateful())[0] == {SPEC}


def test_a_stateful_dofn_still_runs_with_state():
    with beam.Pipeline("DirectRunner") as p:
        out = p | beam.Create([("a", 1), ("a", 2), ("b", 3)]) | beam.ParDo(_Stateful())
        assert_that(out | beam.Map(lambda kv: (kv[0], len(kv[1]))) | beam.combiners.Top.PerKey(1),
                    equal_to([("a", [2]), ("b", [1])]))


def test_options_views_are_cached_and_agree_with_beams_own():
    from apache_beam.options.pipeline_options import DebugOptions, StandardOptions, TypeOptions

    assert beam_speedups.VIEWS_INSTALLED and beam_speedups.install_view_cache()
    original = PipelineOptions.view_as.__wrapped__
    opts = PipelineOptions(["--runner", "DirectRunner", "--experiments", "a", "--no_pipeline_type_check"])
    for cls in PipelineOptions.__subclasses__():
        assert opts.view_as(cls) is opts.view_as(cls)  # built once
        assert opts.view_as(cls).get_all_options() == original(opts, cls).get_all_options(), cls
    assert opts.view_as(StandardOptions).runner == "DirectRunner"
    assert opts.view_as(TypeOptions).pipeline_type_check is False
    opts.view_as(DebugOptions).experiments.append("b")  # views share one dict, as Beam's do
    opts.view_as(StandardOptions).streaming = True
    assert original(opts, DebugOptions).experiments == ["a", "b"] and original(opts, StandardOptions).streaming
    other = PipelineOptions(["--runner", "FlinkRunner"])  # views are per options object
    assert other.view_as(StandardOptions).runner == "FlinkRunner"
    assert opts.view_as(StandardOptions).runner == "DirectRunner"
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    before = opts.view_as(GoogleCloudOptions)
    opts._flags.append("--job_name=x")  # flags changed in place: a new view, not the stale one
    after = opts.view_as(GoogleCloudOptions)
    assert after is not before and after is opts.view_as(GoogleCloudOptions)
    assert after._visible_options.job_name == "x" == original(opts, GoogleCloudOptions)._visible_options.job_name


def test_method_arguments_are_beams_own(tmp_path):
    from apache_beam.transforms import core

    assert beam_speedups.ARGS_INSTALLED and beam_speedups.install_args_cache()
    original = core.get_function_args_defaults.__wrapped__
    warc = tmp_path / "in.warc.gz"
    write_demo_warc(str(warc))
    p = beam.Pipeline(options=PipelineOptions(["--runner", "DirectRunner"]))
    build_pipeline(p, load_recipe("default"), expand_inputs([str(warc)]), str(tmp_path / "out"),
                   cache=str(tmp_path / "cache"))
    checked = 0
    for fn in _dofns(p) + [_Stateful(), _Plain()]:
        for copy in (fn, pickler.loads(pickler.dumps(fn))):
            for name in ("process", "start_bundle", "finish_bundle", "setup", "teardown"):
                method = getattr(copy, name)
                for _ in range(2):  # computed, then from the cache
                    assert core.get_function_args_defaults(method) == original(method), (type(fn), name)
                checked += 1
            wrapped = getattr(copy, "_process_argspec_fn", None)  # Map/FlatMap: the user's function
            if wrapped is not None:
                assert core.get_function_args_defaults(wrapped()) == original(wrapped())
    assert checked > 500
    stateful = _Stateful().process
    args, defaults = core.get_function_args_defaults(stateful)
    args.append("x")  # a caller changing what it got does not change the next answer
    assert core.get_function_args_defaults(stateful) == original(stateful) == (["kv", "seen"], [defaults[0]])
    assert userstate.is_stateful_dofn(_Stateful())


class _YieldsAndReturns(beam.DoFn):
    def process(self, x):
        if x:
            return [x]
        yield x


class _OnlyYields(beam.DoFn):
    def process(self, x):
        yield x


def test_yield_and_return_check_is_beams_own_answer_once_per_function(caplog):
    """The cached check answers as Beam's for every DoFn of a real graph and for one that mixes yield and return
    (whose warning Beam still logs on every ParDo), reading each function's source once."""
    import logging

    from apache_beam.transforms import core

    assert beam_speedups.YIELD_CHECK_INSTALLED and beam_speedups.install_yield_check_cache()
    original = core._check_fn_use_yield_and_return.__wrapped__
    for fn_class in (_YieldsAndReturns, _OnlyYields):
        assert core._check_fn_use_yield_and_return(fn_class().process) == original(fn_class().process)
    assert original(_YieldsAndReturns().process) is True and original(_OnlyYields().process) is False
    reads = []
    real_read = core._get_function_body_without_inners  # what Beam's check calls to read a function's source

    def counting(fn):
        reads.append(fn)
        return real_read(fn)

    beam_speedups._YIELD_AND_RETURN.clear()
    core._get_function_body_without_inners = counting
    try:
        with caplog.at_level(logging.WARNING, logger="apache_beam.transforms.core"):
            p = beam.Pipeline()
            pc = p | beam.Create([1])
            for i in range(3):
                pc = pc | f"mixed {i}" >> beam.ParDo(_YieldsAndReturns())
    finally:
        core._get_function_body_without_inners = real_read
    assert len([f for f in reads if getattr(f, "__func__", None) is _YieldsAndReturns.process]) == 1
    assert sum("yield and return" in r.getMessage() for r in caplog.records) == 3
