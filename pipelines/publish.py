"""Never lose a corpus: build into a staging folder beside ``--output``, publish only a complete build.

Contract (README "Output contract"):

* A build writes into ``<output>.yuliao-staging-<id>`` (a sibling, so a local publish is a rename on
  one filesystem). ``--output`` is not touched until the new build is complete.
* Publish, local: an absent or empty output is replaced by renaming the staging folder; an earlier
  Yuliao output is renamed aside (``<output>.yuliao-old-<id>``), the staging folder renamed into place,
  and only then is the old one removed. With ``--force`` over a folder that also holds files Yuliao did
  not write, files are moved in one by one and only the previous build's own files (its manifest) that
  the new build does not have are removed; the foreign files stay.
* Publish, object stores (``gs://``, ``s3://``, …, where there is no directory rename): every file is
  copied to its final name, then ``manifest.json`` is written last — it is the commit marker listing the
  files of the build — and only then are the previous build's files that the new manifest does not list
  deleted. A reader that trusts ``manifest.json`` never sees a half-published build.
* A failed or interrupted build removes its staging folder and publishes nothing.
* ``manifest.json`` (relative path → bytes, sorted, no time stamps: reruns give the same bytes) is how a
  later build knows which files are Yuliao's. A folder with other files is refused (``OutputError``,
  exit 2) unless ``--force``; so is an output path that is a file.
"""
from __future__ import annotations

import json
import os
import posixpath
import shutil
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Optional

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "yuliao-output/1"
STAGING_INFIX = ".yuliao-staging-"
OLD_INFIX = ".yuliao-old-"
# what builds before manifest.json wrote; an output with stats.json and only these is recognised as Yuliao's
LEGACY_TOP = ("data", "rejects", "index", "charts", "stats.json", "mixture.json", "README.md", "run.json")


class OutputError(ValueError):
    """The output location cannot be used as asked (the CLI exits 2 with this one-line message)."""


def is_remote(path: str) -> bool:
    return "://" in path


def _join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return posixpath.join(base, *parts)


# ------------------------------------------------------------------ listing and the manifest
def list_files(root: str) -> dict[str, int]:
    """Every file under ``root`` as relative path → size (empty when ``root`` does not exist)."""
    if is_remote(root):
        from apache_beam.io.filesystems import FileSystems

        prefix = root.rstrip("/") + "/"
        try:
            found = FileSystems.match([prefix + "**"])[0].metadata_list
        except Exception:  # noqa: BLE001 - a missing prefix matches nothing on some filesystems
            return {}
        return {m.path[len(prefix):]: m.size_in_bytes for m in found if m.path.startswith(prefix)}
    out: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root).replace(os.sep, "/")] = os.path.getsize(full)
    return out


def read_manifest(root: str) -> Optional[dict]:
    path = _join(root, MANIFEST)
    try:
        if is_remote(root):
            from apache_beam.io.filesystems import FileSystems

            if not FileSystems.exists(path):
                return None
            with FileSystems.open(path, compression_type="uncompressed") as f:
                data = json.loads(f.read())
        else:
            with open(path, "rb") as f:
                data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("files"), dict):
        return None
    return data


def manifest_bytes(files: dict[str, int]) -> bytes:
    body = {"format": MANIFEST_FORMAT, "files": dict(sorted(files.items()))}
    return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Temp name + rename (fsync first locally), so a reader never sees half a file."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(tmp, compression_type="uncompressed") as f:
            f.write(data)
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_manifest(root: str, files: dict[str, int] | None = None) -> dict[str, int]:
    """Write ``root/manifest.json`` listing ``files`` (default: every file now under ``root``)."""
    if files is None:
        files = {k: v for k, v in list_files(root).items() if k != MANIFEST}
    write_bytes_atomic(_join(root, MANIFEST), manifest_bytes(files))
    return files


def record_files(root: str, rel_paths: list[str]) -> None:
    """Add files written into a published output after the build (``yuliao card``) to its manifest."""
    manifest = read_manifest(root)
    if manifest is None:
        return
    present = list_files(root)
    files = dict(manifest["files"])
    for rel in rel_paths:
        if rel in present:
            files[rel] = present[rel]
    write_manifest(root, files)


# ------------------------------------------------------------------ checking an output location
@dataclass
class OutputState:
    path: str
    exists: bool = False
    files: dict[str, int] = field(default_factory=dict)  # everything there now
    owned: dict[str, int] = field(default_factory=dict)  # the previous build's files (manifest or legacy layout)
    foreign: list[str] = field(default_factory=list)


def _ignored(rel: str) -> bool:
    return ".tmp-" in rel.rsplit("/", 1)[-1]


def inspect_output(output: str) -> OutputState:
    """What is at ``output`` now; raises ``OutputError`` when it is a file."""
    if not is_remote(output):
        if os.path.isfile(output) or (os.path.exists(output) and not os.path.isdir(output)):
            raise OutputError(f"--output {output} is a file, not a directory")
        if not os.path.exists(output):
            return OutputState(output)
    files = {k: v for k, v in list_files(output).items() if not _ignored(k)}
    state = OutputState(output, exists=True, files=files)
    manifest = read_manifest(output)
    if manifest is not None:
        owned = set(manifest["files"]) | {MANIFEST}
    elif "stats.json" in files:  # a build from before manifest.json: its known layout
        owned = {k for k in files if k.split("/", 1)[0] in LEGACY_TOP}
    else:
        owned = set()
    state.owned = {k: v for k, v in files.items() if k in owned and k != MANIFEST}
    state.foreign = sorted(k for k in files if k not in owned)
    return state


