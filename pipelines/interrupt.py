"""Ctrl-C: one line, exit 130, no worker left behind.

Beam's local runners keep working after the main thread gets ``KeyboardInterrupt``: the in-memory
DirectRunner's worker threads are non-daemon (the interpreter would wait for them to finish the whole
build at exit), and the multi-processing runner's SDK worker processes are children that outlive their
parent when only it received the signal. So after the staging folder is removed (``publish.staged_output``
does that while the exception unwinds), ``exit_interrupted`` terminates every descendant process and
leaves with ``os._exit`` instead of waiting for threads.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

EXIT_INTERRUPTED = 130
_interrupted = False


def _on_sigint(signum, frame) -> None:
    global _interrupted
    _interrupted = True
    logging.disable(logging.CRITICAL)  # the runner logs the interrupt as an ERROR per worker thread: silence it
    raise KeyboardInterrupt


def _unraisable(args) -> None:
    """After Ctrl-C, a ``KeyboardInterrupt`` that landed in a finalizer (a ``ParquetWriter.__del__`` run by the
    garbage collector), where Python can only print it as "Exception ignored in …", is not printed: the signal is
    sent again a moment later, to land where it can unwind the build."""
    if _interrupted and isinstance(args.exc_value, KeyboardInterrupt):
        main = threading.main_thread().ident  # to the main thread: it may be blocked in a wait, which this interrupts
        threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGINT)).start()
        return
    sys.__unraisablehook__(args)


def watch_sigint() -> None:
    """Remember that Ctrl-C came: Beam re-raises the ``KeyboardInterrupt`` as ``RuntimeError("KeyboardInterrupt
    [while running …]")``, so the exception type alone does not tell."""
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _unraisable


def was_interrupted(exc: BaseException | None = None) -> bool:
    return _interrupted or isinstance(exc, KeyboardInterrupt)


def descendants(pid: int | None = None) -> list[int]:
    """Process ids of all descendants of ``pid`` (default: this process), from /proc (Linux); [] elsewhere."""
    pid = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the parenthesised command name
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def terminate_descendants(grace_seconds: float = 3.0) -> None:
    """SIGTERM every descendant process, then SIGKILL those still there after ``grace_seconds``."""
    pids = descendants()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_seconds
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)  # reap our own children
            except ChildProcessError:
                done = pid if not os.path.exists(f"/proc/{pid}") else 0
            if done:
                pids.remove(pid)
        time.sleep(0.05)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def exit_interrupted(message: str) -> None:
    """Print one line, stop every worker process, exit 130 without waiting for runner threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
    print(message, file=sys.stderr, flush=True)
    terminate_descendants()
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a closed pipe; nothing more to say anyway
        pass
    os._exit(EXIT_INTERRUPTED)
