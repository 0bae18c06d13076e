"""A polite, SSRF-guarded web crawler core: one host at a time, robots.txt, limits, WARC out.

Beam-free. The unit of work is a ``HostTask`` — every URL of one host name in one crawl round —
handled sequentially by ``HostCrawler`` with one connection at a time and a gap of
``max(recipe delay, robots Crawl-delay / Request-rate)`` between requests (robots.txt, retries and
redirect hops included). robots.txt is fetched and obeyed per origin (``scheme://host:port``). ``pipelines/crawl.py`` drives the rounds (depth by depth) and spreads hosts over Beam
workers with a ``GroupByKey`` on the host (``CrawlHostFn`` at the bottom of this module).

Safety (see notes/crawler-security.md): only http/https; every address the host name resolves to
must be public unless the recipe allows private ones (``ipaddress``), and the connection goes to
the checked address (no second DNS lookup, so no rebinding between check and connect); redirects
are followed by hand with the same checks and a hop limit; bodies are streamed with size and time
limits; other Content-Types are dropped before their body is read.

Plain ``http.client`` is used (no extra dependency, and it lets us pin the connection to the
checked IP while keeping Host/SNI/certificate checks on the real name).
"""
from __future__ import annotations

import email.utils
import hashlib
import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import IO, Callable, Iterable, Optional
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_PORTS = {"http": 80, "https": 443}
# dropped from the stored response headers: http.client has already undone the chunking
_HOP_HEADERS = frozenset({"transfer-encoding"})

Resolver = Callable[[str, int], list[str]]
# refusals decided before any byte is sent; they say nothing about the host's robots.txt
_POLICY_ERRORS = frozenset({"bad_scheme", "bad_url", "dns_error", "blocked_address"})


