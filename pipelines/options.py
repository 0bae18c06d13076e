"""Refuse options nobody understands, instead of letting Beam log "Discarding unparseable args".

``yuliao build`` passes every option it does not know to Beam. Beam itself silently drops what no
``PipelineOptions`` class declares, so ``--recipie demo`` built the default recipe. Here the leftover
arguments are parsed against every registered ``PipelineOptions`` subclass (the same parser Beam
builds in ``PipelineOptions.get_all_options``); whatever is still unknown is an error naming the
closest known option, Yuliao's or Beam's.
"""
from __future__ import annotations

import argparse
import difflib
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner


class OptionError(ValueError):
    """An option no parser knows (the CLI exits 2 with this message)."""


def _subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def beam_parser() -> argparse.ArgumentParser:
    """An argparse parser with the options of every ``PipelineOptions`` subclass imported so far."""
    from apache_beam.options import pipeline_options as po

    parser = po._BeamArgumentParser(allow_abbrev=False)  # noqa: SLF001 - the parser Beam uses itself
    seen: dict[str, type] = {}
    for cls in _subclasses(po.PipelineOptions):
        seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
    for cls in seen.values():
        try:
            cls._add_argparse_args(parser)  # noqa: SLF001
        except argparse.ArgumentError:  # an option declared twice (a subclass of a subclass): the first wins
            pass
    return parser


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    out: set[str] = set()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of options
        out.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                out |= option_strings(sub)
    return out


def closest_option(name: str, known: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return match[0] if match else None


def check_beam_args(args: Sequence[str], yuliao_options: Iterable[str] = ()) -> None:
    """Raise ``OptionError`` for any argument in ``args`` (what the Yuliao parser left) that Beam does
    not declare either. ``yuliao_options`` are offered as suggestions too."""
    if not args:
        return
    parser = beam_parser()
    _known, unknown = parser.parse_known_args(list(args))
    if not unknown:
        return
    options = option_strings(parser) | set(yuliao_options)
    for arg in unknown:
        if arg == "--":
            break
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            hint = closest_option(name, options)
            if hint == name:  # known, but to another command (``annotate --no-card``)
                raise OptionError(f"option {name} does not apply to this command; see its --help")
            raise OptionError(f"unknown option {name}" + (f" (did you mean {hint}?)" if hint else "")
                              + "; see yuliao build --help (Beam options: --runner, --direct_running_mode, …)")
    raise OptionError(f"unexpected argument {unknown[0]!r}")


def local_runner(options: "PipelineOptions") -> "Optional[PipelineRunner]":
    """The runner object for a local multi-process run (``--direct_running_mode multi_processing`` on the
    DirectRunner of a run ``transforms.memory`` found local): ``transforms.local_runner.LeanWorkersRunner``, whose
    SDK worker processes import Beam without its cloud clients and pandas (issue #20). None otherwise: Beam
    creates the runner ``--runner`` names, as usual."""
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    from transforms import memory

    runner = options.view_as(StandardOptions).runner
    if not memory.LOCAL_RUN or (runner is not None and runner.lower() not in memory.LOCAL_RUNNERS):
        return None
    if options.view_as(DirectOptions).direct_running_mode != "multi_processing":
        return None
    from transforms.local_runner import LeanWorkersRunner

    return LeanWorkersRunner()
