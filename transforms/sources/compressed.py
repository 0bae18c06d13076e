"""Decompression by magic bytes and bounded line reading, shared by the readers (no Beam).

Readers open files with ``compression_type="uncompressed"`` and decompress here: file extensions lie
(Wikimedia's ``*.xml-p1p41242.bz2``, ``.json.gz`` that is plain text), and Python's own decompressors
raise ``EOFError`` at a cut-off stream where Beam's ``CompressedFile`` would end silently, so a truncated
download keeps its records before the cut and is counted, never silently short. Every read is bounded
(``read1``), so a decompression bomb never materialises more than one chunk.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import IO, Iterator, Optional

CHUNK = 1 << 20  # 1 MiB of decompressed bytes per read

_GZIP, _BZ2, _XZ, _ZSTD = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"


class Truncated(EOFError):
    """The compressed stream ended before its end-of-stream marker (a cut-off file)."""


def compression_of(head: bytes) -> Optional[str]:
    """``gzip``/``bz2``/``xz``/``zstd`` from a file's first bytes, or None when it is not compressed."""
    if head[:2] == _GZIP:
        return "gzip"
    if head[:3] == _BZ2:
        return "bz2"
    if head[:6] == _XZ:
        return "xz"
    if head[:4] == _ZSTD:
        return "zstd"
    return None


class _Zstd(io.RawIOBase):
    """Multi-frame zstd with truncation detection (zstandard's stream reader ends silently at a cut)."""

    IN = 4096  # small input steps bound the output of one step (zstd reaches ~40,000:1 on runs)

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self._raw, self._new = raw, zstandard.ZstdDecompressor().decompressobj
        self._d, self._pending, self._fed = self._new(), b"", False

    def readable(self) -> bool:
        return True

    def read1(self, n: int = CHUNK) -> bytes:
        while not self._pending:
            chunk = self._raw.read(self.IN)
            if not chunk:
                if self._fed and not self._d.eof:
                    raise Truncated("zstd stream ended before its frame did")
                return b""
            while chunk:
                self._pending += self._d.decompress(chunk)
                self._fed = True
                if self._d.eof:  # next frame (zstd files may hold several)
                    chunk, self._d, self._fed = self._d.unused_data, self._new(), False
                else:
                    chunk = b""
        out, self._pending = self._pending[:n], self._pending[n:]
        return out

    read = read1


def open_decompressed(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` wrapped in the decompressor its magic bytes call for, or buffered as is. The result has
    ``read1`` and raises ``EOFError`` (``Truncated`` for zstd) where a compressed stream is cut off."""
    buf = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    kind = compression_of(buf.peek(6)[:6])
    if kind == "gzip":
        return gzip.GzipFile(fileobj=buf)
    if kind == "bz2":
        return bz2.BZ2File(buf)
    if kind == "xz":
        return lzma.LZMAFile(buf)
    if kind == "zstd":
        return _Zstd(buf)
    return buf


def iter_lines(stream: IO[bytes], offset: int, max_line: int) -> Iterator[tuple[int, Optional[bytes]]]:
    """``(offset, line)`` for each ``\\n``-terminated line of ``stream`` (positions count from ``offset``);
    a line longer than ``max_line`` bytes is read only up to the cap and yields ``(offset, None)``, the rest
    skipped to its newline. A stream that ends without a final newline yields its last line; a cut-off
    compressed stream raises ``Truncated`` (the partial line at the cut is not yielded)."""
    read = getattr(stream, "read1", stream.read)
    pending = b""
    skipping = False  # inside a too-long line: drop bytes up to the next newline
    while True:
        try:
            chunk = read(CHUNK)
        except EOFError as exc:
            raise Truncated(str(exc)) from None
        if not chunk:
            break
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                offset += len(chunk)
                continue
            offset += nl + 1
            chunk, skipping = chunk[nl + 1:], False
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield offset, (line if len(line) <= max_line else None)
            offset += len(line) + 1
        if len(pending) > max_line:
            yield offset, None
            offset += len(pending)
            pending, skipping = b"", True
    if pending:
        yield offset, pending
