"""Generators for hostile and broken inputs (nothing committed as binaries)."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

MARKER = "SECRET-MARKER-7f3a"  # must never reach logs


def good_html(title: str, n: int = 40) -> bytes:
    para = f"{title} is a page about rivers, tides and the long history of harbour towns. " * 3
    return ("<html><head><title>%s</title></head><body><article><h1>%s</h1>%s</article></body></html>"
            % (title, title, "".join(f"<p>{para} Paragraph {i}.</p>" for i in range(n)))).encode()


def _response(w: WARCWriter, url: str, body: bytes, headers: list[tuple[str, str]], payload: bytes | None = None):
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    data = payload if payload is not None else body
    w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(data), http_headers=http, length=len(data)))


def hostile_warc(path: Path) -> list[str]:
    """A WARC whose good records surround hostile ones; returns the good URLs."""
    good = []
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        _response(w, "http://good.test/1", good_html("First good page"), [("Content-Type", "text/html")])
        good.append("http://good.test/1")
        # chunked + gzip content-encoding, decoded by the reader
        gz = gzip.compress(good_html("Chunked compressed page"))
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(gz), gz)
        _response(w, "http://good.test/chunked", b"", [("Content-Type", "text/html; charset=utf-8"),
                                                     ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
                  payload=chunked)
        good.append("http://good.test/chunked")
        # content-encoding decompression bomb: 300 MB of zeros in ~300 KB
        bomb = gzip.compress(b"\0" * (300 * 1024 * 1024), compresslevel=9)
        _response(w, "http://bad.test/bomb", b"", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                  payload=bomb)
        # a 50 MB page
        _response(w, "http://bad.test/huge", b"<html><body>" + b"<p>" + MARKER.encode() + b" big</p>" * 2_000_000,
                  [("Content-Type", "text/html")])
        # extreme nesting
        _response(w, "http://bad.test/nested", b"<html><body>" + b"<div>" * 100_000 + MARKER.encode() +
                  b"</div>" * 100_000 + b"</body></html>", [("Content-Type", "text/html")])
        # invalid UTF-8 under a utf-8 label, and a GBK page mislabelled as utf-8
        _response(w, "http://bad.test/invalid-utf8", good_html("Broken bytes") + b"\xff\xfe\xc3\x28 " + MARKER.encode(),
                  [("Content-Type", "text/html; charset=utf-8")])
        zh = ("<html><body><article>" + "<p>这是一个用国标编码保存却被标成UTF-8的中文网页，正文内容足够长，用来检验字符集检测。</p>" * 20
              + "</article></body></html>").encode("gb18030")
        _response(w, "http://good.test/gbk-mislabelled", zh, [("Content-Type", "text/html; charset=utf-8")])
        good.append("http://good.test/gbk-mislabelled")
        # non-HTML payload
        _response(w, "http://bad.test/pdf", b"%PDF-1.4 " + MARKER.encode(), [("Content-Type", "application/pdf")])
        _response(w, "http://good.test/last", good_html("Last good page"), [("Content-Type", "text/html")])
        good.append("http://good.test/last")
    return good


def wrong_length_warc(path: Path) -> None:
    """Uncompressed WARC: a good record, then one whose Content-Length overstates its block."""
    def rec(url: str, body: bytes, declared: int | None = None) -> bytes:
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
        n = declared if declared is not None else len(http)
        return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + url.encode() +
                b"\r\nWARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:" + url[-1].encode() * 8 +
                b"-0000-0000-0000-000000000000>\r\nContent-Type: application/http; msgtype=response\r\n"
                b"Content-Length: " + str(n).encode() + b"\r\n\r\n" + http + b"\r\n\r\n")
    path.write_bytes(rec("http://good.test/a", good_html("Length A")) +
                     rec("http://bad.test/b", good_html("Length B"), declared=10_000_000))


def missing_header_warc(path: Path) -> None:
    """A record without WARC-Type / Content-Length after a good one."""
    good = WARCWriter(io.BytesIO(), gzip=False)
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    _response(w, "http://good.test/m", good_html("Header test"), [("Content-Type", "text/html")])
    del good
    path.write_bytes(buf.getvalue() + b"WARC/1.0\r\nWARC-Target-URI: http://bad.test/x\r\n\r\n" + MARKER.encode() + b"\r\n\r\n")


def truncated_warc(src: Path, dst: Path, fraction: float = 0.6) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])


def binary_with_text_extension(path: Path) -> None:
    import random

    rnd = random.Random(7)
    path.write_bytes(bytes(rnd.randrange(256) for _ in range(20_000)))
