"""Generators for hostile and broken inputs (nothing committed as binaries)."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

MARKER = "SECRET-MARKER-7f3a"  # must never reach logs


def good_html(title: str, paragraphs: list[str] | None = None) -> bytes:
    """A page that passes every filter: natural paragraphs from the demo corpus."""
    from pipelines.demo import pages as demo

    paragraphs = paragraphs or ARTICLES[hash_title(title) % len(ARTICLES)]
    return ("<html><head><title>%s</title></head><body><article><h1>%s</h1>%s</article></body></html>"
            % (title, title, "".join(f"<p>{p}</p>" for p in paragraphs))).encode()


def hash_title(title: str) -> int:
    import zlib

    return zlib.crc32(title.encode())


def _articles() -> list[list[str]]:
    from pipelines.demo import pages as demo

    return [demo.EN_TIDES, demo.EN_BREAD, demo.EN_LIGHTHOUSE, demo.EN_BEES, demo.ZH_PARK, demo.ZH_TEA, demo.ZH_CANAL,
            demo.ZH_BAMBOO, demo.ZH_NIGHT_MARKET]


ARTICLES = _articles()


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
        zh = good_html("大运河", ARTICLES[6]).decode().encode("gb18030")
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


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<mediawiki><siteinfo><sitename>Bomb</sitename></siteinfo>
<page><title>Bomb</title><ns>0</ns><id>1</id><revision><id>1</id><text>&lol9;</text></revision></page>
</mediawiki>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE mediawiki [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<mediawiki><page><title>XXE</title><ns>0</ns><id>1</id><revision><id>1</id><text>&xxe;</text></revision></page>
</mediawiki>
"""


def wiki_page(i: int, title: str) -> str:
    body = "\n\n".join(ARTICLES[i % len(ARTICLES)])
    return (f"<page><title>{title}</title><ns>0</ns><id>{i}</id><revision><id>{i}</id>"
            f"<text xml:space=\"preserve\">'''{title}'''\n\n{body}</text></revision></page>\n")


def truncated_wiki_bz2(path: Path) -> list[str]:
    import bz2

    titles = [f"Harbour {i}" for i in range(1, 6)]
    xml = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"><siteinfo><sitename>T</sitename>'
           '<base>https://t.example/wiki/Main</base></siteinfo>\n' + "".join(wiki_page(i, t) for i, t in
                                                                             enumerate(titles, 1)) + "</mediawiki>\n")
    cut = xml.index("<page>", xml.index("Harbour 4")) + 40  # inside page 5
    path.write_bytes(bz2.compress(xml[:cut].encode()))
    return titles[:4]


def epub_zip_bomb(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                   'full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
        z.writestr("chapter.xhtml", b"<p>" + b"A" * (400 * 1024 * 1024) + b"</p>")


def epub_path_traversal(path: Path) -> None:
    import zipfile

    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
           '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
           '<dc:title>Traversal</dc:title><dc:language>en</dc:language></metadata><manifest>'
           '<item id="c1" href="../../../../tmp/yuliao-evil.xhtml" media-type="application/xhtml+xml"/>'
           '<item id="c2" href="ok.xhtml" media-type="application/xhtml+xml"/></manifest>'
           '<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>')
    para = "".join(f"<p>{p}</p>" for p in ARTICLES[2])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                   'full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("../../../../tmp/yuliao-evil.xhtml", f"<html><body>{para}</body></html>")
        z.writestr("OEBPS/ok.xhtml", f"<html><body>{para}</body></html>")