def check_output(output: str, force: bool = False) -> OutputState:
    """Refuse an output that is a file, or that holds files Yuliao did not write (unless ``force``).
    Touches nothing; call it before reading any input."""
    state = inspect_output(output)
    if state.foreign and not force:
        shown = ", ".join(state.foreign[:3]) + (f" and {len(state.foreign) - 3} more" if len(state.foreign) > 3 else "")
        raise OutputError(f"--output {output} holds {len(state.foreign)} file(s) Yuliao did not write ({shown}); "
                          f"choose an empty or new folder, or pass --force to publish beside them")
    return state


# ------------------------------------------------------------------ staging and publishing
def staging_path(output: str, build_id: str) -> str:
    return output.rstrip("/") + STAGING_INFIX + build_id


def _remove_tree(path: str) -> None:
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        files = list_files(path)
        if files:
            FileSystems.delete([_join(path, k) for k in sorted(files)])
        return
    shutil.rmtree(path, ignore_errors=True)


def _prune_empty_dirs(root: str) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        if dirpath != root and not os.listdir(dirpath):
            os.rmdir(dirpath)


def publish(staging: str, output: str, force: bool = False, object_store: Optional[bool] = None) -> dict[str, int]:
    """Move a complete build from ``staging`` to ``output``; returns the published files.

    ``object_store`` forces the copy-then-manifest protocol on a local path (tests); default: by scheme."""
    state = check_output(output, force)  # again: the folder may have changed while the build ran
    files = {k: v for k, v in list_files(staging).items() if k != MANIFEST and not _ignored(k)}
    remote = is_remote(output) if object_store is None else object_store
    if remote:
        _publish_by_manifest(staging, output, files, state)
    elif not state.exists:
        write_manifest(staging, files)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        os.rename(staging, output)
    elif not state.foreign and _swap(staging, output, files):  # also an empty folder (no files to keep)
        pass
    else:  # --force beside foreign files (or the folder cannot be renamed): file by file, foreign files stay
        for rel in sorted(files):
            dst = os.path.join(output, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(os.path.join(staging, rel), dst)
        write_manifest(output, files)
        for rel in sorted(set(state.owned) - set(files)):
            try:
                os.unlink(os.path.join(output, rel))
            except FileNotFoundError:
                pass
        for top in ("data", "rejects", "charts"):
            if os.path.isdir(os.path.join(output, top)):
                _prune_empty_dirs(os.path.join(output, top))
        shutil.rmtree(staging, ignore_errors=True)
    return files


def _swap(staging: str, output: str, files: dict[str, int]) -> bool:
    """Rename the previous output aside, the staging folder into place, then drop the old one.
    False (nothing changed) when the output folder itself cannot be renamed (a mount point, cwd, …)."""
    write_manifest(staging, files)
    old = output.rstrip("/") + OLD_INFIX + uuid.uuid4().hex[:8]
    try:
        os.rename(output, old)
    except OSError:
        os.unlink(os.path.join(staging, MANIFEST))
        return False
    try:
        os.rename(staging, output)
    except BaseException:
        os.rename(old, output)  # put the previous corpus back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return True


def _publish_by_manifest(staging: str, output: str, files: dict[str, int], state: OutputState) -> None:
    """Object-store protocol: copy every file, write the manifest last, then delete stale files."""
    if is_remote(output):
        from apache_beam.io.filesystems import FileSystems

        for rel in sorted(files):
            FileSystems.copy([_join(staging, rel)], [_join(output, rel)])
    else:
        for rel in sorted(files):
            dst = os.path.join(output, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(staging, rel), dst)
    write_manifest(output, files)  # the commit point
    stale = sorted(set(state.owned) - set(files))
    if stale:
        if is_remote(output):
            from apache_beam.io.filesystems import FileSystems

            FileSystems.delete([_join(output, k) for k in stale])
        else:
            for rel in stale:
                os.unlink(os.path.join(output, rel))
    _remove_tree(staging)


def leftovers(output: str) -> list[str]:
    """Staging folders of builds that were killed (SIGKILL, power loss) and renamed-aside old outputs of a
    publish that died between its two renames: never removed automatically, reported so nothing is lost."""
    if is_remote(output):
        return []
    parent = os.path.dirname(os.path.abspath(output)) or "."
    base = os.path.basename(output.rstrip("/"))
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return sorted(os.path.join(parent, n) for n in names
                  if n.startswith(base + STAGING_INFIX) or n.startswith(base + OLD_INFIX))


@contextmanager
def staged_output(output: str, force: bool = False, object_store: Optional[bool] = None) -> Iterator["Staging"]:
    """``with staged_output(out) as st:`` build into ``st.path``; a clean exit publishes it to ``out``,
    an exception (including KeyboardInterrupt) removes it and leaves ``out`` as it was."""
    check_output(output, force)
    for path in leftovers(output):
        what = "an earlier output set aside by an interrupted publish" if OLD_INFIX in path else \
            "the staging folder of a killed build"
        print(f"yuliao: warning: {path} is {what}; remove it when you no longer need it", file=sys.stderr)
    st = Staging(output, staging_path(output, uuid.uuid4().hex[:12]), force, object_store)
    if not is_remote(st.path):
        os.makedirs(st.path)
    try:
        yield st
    except BaseException:
        _remove_tree(st.path)
        raise
    try:
        st.published = publish(st.path, output, force, object_store)
    except OutputError as exc:  # the folder changed while the build ran: keep the finished build, say where
        raise OutputError(f"{exc}; the new build is complete in {st.path}") from None


@dataclass
class Staging:
    output: str
    path: str
    force: bool = False
    object_store: Optional[bool] = None
    published: dict[str, int] = field(default_factory=dict)
