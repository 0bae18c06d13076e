"""A real HTTP test site on 127.0.0.1 (ephemeral port) for crawler tests.

Serves real pages from ../shared/data/web (stored gzipped, served decompressed as text/html) plus
misbehaving endpoints: robots.txt rules, redirects (same host, other host, bad scheme, off-site,
loop, to a blocked address), slow and dripping responses, 503-then-200, 429 with Retry-After,
oversize bodies, non-HTML types, a chunked page and a page that answers late but in full. Every request
is logged with its arrival time, the time just before its last response bytes were written (a lower bound of
when the client finished reading: politeness gaps are measured end-to-start from it), Host and User-Agent.
"""
from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

DEFAULT_ROBOTS = """# test robots.txt
User-agent: *
Disallow: /

User-agent: YuliaoBot
Allow: /private/open.html
Disallow: /private/
Disallow: /zh-cn/ch03.zh-cn.html
Crawl-delay: {delay}
"""


@dataclass
class Hit:
    t: float  # time.monotonic() at arrival
    path: str
    host: str
    user_agent: str
    # time.monotonic() just before the last bytes of a response the client reads in full were written; None for
    # responses it abandons by design (timeouts, size and time limits): their end is not observable here
    last_write: Optional[float] = None


@dataclass
class LocalSite:
    web_dir: Path  # ../shared/data/web
    robots: Optional[str] = DEFAULT_ROBOTS.format(delay=0.05)
    robots_status: int = 200
    slow_seconds: float = 0.8
    lagged_seconds: float = 0.12  # /lagged.html: longer than the tests' Crawl-delay, shorter than their timeout
    big_bytes: int = 1_500_000
    other_port: int = 0  # /redirect/port goes to this port on the same host name
    hits: list[Hit] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle
    def __enter__(self) -> "LocalSite":
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                site._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self, host: str | None = None) -> list[str]:
        with self._lock:
            return [h.path for h in self.hits if host is None or h.host == host]

    # -- helpers
    def _count(self, path: str) -> int:
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            return self._counts[path]

    def page(self, folder: str, name: str) -> Optional[bytes]:
        p = self.web_dir / folder / f"{name}.gz"
        return gzip.decompress(p.read_bytes()) if p.is_file() else None

    @staticmethod
    def _stamp(h: BaseHTTPRequestHandler) -> None:
        """Record the time of a response the client reads in full, before any byte it needs to finish has been
        written: never later than the client's end of it."""
        h.yuliao_hit.last_write = time.monotonic()

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", ctype: str = "text/html; charset=UTF-8",
              headers: dict[str, str] | None = None, complete: bool = True) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if complete:  # before the headers go out: a client may be done with them alone (a redirect, a refused type)
            LocalSite._stamp(h)
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        h.yuliao_hit = Hit(time.monotonic(), path, h.headers.get("Host", ""), h.headers.get("User-Agent", ""))
        with self._lock:
            self.hits.append(h.yuliao_hit)
        small = b"<html><head><title>t</title></head><body><p>%s</p></body></html>"
        try:
            if path == "/robots.txt":
                if self.robots is None:
                    return self._send(h, 404, b"not found", "text/plain")
                return self._send(h, self.robots_status, self.robots.encode(), "text/plain")
            for folder, prefix in (("debian-reference-zh/zh-cn", "/zh-cn/"), ("debian-reference-zh/zh-tw", "/zh-tw/"),
                                   ("gne-zh", "/gne/")):
                if path.startswith(prefix):
                    body = self.page(folder, path[len(prefix):])
                    if body is None:
                        return self._send(h, 404, b"not found", "text/plain")
                    return self._send(h, 200, body)
            port = self.port
            redirects = {
                "/redirect/same": "/zh-cn/pr01.zh-cn.html",
                "/redirect/ftp": "ftp://127.0.0.1/pub/file.txt",
                "/redirect/offsite": "http://example.com/",
                "/redirect/loop": "/redirect/loop",
                "/redirect/blocked": f"http://127.0.0.2:{port}/zh-cn/apa.zh-cn.html",
                "/redirect/alias": f"http://site.test:{port}/gne/tests__163__1.html",
                "/redirect/private": "/private/secret.html",
                "/redirect/port": f"http://127.0.0.1:{self.other_port}/zh-cn/ch08.zh-cn.html",
            }
            if path in redirects:
                return self._send(h, 302, b"", headers={"Location": redirects[path]})
            if path in ("/private/open.html", "/private/secret.html"):
                return self._send(h, 200, small % b"private")
            if path == "/slow.html":  # the client has timed out before this answer
                time.sleep(self.slow_seconds)
                return self._send(h, 200, small % b"slow", complete=False)
            if path == "/lagged.html":  # late, but within the client's timeout: read in full
                time.sleep(self.lagged_seconds)
                return self._send(h, 200, small % b"lagged")
            if path == "/drip.html":
                h.send_response(200)
                h.send_header("Content-Type", "text/html")
                h.send_header("Content-Length", "100000")
                h.end_headers()
                for _ in range(100):
                    h.wfile.write(b"x" * 100)
                    h.wfile.flush()
                    time.sleep(0.05)
                return None
            if path == "/flaky.html":  # 503 once, then the real page
                if self._count(path) == 1:
                    return self._send(h, 503, b"try again", "text/plain")
                return self._send(h, 200, self.page("gne-zh", "tests__163__2.html") or b"")
            if path == "/busy.html":  # 429 with Retry-After once, then the real page
                if self._count(path) == 1:
                    return self._send(h, 429, b"slow down", "text/plain", {"Retry-After": "1"})
                return self._send(h, 200, self.page("gne-zh", "tests__163__3.html") or b"")
            if path == "/down.html":
                return self._send(h, 503, b"down", "text/plain")
            if path == "/greedy.html":
                return self._send(h, 429, b"come back in an hour", "text/plain", {"Retry-After": "3600"})
            if path == "/big-declared.html":
                h.send_response(200)
                h.send_header("Content-Type", "text/html")
                h.send_header("Content-Length", str(self.big_bytes))
                h.end_headers()
                h.wfile.write(b"<html><body>" + b"a" * (self.big_bytes - 12))
                return None
            if path == "/big-stream.html":  # no Content-Length: the client must count while reading
                h.send_response(200)
                h.send_header("Content-Type", "text/html")
                h.end_headers()
                sent = 0
                while sent < self.big_bytes:
                    h.wfile.write(b"<p>" + b"b" * 65530 + b"</p>")
                    sent += 65537
                return None
            if path == "/chunked.html":  # HTTP/1.1 chunked transfer of a real page
                body = self.page("gne-zh", "tests__163__4.html") or b""
                h.protocol_version = "HTTP/1.1"
                h.send_response(200)
                h.send_header("Content-Type", "text/html; charset=utf-8")
                h.send_header("Transfer-Encoding", "chunked")
                h.send_header("Connection", "close")
                h.end_headers()
                for i in range(0, len(body), 4096):
                    part = body[i:i + 4096]
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self._stamp(h)
                h.wfile.write(b"0\r\n\r\n")
                h.close_connection = True
                return None
            if path == "/data.json":
                return self._send(h, 200, b'{"a": 1}', "application/json")
            if path == "/image.png":
                return self._send(h, 200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
            return self._send(h, 404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            return None
