"""The DirectRunner runs Yuliao's pipelines on the in-process FnApiRunner without first trying Prism (which
fetches its binary from GitHub at run time): ``transforms/beam_no_prism.py``."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.runners.direct.direct_runner import SwitchingDirectRunner
from apache_beam.runners.portability import prism_runner
from apache_beam.testing.util import assert_that, equal_to

from transforms import beam_no_prism
from transforms import stage  # noqa: F401 - what every Yuliao process imports before running a pipeline


@pytest.fixture
def prism_calls(monkeypatch) -> list:
    calls: list = []

    def refuse(self, pipeline, options):
        calls.append(pipeline)
        raise RuntimeError("Prism was tried")  # the DirectRunner falls back to the FnApiRunner on any error

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", refuse)
    return calls


def _run() -> None:
    with beam.Pipeline("DirectRunner") as p:
        assert_that(p | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 10), equal_to([10, 20, 30]))


def test_direct_runner_never_tries_prism(prism_calls):
    assert beam_no_prism.INSTALLED and SwitchingDirectRunner._is_interactive is True
    _run()
    assert prism_calls == []


def test_without_the_patch_beam_tries_prism_first(prism_calls, monkeypatch):
    """What the patch prevents (so the test above can fail): Beam's own DirectRunner goes to Prism first."""
    monkeypatch.setattr(SwitchingDirectRunner, "_is_interactive", False)
    _run()
    assert len(prism_calls) == 1
