"""Caches for three of Beam's per-step costs (Beam 2.77), installed on import: DoFn state/timer introspection,
``PipelineOptions.view_as`` and the argument lists of DoFn methods.

``apache_beam.transforms.userstate.get_dofn_specs`` wraps every method of a DoFn (~30, most inherited) in a
``MethodWrapper``, which runs ``inspect.signature`` on each, and Beam calls it about 14 times per DoFn per
run (ParDo construction, two ``to_runner_api`` passes, the DirectRunner's visitors, each bundle processor). The
answer depends only on the DoFn's methods: each instance is answered once (a ``WeakKeyDictionary``; never pickled
with the DoFn), and instances that change none of their class's methods (``Map``/``FlatMap``: when the wrapped
function takes no state or timer parameter) share one answer per class, so a worker's unpickled copies cost
nothing either. ``python bench/micro_beam_steps.py``: per ParDo 13.6 → 5.6 ms, per Map → GroupByKey → FlatMap
group 33.6 → 18.6 ms; it matters most for small local builds, where Beam's fixed per-step cost dominates. If
Beam's function is not the one this was written for (renamed, moved), nothing is patched.

``PipelineOptions.view_as(cls)`` builds a new argparse parser for ``cls``'s options and parses the flags again on
every call, and Beam calls it two to four times per applied transform (``Pipeline.apply``, result type inference,
every beartype consistency check): ~1,500 calls and ~0.7 of the ~1.1 CPU-s it takes to build select's graph. A
view holds nothing of its own (its values live in the ``_all_options`` dict it shares with the options it was
made from), so one view per (options object, class) is answered again while those options keep the same flags
and dict; options made from ``sys.argv`` (``flags=None``) are not cached.

``core.get_function_args_defaults`` runs ``inspect.signature`` on each method of a DoFn every time Beam builds a
``DoFnSignature`` (ParDo construction, each ``to_runner_api``, each bundle processor: ~4,000 calls on a re-select).
The answer depends only on the function (a bound method's is its function's without the first parameter), so it is
kept per function object (weakly: a ``Map``'s lambda is forgotten with it), for plain functions and bound methods
only; callers get fresh lists.
"""
from __future__ import annotations

import types
import weakref
from typing import Any, Callable

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import core, userstate
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


_VIEWS: "weakref.WeakKeyDictionary[PipelineOptions, dict[type, tuple[tuple, PipelineOptions]]]" = (
    weakref.WeakKeyDictionary())


def _cached_view_as(view_as: Callable) -> Callable:
    def cached(self, cls):
        flags = getattr(self, "_flags", None)
        if flags is None:  # parsed from sys.argv, which may change
            return view_as(self, cls)
        try:
            views = _VIEWS.setdefault(self, {})
        except TypeError:  # not weak-referenceable
            return view_as(self, cls)
        key = tuple(flags)
        hit = views.get(cls)
        if hit is not None and hit[0] == key and hit[1]._all_options is self._all_options:
            return hit[1]
        view = view_as(self, cls)
        views[cls] = (key, view)
        return view

    cached.__wrapped__ = view_as  # type: ignore[attr-defined]
    cached.__doc__ = view_as.__doc__
    return cached


def install_view_cache() -> bool:
    """Patch ``PipelineOptions.view_as`` once per process; True when the cache is in place."""
    current = PipelineOptions.__dict__.get("view_as")
    if current is None or getattr(current, "__code__", None) is None:
        return False
    if getattr(current, "__wrapped__", None) is not None:
        return True
    if current.__code__.co_varnames[:2] != ("self", "cls"):
        return False
    PipelineOptions.view_as = _cached_view_as(current)  # type: ignore[method-assign]
    return True


_ARGS_OF_FUNCTION: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()
_ARGS_OF_METHOD: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()  # by the bound function


def _cached_args_defaults(compute: Callable) -> Callable:
    def get_function_args_defaults(f):
        if isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
            cache, key = _ARGS_OF_METHOD, f.__func__
        elif isinstance(f, types.FunctionType):
            cache, key = _ARGS_OF_FUNCTION, f
        else:  # partials, callable objects, builtins: as Beam computes them
            return compute(f)
        hit = cache.get(key)
        if hit is None:
            args, defaults = compute(f)
            hit = cache[key] = (tuple(args), tuple(defaults))
        return list(hit[0]), list(hit[1])

    get_function_args_defaults.__wrapped__ = compute  # type: ignore[attr-defined]
    get_function_args_defaults.__doc__ = compute.__doc__
    return get_function_args_defaults


def install_args_cache() -> bool:
    """Patch ``core.get_function_args_defaults`` once per process; True when the cache is in place."""
    current = getattr(core, "get_function_args_defaults", None)
    if current is None or getattr(current, "__code__", None) is None:
        return False
    if getattr(current, "__wrapped__", None) is not None:
        return True
    if current.__code__.co_argcount != 1:
        return False
    core.get_function_args_defaults = _cached_args_defaults(current)
    return True


_YIELD_AND_RETURN: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()  # by code object


def install_yield_check_cache() -> bool:
    """Patch ``core._check_fn_use_yield_and_return`` once per process to answer once per code object; True when in
    place. Beam runs it for every ``ParDo`` it builds, and it re-reads and re-tokenises the source of the DoFn's
    ``process`` each time (~0.05 CPU-s per select graph, where many steps share a DoFn class). The answer depends
    only on that source; Beam's own warning still follows every call that answers True."""
    current = getattr(core, "_check_fn_use_yield_and_return", None)
    if current is None or getattr(current, "__code__", None) is None:
        return False
    if getattr(current, "__wrapped__", None) is not None:
        return True

    def check(fn):
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is None:
            return current(fn)
        hit = _YIELD_AND_RETURN.get(code)
        if hit is None:
            hit = _YIELD_AND_RETURN[code] = bool(current(fn))
        return hit

    check.__wrapped__ = current  # type: ignore[attr-defined]
    core._check_fn_use_yield_and_return = check
    return True


INSTALLED = install()
VIEWS_INSTALLED = install_view_cache()
ARGS_INSTALLED = install_args_cache()
YIELD_CHECK_INSTALLED = install_yield_check_cache()

# every process that imports the Beam patches (launcher and workers, via transforms.stage) also drops finished
# bundles' output buffers (issue #20)
from transforms.memory import release_finished_streams  # noqa: E402

RELEASES_STREAMS = release_finished_streams()
