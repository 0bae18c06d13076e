"""The DirectRunner runs pipelines on Beam's in-process FnApiRunner, never on Prism (Beam 2.77), installed on import.

Since Beam 2.6x, ``DirectRunner`` (``SwitchingDirectRunner.run_pipeline``) first tries the Prism runner for every
pipeline Prism supports: it translates the whole pipeline to its proto once more (~0.4 CPU-s for select's graph)
and fetches the Prism binary from GitHub (``apache_beam-v2.77.0-prism-linux-amd64.zip``); only when that fails
(no network: a DNS error) does it fall back to the FnApiRunner. So every local ``yuliao build`` tried a download
at run time, and on a machine with network it would have run on a downloaded Go binary instead of the runner this
project tests and patches (``transforms/beam_fixes.py``; deploy/README.md lists Prism as unsupported).

The only switch Beam reads there is ``SwitchingDirectRunner._is_interactive`` (set by the interactive runner,
which Prism does not support either; nothing else reads it), so it is set on the class. ``--runner PrismRunner``
still runs Prism when asked for by name. If Beam's class is not the one this was written for, nothing is patched.
"""
from __future__ import annotations


def install() -> bool:
    """Make the DirectRunner skip its Prism attempt in this process; True when done."""
    try:
        from apache_beam.runners.direct.direct_runner import SwitchingDirectRunner
    except ImportError:
        return False
    if getattr(SwitchingDirectRunner, "_is_interactive", None) is not False:
        return False
    SwitchingDirectRunner._is_interactive = True
    return True


INSTALLED = install()
