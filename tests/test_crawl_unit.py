"""Crawler building blocks without a network: URLs, the address guard, robots.txt, links, Retry-After."""
from __future__ import annotations

import email.utils
import time

import pytest

from pipelines.crawl import effective_config
from pipelines.recipe import load_recipe
from transforms.sources.crawl import (
    AddressPolicy,
    FetchError,
    RobotsState,
    domain_allowed,
    extract_links,
    fetch_once,
    host_key,
    normalize_url,
    parse_retry_after,
    robots_delay,
)

UA = "YuliaoBot/0.1 (+https://example.invalid/yuliao)"


def test_normalize_url():
    assert normalize_url("HTTP://Example.COM:80/a/b?x=1#frag") == "http://example.com/a/b?x=1"
    assert normalize_url("https://example.com:443") == "https://example.com/"
    assert normalize_url("https://example.com:8443/") == "https://example.com:8443/"
    assert normalize_url("ch02.html#s1", "http://h/doc/ch01.html") == "http://h/doc/ch02.html"
    assert normalize_url("https://zh.wikipedia.org/wiki/缓存") == "https://zh.wikipedia.org/wiki/%E7%BC%93%E5%AD%98"
    assert normalize_url("http://例子.测试/") == "http://xn--fsqu00a.xn--0zwm56d/"
    assert normalize_url("http://[::1]:8080/x") == "http://[::1]:8080/x"
    assert normalize_url("mailto:a@b.c") is None  # no host
    assert normalize_url("http://h:99999/") is None  # bad port
    assert normalize_url("ftp://h/x") == "ftp://h/x"  # scheme policy is the caller's, so refusals are counted


def test_host_key_and_domains():
    assert host_key("http://a.example.com/x") == "http://a.example.com:80"
    assert host_key("https://a.example.com:8443/x") == "https://a.example.com:8443"
    assert host_key("http://a.example.com/") != host_key("https://a.example.com/")
    assert domain_allowed("http://a.example.com/", ["example.com"])
    assert domain_allowed("http://example.com/", ["example.com"])
    assert not domain_allowed("http://badexample.com/", ["example.com"])
    assert not domain_allowed("http://example.com.evil.net/", ["example.com"])
    assert domain_allowed("http://127.0.0.1:8080/", ["127.0.0.1"])
    assert not domain_allowed("http://127.0.0.2/", ["127.0.0.1"])


@pytest.mark.parametrize("ip", [
    "127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",  # cloud metadata
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1", "::",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0",
])
def test_address_policy_refuses_non_public(ip):
    assert not AddressPolicy().allows(ip)


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"])
def test_address_policy_allows_public(ip):
    assert AddressPolicy().allows(ip)


def test_address_policy_exceptions():
    assert AddressPolicy(allow_private=True).allows("127.0.0.1")
    assert AddressPolicy(allow_private=True).allows("10.0.0.1")
    assert not AddressPolicy(allow_private=True).allows("0.0.0.0")  # never: unspecified / multicast
    only_lo = AddressPolicy(networks=["127.0.0.1/32"])
    assert only_lo.allows("127.0.0.1") and not only_lo.allows("127.0.0.2") and not only_lo.allows("10.0.0.1")


def _fetch(url, resolver, **kw):
    args = dict(user_agent=UA, policy=AddressPolicy(), allowed_schemes=("http", "https"), timeout=1, max_seconds=1,
                max_bytes=1000, content_types=("text/html",), resolver=resolver)
    args.update(kw)
    return fetch_once(url, **args)


def test_fetch_refuses_before_connecting():
    """Every resolved address must pass: a name resolving to one public and one private IP is refused."""
    def mixed(host, port):
        return ["93.184.216.34", "127.0.0.1"]

    for url, reason in [("http://evil.test/", "blocked_address"), ("http://2130706433/", "blocked_address"),
                        ("ftp://evil.test/", "bad_scheme"), ("file:///etc/passwd", "bad_scheme"),
                        ("gopher://evil.test/", "bad_scheme")]:
        with pytest.raises(FetchError) as e:
            _fetch(url, mixed)
        assert e.value.reason == reason, url

    def no_dns(host, port):
        raise OSError("no such host")

    with pytest.raises(FetchError) as e:
        _fetch("http://nowhere.test/", no_dns)
    assert e.value.reason == "dns_error"


