"""Two patches to Beam 2.77's Python SDK, installed on import in every Yuliao process (launcher and workers).

**A cache for Beam's DoFn state/timer introspection.**
``apache_beam.transforms.userstate.get_dofn_specs`` wraps every method of a DoFn (~30, most inherited) in a
``MethodWrapper``, which runs ``inspect.signature`` on each, and Beam calls it about 14 times per DoFn per
run (ParDo construction, two ``to_runner_api`` passes, the DirectRunner's visitors, each bundle processor). The
answer depends only on the DoFn's methods: each instance is answered once (a ``WeakKeyDictionary``; never pickled
with the DoFn), and instances that change none of their class's methods (``Map``/``FlatMap``: when the wrapped
function takes no state or timer parameter) share one answer per class, so a worker's unpickled copies cost
nothing either. ``python bench/micro_beam_steps.py``: per ParDo 13.6 → 5.6 ms, per Map → GroupByKey → FlatMap
group 33.6 → 18.6 ms; it matters most for small local builds, where Beam's fixed per-step cost dominates. If
Beam's function is not the one this was written for (renamed, moved), nothing is patched.

**Finished bundles release their output buffers** (``release_finished_streams``; issue #20). A bundle's
``DataOutputOperation`` encodes its outputs into a buffered stream (flushed to the runner past 10 MB); at the end of
the bundle ``close()`` hands the buffer's bytes to the runner but keeps the buffer, and Beam caches the bundle
processor, with every output's closed stream, for reuse. On the local runner a bundle is a stage's whole input, so
each output of every stage kept a second copy of its last (up to 10 MB) output until the pipeline ended: on
``bench/vs_datatrove.py``'s input ~85 MB of the build's peak. The stream is dropped once closed; Beam gives the
operation a new one before its next bundle (``BundleProcessor.process_bundle``), so no output changes.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from apache_beam.transforms import userstate
from apache_beam.transforms.core import _DoFnParam

_BY_INSTANCE: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()
_BY_CLASS: dict[type, tuple] = {}
_CLASSES: dict[type, tuple[frozenset, tuple]] = {}  # class -> (its method names, its ``_inspect_<method>`` hooks)


def _class_info(cls: type) -> tuple[frozenset, tuple]:
    if cls not in _CLASSES:
        names = dir(cls)
        _CLASSES[cls] = (frozenset(n for n in names if callable(getattr(cls, n, None))),
                         tuple(n for n in names if n.startswith("_inspect_")))
    return _CLASSES[cls]


def _class_level(dofn) -> bool:
    """True when ``dofn``'s specs are its class's: no instance attribute replaces a method, and the methods an
    instance can redirect through Beam's ``_inspect_<method>`` hook (``Map``/``FlatMap`` wrap a user function
    that way) take no DoFn parameter (state, timer, …) there."""
    methods, hooks = _class_info(type(dofn))
    hooked = {h[len("_inspect_"):] for h in hooks}  # Beam reads these methods' parameters from the hook
    if not methods.intersection(getattr(dofn, "__dict__", ())) <= hooked:
        return False
    for hook in hooks:
        _, defaults = getattr(dofn, hook)()
        if any(isinstance(d, _DoFnParam) for d in defaults):
            return False
    return True


def _cached(compute: Callable[[Any], tuple]) -> Callable[[Any], tuple]:
    def answer(dofn) -> tuple:
        if not _class_level(dofn):
            return compute(dofn)
        cls = type(dofn)
        if cls not in _BY_CLASS:  # every such instance (and unpickled copy) of the class agrees
            _BY_CLASS[cls] = compute(dofn)
        return _BY_CLASS[cls]

    def lookup(dofn) -> tuple:
        try:
            return _BY_INSTANCE[dofn]
        except KeyError:
            specs = _BY_INSTANCE[dofn] = answer(dofn)
            return specs
        except TypeError:  # not weak-referenceable: no instance entry
            return answer(dofn)

    def get_dofn_specs(dofn):
        states, timers = lookup(dofn)
        return set(states), set(timers)  # copies: a caller may change the sets it gets

    get_dofn_specs.__wrapped__ = compute  # type: ignore[attr-defined]
    get_dofn_specs.__doc__ = compute.__doc__
    return get_dofn_specs


def install() -> bool:
    """Patch ``userstate.get_dofn_specs`` once per process; True when the cache is in place."""
    current = getattr(userstate, "get_dofn_specs", None)
    if current is None:
        return False
    if getattr(current, "__wrapped__", None) is not None:
        return True
    if getattr(current, "__code__", None) is None or current.__code__.co_argcount != 1:
        return False
    userstate.get_dofn_specs = _cached(current)
    return True


def release_finished_streams() -> bool:
    """Patch ``DataOutputOperation.finish`` once per process to drop the closed output stream; True when in place."""
    try:
        from apache_beam.runners.worker import bundle_processor
    except ImportError:  # pragma: no cover - Beam's worker package moved
        return False
    cls = getattr(bundle_processor, "DataOutputOperation", None)
    finish = getattr(cls, "finish", None)
    if finish is None:
        return False
    if getattr(finish, "releases_stream", False):
        return True

    def finish_and_release(self) -> None:
        finish(self)
        self.output_stream = None  # process_bundle sets a new stream before the operation's next bundle

    finish_and_release.releases_stream = True  # type: ignore[attr-defined]
    finish_and_release.__wrapped__ = finish  # type: ignore[attr-defined]
    cls.finish = finish_and_release
    return True


INSTALLED = install()
RELEASES_STREAMS = release_finished_streams()