# ------------------------------------------------------------------------------------------ URLs
def normalize_url(url: str, base: str | None = None) -> Optional[str]:
    """Absolute, fragment-free, percent-encoded URL with a lower-case scheme/host and no default port.

    Returns None for URLs that cannot be parsed or have no host. Any scheme is kept here; the
    scheme policy is applied by the caller so that refusals can be counted.
    """
    try:
        if base is not None:
            url = urljoin(base, url.strip())
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not scheme or not host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not _is_ip(host) else host
    except UnicodeError:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def politeness_key(url: str) -> str:
    """The host name — the unit of politeness (one connection, one pace) and of WARC files.

    http://h, https://h and h:8080 share it: they are usually the same machine.
    """
    host = (urlsplit(url).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


def host_key(url: str) -> str:
    """``scheme://host:port`` — an origin, the unit of robots.txt (RFC 9309 2.3)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{parts.port or DEFAULT_PORTS.get(parts.scheme, 0)}"


def domain_allowed(url: str, domains: Iterable[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    for d in domains:
        d = d.lower().strip(".").strip("[]")
        if host == d or (not _is_ip(host) and host.endswith("." + d)):
            return True
    return False


def host_slug(key: str) -> str:
    """A file-name-safe, collision-free name for a host key."""
    readable = "".join(c if c.isalnum() or c in ".-" else "_" for c in key.split("://", 1)[-1])
    return f"{readable[:80]}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


# ------------------------------------------------------------------------------- address guard
class AddressPolicy:
    """Which resolved IPs may be connected to. Default: only globally routable unicast addresses."""

    def __init__(self, allow_private: bool = False, networks: Iterable[str] = ()):
        self.allow_private = allow_private
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def allows(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(addr.version == n.version and addr in n for n in self.networks):
            return True
        if addr.is_unspecified or addr.is_multicast:
            return False
        return self.allow_private or addr.is_global


def system_resolver(host: str, port: int) -> list[str]:
    """All IPs (v4 and v6) the system resolves ``host`` to, in resolver order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    out: list[str] = []
    for info in infos:
        ip = info[4][0]
        if ip not in out:
            out.append(ip)
    return out


# -------------------------------------------------------------------------------------- fetching
class FetchError(Exception):
    """A fetch that produced no usable response; ``reason`` is a short counted code, never content."""

    def __init__(self, reason: str, ip: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ip = ip


@dataclass
class Response:
    url: str
    ip: str
    status: int
    reason: str
    version: str  # HTTP/1.0 or HTTP/1.1
    headers: list[tuple[str, str]]
    body: bytes
    request_line: str
    request_headers: list[tuple[str, str]]
    fetched_at: str  # WARC-Date, ISO-8601 UTC

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def fetch_once(
    url: str,
    *,
    user_agent: str,
    policy: AddressPolicy,
    allowed_schemes: Iterable[str],
    timeout: float,
    max_seconds: float,
    max_bytes: int,
    content_types: Iterable[str] | None,
    truncate: bool = False,
    resolver: Resolver = system_resolver,
    clock: Callable[[], float] = time.monotonic,
) -> Response:
    """One GET, no redirects followed. Raises FetchError for refusals and failures.

    The body is read only for 2xx answers, in chunks, aborting past ``max_bytes`` or
    ``max_seconds`` (or, with ``truncate``, keeping the first ``max_bytes``); a 2xx with a Content-Type outside ``content_types`` is dropped unread.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in allowed_schemes:
        raise FetchError("bad_scheme")
    host = parts.hostname
    if not host:
        raise FetchError("bad_url")
    port = parts.port or DEFAULT_PORTS[scheme]
    try:
        ips = resolver(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        raise FetchError("dns_error") from None
    if not ips:
        raise FetchError("dns_error")
    if not all(policy.allows(ip) for ip in ips):
        raise FetchError("blocked_address")  # every resolved IP must pass: no "one good one bad" tricks

    deadline = clock() + max_seconds
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rsplit("@", 1)[-1]
    req_headers = [
        ("Host", host_header),
        ("User-Agent", user_agent),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"),
        ("Accept-Encoding", "identity"),
        ("Connection", "close"),
    ]
    last_exc: Exception | None = None
    for ip in ips:
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=min(timeout, max_seconds),
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=min(timeout, max_seconds))
        # connect to the address we checked, keep the name for Host, SNI and certificate checks
        conn._create_connection = (  # type: ignore[attr-defined]
            lambda _addr, t=None, src=None, _ip=ip: socket.create_connection((_ip, port), t, src))
        try:
            try:
                conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
                for k, v in req_headers:
                    conn.putheader(k, v)
                conn.endheaders()
            except (ConnectionError, socket.timeout, OSError) as exc:
                if isinstance(exc, ssl.SSLError):
                    raise FetchError("tls_error", ip) from None
                if isinstance(exc, socket.timeout):
                    raise FetchError("timeout", ip) from None
                last_exc = exc
                conn.close()
                continue  # try the next resolved address
            fetched_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                resp = conn.getresponse()
            except socket.timeout:
                raise FetchError("timeout", ip) from None
            except (http.client.HTTPException, ConnectionError, OSError):
                raise FetchError("bad_response", ip) from None
            headers = [(k, v) for k, v in resp.getheaders()]
            out = Response(url=url, ip=ip, status=resp.status, reason=resp.reason or "",
                           version="HTTP/1.0" if resp.version == 10 else "HTTP/1.1",
                           headers=headers, body=b"", request_line=f"GET {path} HTTP/1.1",
                           request_headers=req_headers, fetched_at=fetched_at)
            if not 200 <= resp.status < 300:
                return out  # redirects and errors: the caller needs status and headers only
            if content_types is not None and media_type(out.header("Content-Type")) not in content_types:
                raise FetchError("content_type", ip)
            declared = out.header("Content-Length")
            if not truncate and declared and declared.strip().isdigit() and int(declared) > max_bytes:
                raise FetchError("too_large", ip)
            chunks: list[bytes] = []
            size = 0
            try:
                while True:
                    left = deadline - clock()
                    if left <= 0:
                        raise FetchError("time_limit", ip)
                    if conn.sock is not None:
                        conn.sock.settimeout(min(timeout, left))
                    chunk = resp.read1(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        if truncate:
                            chunks.append(chunk[: len(chunk) - (size - max_bytes)])
                            break
                        raise FetchError("too_large", ip)
                    chunks.append(chunk)
            except socket.timeout:
                raise FetchError("time_limit" if clock() >= deadline else "timeout", ip) from None
            except (http.client.HTTPException, ConnectionError, OSError):
                raise FetchError("truncated_body", ip) from None
            out.body = b"".join(chunks)
            return out
        finally:
            conn.close()
    if isinstance(last_exc, socket.timeout):
        raise FetchError("timeout")
    raise FetchError("connect_error")


def parse_retry_after(value: str | None, now: float | None = None) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# ---------------------------------------------------------------------------------------- robots
@dataclass
class RobotsState:
    """What we learnt from a host's robots.txt; small and serialisable, carried between rounds.

    ``mode``: ``rules`` (parse ``text``), ``allow_all`` (4xx, RFC 9309 2.3.1.3) or ``disallow_all``
    (5xx, 429 or unreachable after retries, RFC 9309 2.3.1.4; also a blocked address).
    """

    mode: str
    text: str = ""
    status: int = 0
    error: str = ""  # why robots.txt could not be fetched (blocked_address, dns_error, timeout, …)

    def parser(self) -> RobotFileParser:
        rp = RobotFileParser()
        if self.mode == "rules":
            lines = self.text.splitlines()
            rp.parse(lines)
            _fractional_delays(rp, lines)
        else:
            rp.parse([])
            rp.allow_all = self.mode == "allow_all"
            rp.disallow_all = self.mode == "disallow_all"
        return rp


def _fractional_delays(rp: RobotFileParser, lines: list[str]) -> None:
    """urllib.robotparser keeps only integer Crawl-delay values; real files say ``Crawl-delay: 0.5`` too.

    Re-walks the groups exactly as robotparser does and fills in fractional delays it dropped.
    """
    groups: list[tuple[list[str], Optional[float]]] = []
    agents: list[str] = []
    delay: Optional[float] = None
    state = 0
    for raw in lines + [""]:
        if not raw.strip() and state:
            if state == 2:
                groups.append((agents, delay))
            agents, delay, state = [], None, 0
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (x.strip() for x in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if state == 2:
                groups.append((agents, delay))
                agents, delay = [], None
            agents.append(value)
            state = 1
        elif key in ("allow", "disallow", "crawl-delay", "request-rate") and state:
            if key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    pass
            state = 2
    entries = list(rp.entries) + ([rp.default_entry] if rp.default_entry else [])
    for agents, delay in groups:
        if delay is None or delay < 0:
            continue
        for entry in entries:
            if entry.useragents == agents and entry.delay is None:
                entry.delay = delay
                break


def robots_delay(rp: RobotFileParser, user_agent: str) -> float:
    """Crawl-delay, or the gap implied by Request-rate, for our agent (0 when unset)."""
    delays = [0.0]
    try:
        cd = rp.crawl_delay(user_agent)
        if cd is not None:
            delays.append(float(cd))
        rr = rp.request_rate(user_agent)
        if rr is not None and rr.requests > 0:
            delays.append(rr.seconds / rr.requests)
    except (TypeError, ValueError):
        pass
    return max(delays)


# ------------------------------------------------------------------------------------------ links
def extract_links(body: bytes, base_url: str, headers: Iterable[tuple[str, str]] = (), limit: int = 1000) -> list[str]:
    """Normalised http(s) links of an HTML page, honouring <base>, rel=nofollow, meta robots and X-Robots-Tag.

    The body is stored as sent; a gzip/deflate body is inflated here (bounded) only to find links.
    """
    hdr = {k.lower(): v for k, v in headers}
    if "nofollow" in hdr.get("x-robots-tag", "").lower() or "none" in hdr.get("x-robots-tag", "").lower():
        return []
    enc = hdr.get("content-encoding", "").lower().strip()
    if enc in ("gzip", "x-gzip", "deflate"):
        try:
            d = zlib.decompressobj(wbits=47 if "gzip" in enc else 15)
            body = d.decompress(body, 20 * len(body) + 1_000_000)
        except zlib.error:
            return []
    elif enc not in ("", "identity"):
        return []
    if not body.strip():
        return []
    import lxml.html
    from lxml import etree

    try:
        doc = lxml.html.fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    for meta in doc.iter("meta"):
        if (meta.get("name") or "").lower() in ("robots", "yuliaobot"):
            content = (meta.get("content") or "").lower()
            if "nofollow" in content or "none" in content:
                return []
    base = base_url
    for b in doc.iter("base"):
        if b.get("href"):
            base = urljoin(base_url, b.get("href").strip())
            break
    out: list[str] = []
    seen: set[str] = set()
    for el in doc.iter("a", "area"):
        href = el.get("href")
        if not href or "nofollow" in (el.get("rel") or "").lower():
            continue
        url = normalize_url(href, base)
        if url is None or urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        out.append(url)
        if len(out) >= limit:
            break
    return out


# ------------------------------------------------------------------------------------------- WARC
class WarcSink:
    """Writes request + response record pairs (and a leading warcinfo) to one gzipped WARC stream."""

    def __init__(self, stream: IO[bytes], filename: str, info: dict[str, str]):
        from warcio.warcwriter import WARCWriter

        self.writer = WARCWriter(stream, gzip=True, warc_version="1.1")
        self.filename = filename
        self.info = info
        self.records = 0

    def write(self, resp: Response) -> None:
        from io import BytesIO

        from warcio.statusandheaders import StatusAndHeaders

        w = self.writer
        if self.records == 0:
            w.write_record(w.create_warcinfo_record(self.filename, self.info))
        stored = [(k, v) for k, v in resp.headers if k.lower() not in _HOP_HEADERS]
        http_headers = StatusAndHeaders(f"{resp.status} {resp.reason}".strip(), stored, protocol=resp.version)
        common = {"WARC-Date": resp.fetched_at, "WARC-IP-Address": resp.ip.split("%", 1)[0]}
        response = w.create_warc_record(resp.url, "response", payload=BytesIO(resp.body), length=len(resp.body),
                                        http_headers=http_headers, warc_headers_dict=dict(common))
        rid = response.rec_headers.get_header("WARC-Record-ID")
        req_headers = StatusAndHeaders(resp.request_line, resp.request_headers, is_http_request=True)
        request = w.create_warc_record(resp.url, "request", http_headers=req_headers,
                                       warc_headers_dict={**common, "WARC-Concurrent-To": rid})
        w.write_record(request)
        w.write_record(response)
        self.records += 2


# ------------------------------------------------------------------------------------ host crawler
@dataclass(frozen=True)
class CrawlItem:
    url: str
    depth: int
    hops: int = 0  # redirect hops already taken to reach this URL


@dataclass
class FetchRecord:
    """The outcome for one crawl item: ``fetched`` or a short reason (``robots``, ``http_404``, …)."""

    url: str
    depth: int
    outcome: str
    status: int = 0
    final_url: Optional[str] = None
    ip: Optional[str] = None
    bytes: int = 0
    attempts: int = 0
    requested: bool = False  # did any request for this item reach the network
    redirect: Optional[str] = None  # cross-host redirect target, handed back to the driver
    hops: int = 0
    links: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class HostResult:
    host: str
    robots: dict[str, RobotsState]  # origin (scheme://host:port) → robots.txt state
    records: list[FetchRecord]
    warc: Optional[str] = None

    def to_json(self) -> dict:
        return {"host": self.host, "robots": {o: asdict(r) for o, r in sorted(self.robots.items())},
                "warc": self.warc, "records": [r.to_json() for r in self.records]}

    @classmethod
    def from_json(cls, d: dict) -> "HostResult":
        return cls(host=d["host"], robots={o: RobotsState(**r) for o, r in d["robots"].items()}, warc=d.get("warc"),
                   records=[FetchRecord(**r) for r in d["records"]])


class HostCrawler:
    """Crawls the URLs of one host, one request at a time, politely. Not thread-safe: one per host."""

    def __init__(self, cfg, *, resolver: Resolver = system_resolver,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.policy = AddressPolicy(cfg.allow_private_addresses, cfg.allowed_networks)
        self.resolver = resolver
        self.sleep = sleep
        self.clock = clock
        self._not_before = 0.0
        self._last_end: Optional[float] = None
        self.delay = cfg.delay_seconds

    # -- politeness
    def _wait_turn(self) -> None:
        left = self._not_before - self.clock()
        if left > 0:
            self.sleep(left)

    def _done(self) -> None:
        self._last_end = self.clock()
        self._not_before = self._last_end + self.delay

    def _set_delay(self, delay: float) -> None:
        """A new gap (learnt from robots.txt) applies from the previous request on, too."""
        self.delay = delay
        if self._last_end is not None:
            self._not_before = max(self._not_before, self._last_end + delay)

    def _get(self, url: str, content_types: Iterable[str] | None, max_bytes: int, truncate: bool) -> Response:
        self._wait_turn()
        try:
            return fetch_once(url, user_agent=self.cfg.user_agent, policy=self.policy,
                              allowed_schemes=self.cfg.allowed_schemes, timeout=self.cfg.timeout_seconds,
                              max_seconds=self.cfg.max_fetch_seconds, max_bytes=max_bytes, truncate=truncate,
                              content_types=content_types, resolver=self.resolver, clock=self.clock)
        finally:
            self._done()

    def _retry_wait(self, resp: Response | None, attempt: int) -> Optional[float]:
        """Seconds to wait before retry ``attempt`` (0-based), or None to give up (Retry-After over the cap)."""
        wait = self.cfg.backoff_seconds * (2 ** attempt)
        ra = parse_retry_after(resp.header("Retry-After")) if resp is not None else None
        if ra is not None:
            if ra > self.cfg.max_backoff_seconds:
                return None
            wait = max(wait, ra)
        return min(wait, self.cfg.max_backoff_seconds)

    def _get_with_retries(self, url: str, content_types, max_bytes: int, rec: FetchRecord,
                          truncate: bool = False) -> Response:
        attempt = 0
        while True:
            rec.attempts += 1
            try:
                resp = self._get(url, content_types, max_bytes, truncate)
            except FetchError as exc:
                if exc.reason not in _POLICY_ERRORS:
                    rec.requested = True
                rec.ip = exc.ip or rec.ip
                if exc.reason in ("connect_error", "bad_response") and attempt < self.cfg.retries:
                    self._not_before = max(self._not_before, self.clock() + (self._retry_wait(None, attempt) or 0))
                    attempt += 1
                    continue
                raise
            rec.requested = True
            rec.ip = resp.ip
            if resp.status in RETRY_STATUSES and attempt < self.cfg.retries:
                wait = self._retry_wait(resp, attempt)
                if wait is None:
                    raise FetchError("retry_after_too_long", resp.ip)
                self._not_before = max(self._not_before, self.clock() + wait)
                attempt += 1
                continue
            return resp

    # -- robots.txt
    def fetch_robots(self, origin: str) -> RobotsState:
        url = normalize_url(f"{origin}/robots.txt") or f"{origin}/robots.txt"
        rec = FetchRecord(url=url, depth=0, outcome="")
        seen = {url}
        for _hop in range(max(5, self.cfg.max_redirects) + 1):
            try:
                resp = self._get_with_retries(url, None, self.cfg.max_robots_bytes, rec, truncate=True)
            except FetchError as exc:
                return RobotsState("disallow_all", status=0, error=exc.reason)
            if resp.status in REDIRECT_STATUSES:
                target = normalize_url(resp.header("Location") or "", url)
                if target is None or target in seen or urlsplit(target).scheme not in self.cfg.allowed_schemes:
                    return RobotsState("allow_all", status=resp.status)  # unfollowable redirect = unavailable
                seen.add(target)
                url = target
                continue
            if 200 <= resp.status < 300:
                return RobotsState("rules", resp.body.decode("utf-8", "replace"), resp.status)
            if 400 <= resp.status < 500 and resp.status != 429:
                return RobotsState("allow_all", status=resp.status)
            return RobotsState("disallow_all", status=resp.status)
        return RobotsState("allow_all", status=0)  # too many redirects = unavailable (RFC 9309 2.3.1.2)

    # -- a host's URLs
    def _rules(self, origin: str) -> tuple[RobotFileParser, Optional[str]]:
        """robots.txt of an origin (fetched on first use) and the refusal for all its URLs, if any."""
        if origin not in self.robots:
            self.robots[origin] = self.fetch_robots(origin)
        if origin not in self._parsed:
            state = self.robots[origin]
            rp = state.parser()
            delay = robots_delay(rp, self.cfg.user_agent)
            refusal = None
            if state.mode == "disallow_all":
                # RFC 9309 2.3.1.4: robots.txt unreachable (5xx, network) → assume complete disallow
                refusal = state.error if state.error in _POLICY_ERRORS else "robots_unreachable"
            elif delay > self.cfg.max_crawl_delay_seconds:
                refusal = "crawl_delay_too_long"
            else:
                self._set_delay(max(self.delay, delay))  # the slowest pace any origin of this host asks for
            self._parsed[origin] = (rp, refusal)
        return self._parsed[origin]

    def crawl(self, host: str, items: Iterable[CrawlItem], robots: dict[str, RobotsState] | None,
              warc: Callable[[], WarcSink] | None, *, wait_first: bool = False) -> HostResult:
        """Fetch ``items`` (sorted by URL) of one host name. ``warc`` opens the sink lazily on the first page.

        ``robots`` holds what earlier rounds learnt per origin; missing ones are fetched on first use.
        """
        items = sorted(set(items), key=lambda i: (i.url, i.depth, i.hops))
        self.robots = dict(robots or {})
        self._parsed: dict[str, tuple[RobotFileParser, Optional[str]]] = {}
        if wait_first:
            self._done()  # the previous round's last request to this host may have just ended
        for origin in sorted(self.robots):
            self._rules(origin)  # known pace before the first request
        records: list[FetchRecord] = []
        sink: WarcSink | None = None
        for item in items:
            try:
                rec, resp = self._crawl_one(host, item)
            except Exception as exc:  # noqa: BLE001 - one odd page must not lose the host's other pages
                rec, resp = FetchRecord(item.url, item.depth, f"error:{type(exc).__name__}", hops=item.hops), None
            if resp is not None and warc is not None:
                if sink is None:
                    sink = warc()
                sink.write(resp)
            records.append(rec)
        return HostResult(host, self.robots, records, sink.filename if sink is not None else None)

    def _crawl_one(self, host: str, item: CrawlItem) -> tuple[FetchRecord, Optional[Response]]:
        """Fetch one item, following same-host redirects inline; the response is returned only when archived."""
        cfg = self.cfg
        rec = FetchRecord(item.url, item.depth, "", hops=item.hops)
        url, hops, seen = item.url, item.hops, {item.url}
        while True:
            rp, refusal = self._rules(host_key(url))
            if refusal:
                rec.outcome = refusal
                return rec, None
            if not rp.can_fetch(cfg.user_agent, url):
                rec.outcome = "robots"
                return rec, None
            try:
                resp = self._get_with_retries(url, cfg.content_types, cfg.max_bytes, rec)
            except FetchError as exc:
                rec.outcome = exc.reason
                return rec, None
            rec.status = resp.status
            rec.final_url = url
            if resp.status in REDIRECT_STATUSES:
                target = normalize_url(resp.header("Location") or "", url)
                if target is None:
                    rec.outcome = "redirect_bad_location"
                elif urlsplit(target).scheme not in cfg.allowed_schemes:
                    rec.outcome = "redirect_bad_scheme"
                elif not domain_allowed(target, cfg.allowed_domains):
                    rec.outcome = "redirect_offsite"
                elif hops + 1 > cfg.max_redirects or target in seen:
                    rec.outcome = "too_many_redirects"
                elif politeness_key(target) != host:
                    # another host: its own worker fetches it next round, under its robots.txt and pace
                    rec.outcome, rec.redirect, rec.hops = "redirect_deferred", target, hops + 1
                else:
                    hops += 1
                    seen.add(target)
                    url = target
                    rec.hops = hops
                    continue
                return rec, None
            if not 200 <= resp.status < 300:
                rec.outcome = f"http_{resp.status}"
                return rec, None
            rec.outcome = "fetched"
            rec.bytes = len(resp.body)
            rec.links = extract_links(resp.body, url, resp.headers, cfg.max_links_per_page)
            return rec, resp


# ------------------------------------------------------------------------ file + Beam wrappers
@dataclass
class HostTask:
    """Every URL of one host in one round, with what is already known about its robots.txt."""

    host: str  # politeness_key: the host name
    items: list[CrawlItem]
    robots: dict[str, RobotsState] = field(default_factory=dict)
    wait_first: bool = False  # a later round: keep the politeness gap to the previous round's last request


def warc_name(round_no: int, host: str) -> str:
    return f"crawl-{round_no:03d}-{host_slug(host)}.warc.gz"


def run_host_task(task: HostTask, cfg, output: str, round_no: int, *,
                  resolver: Resolver = system_resolver, info: dict[str, str] | None = None) -> HostResult:
    """Crawl one host task, writing its pages to ``output/crawl-RRR-<host>.warc.gz`` (only if any page is kept).

    The file is written as ``….part`` and renamed when complete, so a reader's ``*.warc.gz`` glob
    never sees a half-written file and a retried worker simply rewrites it.
    """
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    name = warc_name(round_no, task.host)
    final = FileSystems.join(output, name)
    part = final + ".part"
    streams: list[IO[bytes]] = []

    def open_sink() -> WarcSink:
        stream = FileSystems.create(part, mime_type="application/warc", compression_type=CompressionTypes.UNCOMPRESSED)
        streams.append(stream)
        meta = {"software": "yuliao-crawl", "format": "WARC File Format 1.1",
                "robots": "obey", "http-header-user-agent": cfg.user_agent, **(info or {})}
        return WarcSink(stream, name, meta)

    crawler = HostCrawler(cfg, resolver=resolver)
    try:
        result = crawler.crawl(task.host, task.items, task.robots, open_sink, wait_first=task.wait_first)
    finally:
        for s in streams:
            s.close()
    if streams:
        if FileSystems.exists(final):
            FileSystems.delete([final])
        FileSystems.rename([part], [final])
        result.warc = name
    return result


try:
    import apache_beam as beam
except ImportError:  # pragma: no cover - Beam is a hard dependency of the project
    beam = None

if beam is not None:
    class CrawlHostFn(beam.DoFn):
        """``(host, [(url, depth, hops), …])`` after GroupByKey → one HostResult as JSON.

        One call handles one host, so all requests to a host come from one worker, one at a time.
        """

        def __init__(self, cfg, output: str, round_no: int, robots: dict[str, dict[str, dict]], info: dict[str, str]):
            self.cfg = cfg
            self.output = output
            self.round_no = round_no
            self.robots = robots
            self.info = info

        def process(self, element):
            host, items = element
            known = self.robots.get(host)
            task = HostTask(host, [CrawlItem(*i) for i in items],
                            {o: RobotsState(**r) for o, r in (known or {}).items()}, wait_first=known is not None)
            yield run_host_task(task, self.cfg, self.output, self.round_no, info=self.info).to_json()