def test_integer_host_is_checked_after_resolution():
    from transforms.sources.crawl import system_resolver

    # 2130706433 and 0x7f.1 are 127.0.0.1 to the resolver; the check runs on what it returns
    assert system_resolver("2130706433", 80) == ["127.0.0.1"]
    with pytest.raises(FetchError) as e:
        _fetch("http://2130706433/", system_resolver)
    assert e.value.reason == "blocked_address"


def test_retry_after():
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(date, now=now) <= 31
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0


ROBOTS = """User-agent: *
Disallow: /

User-agent: OtherBot
Crawl-delay: 7
Disallow: /x

User-agent: YuliaoBot
Allow: /private/open.html
Disallow: /private/
Crawl-delay: 0.25
"""


def test_robots_rules_and_fractional_delay():
    rp = RobotsState("rules", ROBOTS).parser()
    assert rp.can_fetch(UA, "http://h/page.html")
    assert rp.can_fetch(UA, "http://h/private/open.html")
    assert not rp.can_fetch(UA, "http://h/private/secret.html")
    assert not rp.can_fetch("SomeBot/2.0", "http://h/page.html")  # the * group
    assert robots_delay(rp, UA) == 0.25  # urllib.robotparser alone drops non-integer delays
    assert robots_delay(rp, "OtherBot/1.0") == 7
    rp2 = RobotsState("rules", "User-agent: *\nRequest-rate: 1/5\n").parser()
    assert robots_delay(rp2, UA) == 5
    assert RobotsState("allow_all").parser().can_fetch(UA, "http://h/x")
    assert not RobotsState("disallow_all").parser().can_fetch(UA, "http://h/x")


def test_extract_links(data_dir):
    import gzip

    html = gzip.decompress((data_dir / "web/debian-reference-zh/zh-cn/index.zh-cn.html.gz").read_bytes())
    links = extract_links(html, "http://h/zh-cn/index.zh-cn.html")
    assert "http://h/zh-cn/ch01.zh-cn.html" in links and "http://h/zh-cn/apa.zh-cn.html" in links
    assert all("#" not in u for u in links) and len(links) == len(set(links))
    assert not any(u.endswith(".css") for u in links)  # <link> is not followed
    page = b"""<html><head><base href="http://other/dir/"></head><body>
      <a href="a.html">a</a><a href="b.html" rel="nofollow">b</a><a href="javascript:x()">j</a>
      <a href="mailto:x@y.z">m</a><a href="ftp://h/f">f</a><area href="/c.html"></body></html>"""
    assert extract_links(page, "http://h/") == ["http://other/dir/a.html", "http://other/c.html"]
    nofollow = b'<html><head><meta name="robots" content="noindex, nofollow"></head><a href="/a">a</a></html>'
    assert extract_links(nofollow, "http://h/") == []
    assert extract_links(page, "http://h/", [("X-Robots-Tag", "nofollow")]) == []
    assert extract_links(page, "http://h/", limit=1) == ["http://other/dir/a.html"]
    assert extract_links(b"", "http://h/") == []


def test_effective_config_defaults_to_seed_hosts():
    cfg = load_recipe().crawl
    assert cfg.user_agent.startswith("YuliaoBot/") and not cfg.allow_private_addresses
    assert set(cfg.allowed_schemes) == {"http", "https"}
    eff = effective_config(cfg, ["https://Zh.Example.org/a", "http://other.test:8080/", "not a url"])
    assert eff.allowed_domains == ("other.test", "zh.example.org")
    keep = cfg.model_copy(update={"allowed_domains": ("x.test",)})
    assert effective_config(keep, ["http://y.test/"]).allowed_domains == ("x.test",)


def test_recipe_refuses_other_schemes():
    from pipelines.recipe import RecipeError

    with pytest.raises(RecipeError, match="crawl.allowed_schemes"):
        load_recipe(None, ["crawl.allowed_schemes=[http, ftp]"])
