"""``yuliao crawl``: seeds → rounds of per-host crawling → WARC files that ``yuliao build`` reads.

Design (kept deliberately simple):

* The frontier lives in the driver. The crawl is a bounded loop of *rounds*; round ``n`` fetches
  every queued URL, then the driver queues the new links one level deeper (up to ``max_depth``)
  and cross-host redirect targets (same depth, one more hop). Links only enter the queue once
  (a ``seen`` set), only on allowed domains and schemes, and only while ``max_pages`` lasts
  (shallowest first, then by URL, so the cut is deterministic). The loop ends when the queue is
  empty, and is hard-bounded by ``(max_depth + 1) × (max_redirects + 1)`` rounds.
* Within a round the URLs are keyed by host name (http, https and any port of a name share one
  pace; robots.txt is still per origin ``scheme://host:port``, RFC 9309). With ``--engine beam``
  (default) each round is a Beam pipeline: ``Create → GroupByKey(host) → CrawlHostFn``, so one
  worker handles one host sequentially (one connection, the politeness gap) while different
  hosts run in parallel on as many workers as the runner gives. ``--engine local`` runs the same
  host tasks on a thread pool (one thread per host, ``crawl.parallel_hosts`` at once); it is what
  the unit tests use. robots.txt is fetched once per origin and handed to later rounds. A redirect
  to the same host name is followed inline (e.g. http → https); to another host it is queued for
  the next round, where that host's own task fetches it under its own robots.txt and pace.
* Output in ``--output``: ``crawl-RRR-<host>-<hash>.warc.gz`` (gzip per record; warcinfo, then a
  request + response pair per archived page, pages sorted by URL), ``crawl-log.jsonl`` (one row
  per URL: outcome, status, depth, final URL, IP, bytes; sorted) and ``crawl-stats.json``.
  The same server content gives the same file names, record order and log, but WARC-Date and
  WARC-Record-ID differ between runs (they are a timestamp and a random UUID by standard).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

from transforms.sources.crawl import (
    CrawlItem,
    HostResult,
    HostTask,
    Resolver,
    domain_allowed,
    normalize_url,
    politeness_key,
    run_host_task,
    system_resolver,
)

log = logging.getLogger("yuliao.crawl")

Executor = Callable[[list[HostTask], object, str, int], list[HostResult]]
OUTPUT_FILES = ("crawl-log.jsonl", "crawl-stats.json")
# the default user agent's contact URL; sites cannot reach the operator through it
PLACEHOLDER_CONTACT = "example.invalid"


def user_agent_warning(user_agent: str) -> str | None:
    """A warning while the user agent still carries the placeholder contact URL (robots.txt etiquette asks for
    a way to reach whoever runs the crawler)."""
    if PLACEHOLDER_CONTACT in user_agent:
        return (f"yuliao: warning: the user agent {user_agent!r} has a placeholder contact URL; set your own with "
                f"--user-agent 'YourBot/1.0 (+https://your.site/bot)' or --set crawl.user_agent=…")
    return None


def read_seeds(path: str) -> list[str]:
    """One URL a line; blank lines and ``#`` comments ignored."""
    with open(path, encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def effective_config(cfg, seeds: Iterable[str]):
    """The recipe's crawl section with ``allowed_domains`` defaulting to the seeds' hosts."""
    if cfg.allowed_domains:
        return cfg
    hosts = sorted({(urlsplit(u).hostname or "").lower() for u in (normalize_url(s) for s in seeds) if u})
    return cfg.model_copy(update={"allowed_domains": tuple(h for h in hosts if h)})


def local_executor(resolver: Resolver = system_resolver, info: dict[str, str] | None = None) -> Executor:
    """Host tasks on a thread pool: one thread per host, never two for the same host."""

    def run(tasks: list[HostTask], cfg, output: str, round_no: int) -> list[HostResult]:
        with ThreadPoolExecutor(max_workers=max(1, min(cfg.parallel_hosts, len(tasks)))) as pool:
            return list(pool.map(lambda t: run_host_task(t, cfg, output, round_no, resolver=resolver, info=info),
                                 tasks))

    return run


def beam_executor(beam_args: list[str], info: dict[str, str] | None = None) -> Executor:
    """Each round is one Beam pipeline: GroupByKey on host, one ``CrawlHostFn`` call per host."""

    def run(tasks: list[HostTask], cfg, output: str, round_no: int) -> list[HostResult]:
        import apache_beam as beam
        from apache_beam.io.filesystems import FileSystems
        from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

        from transforms.sources.crawl import CrawlHostFn

        options = PipelineOptions(beam_args or [])
        if "--runner" not in " ".join(beam_args):
            options.view_as(StandardOptions).runner = "DirectRunner"
        robots = {t.host: {o: r.__dict__ for o, r in t.robots.items()} for t in tasks if t.wait_first}
        elements = [(t.host, (i.url, i.depth, i.hops)) for t in tasks for i in t.items]
        prefix = FileSystems.join(output, "_crawl_tmp", f"round-{round_no:03d}", "results")
        with beam.Pipeline(options=options) as p:
            _ = (
                p
                | "URLs" >> beam.Create(elements)
                | "By host" >> beam.GroupByKey()
                | "Crawl host" >> beam.ParDo(CrawlHostFn(cfg, output, round_no, robots, info or {}))
                | "JSON" >> beam.Map(lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))
                | "Results" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl")
            )
        results: list[HostResult] = []
        matched = FileSystems.match([prefix + "*"])[0].metadata_list
        for meta in sorted(matched, key=lambda m: m.path):
            with FileSystems.open(meta.path) as f:
                for line in f.read().decode("utf-8").splitlines():
                    if line.strip():
                        results.append(HostResult.from_json(json.loads(line)))
        FileSystems.delete([FileSystems.join(output, "_crawl_tmp")])
        return results

    return run


def _clear_previous(output: str) -> None:
    """Remove an earlier crawl's WARC files and logs so stale files never mix with new ones."""
    from apache_beam.io.filesystems import FileSystems

    old = [m.path for m in FileSystems.match([FileSystems.join(output, "crawl-*.warc.gz*")])[0].metadata_list]
    old += [FileSystems.join(output, n) for n in (*OUTPUT_FILES, "_crawl_tmp")
            if FileSystems.exists(FileSystems.join(output, n))]
    if old:
        FileSystems.delete(old)


def run_crawl(seeds: list[str], cfg, output: str, executor: Executor) -> dict:
    """Crawl from ``seeds`` into ``output``; returns the stats also written to ``crawl-stats.json``."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.sinks import write_json_atomic

    if "://" not in output:
        os.makedirs(output, exist_ok=True)
    _clear_previous(output)
    cfg = effective_config(cfg, seeds)
    rows: list[dict] = []
    counts: Counter = Counter()
    frontier: dict[str, CrawlItem] = {}
    seen: set[str] = set()
    for s in seeds:
        url = normalize_url(s)
        reason = None
        if urlsplit(s).scheme.lower() not in cfg.allowed_schemes:
            reason = "bad_scheme"
        elif url is None:
            reason = "bad_url"
        elif not domain_allowed(url, cfg.allowed_domains):
            reason = "offsite"
        if reason:
            rows.append({"round": 0, "url": url or s, "depth": 0, "outcome": reason})
            continue
        if url not in seen:
            seen.add(url)
            frontier[url] = CrawlItem(url, 0)

    budget = cfg.max_pages
    robots: dict[str, dict] = {}  # host name → origin → RobotsState
    warcs: list[str] = []
    max_rounds = (cfg.max_depth + 1) * (cfg.max_redirects + 1)
    round_no = 0
    while frontier and round_no < max_rounds:
        queue = sorted(frontier.values(), key=lambda i: (i.depth, i.url, i.hops))
        take, cut = queue[:budget], queue[budget:]
        for item in cut:
            rows.append({"round": round_no, "url": item.url, "depth": item.depth, "outcome": "max_pages"})
        frontier = {}
        if not take:
            break
        by_host: dict[str, list[CrawlItem]] = defaultdict(list)
        for item in take:
            by_host[politeness_key(item.url)].append(item)
        tasks = [HostTask(h, by_host[h], dict(robots.get(h, {})), wait_first=h in robots) for h in sorted(by_host)]
        for res in sorted(executor(tasks, cfg, output, round_no), key=lambda r: r.host):
            robots[res.host] = res.robots
            if res.warc:
                warcs.append(res.warc)
            for rec in sorted(res.records, key=lambda r: r.url):
                if rec.requested:
                    budget -= 1
                if rec.final_url:
                    seen.add(rec.final_url)
                row = {k: v for k, v in rec.to_json().items() if k != "links" and v not in (None, [])}
                row.update(round=round_no, host=res.host, links=len(rec.links))
                rows.append(row)
                if rec.redirect and rec.redirect not in seen:
                    seen.add(rec.redirect)
                    frontier[rec.redirect] = CrawlItem(rec.redirect, rec.depth, rec.hops)
                for link in rec.links:
                    if link in seen:
                        continue
                    if rec.depth + 1 > cfg.max_depth:
                        counts["links/beyond_depth"] += 1
                    elif urlsplit(link).scheme not in cfg.allowed_schemes or not domain_allowed(link, cfg.allowed_domains):
                        counts["links/offsite"] += 1
                    else:
                        seen.add(link)
                        frontier[link] = CrawlItem(link, rec.depth + 1)
        round_no += 1
    for item in sorted(frontier.values(), key=lambda i: i.url):
        rows.append({"round": round_no, "url": item.url, "depth": item.depth, "outcome": "max_rounds"})

    rows.sort(key=lambda r: (r["round"], r.get("host", ""), r["url"]))
    for origins in robots.values():
        for state in origins.values():
            counts[f"robots/{state.mode}"] += 1
    for r in rows:
        counts[f"outcome/{r['outcome']}"] += 1
    stats = {
        "pages_archived": counts["outcome/fetched"],
        "bytes_archived": sum(r.get("bytes", 0) for r in rows if r["outcome"] == "fetched"),
        "urls": len(rows),
        "rounds": round_no,
        "hosts": len(robots),
        "origins": sum(len(o) for o in robots.values()),
        "warc_files": sorted(warcs),
        "counts": dict(sorted(counts.items())),
        "allowed_domains": list(cfg.allowed_domains),
        "user_agent": cfg.user_agent,
    }
    with FileSystems.create(FileSystems.join(output, "crawl-log.jsonl")) as f:
        f.write("".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    write_json_atomic(FileSystems.join(output, "crawl-stats.json"), stats)
    return stats


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--seeds", required=True, help="file with one seed URL a line (# comments)")
    ap.add_argument("--output", required=True, help="directory for the WARC files and crawl logs")
    ap.add_argument("--recipe", default="default", help="recipe YAML path or built-in name (its `crawl` section)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a recipe key, e.g. --set crawl.delay_seconds=2")
    ap.add_argument("--max-pages", type=int, help="= --set crawl.max_pages=N")
    ap.add_argument("--max-depth", type=int, help="= --set crawl.max_depth=N")
    ap.add_argument("--allow-domain", action="append", default=[], metavar="DOMAIN",
                    help="follow links into this host and its subdomains (repeatable; default: the seeds' hosts)")
    ap.add_argument("--user-agent", help="= --set crawl.user_agent=UA")
    ap.add_argument("--allow-private", action="store_true",
                    help="allow private, loopback and link-local addresses (SSRF guard off; intranet/tests only)")
    ap.add_argument("--engine", choices=("beam", "local"), default="beam",
                    help="beam: each round is a Beam pipeline grouped by host; local: in-process thread per host")
    ap.add_argument("-q", "--quiet", action="store_true")


def cmd_crawl(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipelines.recipe import load_recipe

    overrides = list(args.overrides)
    if args.max_pages is not None:
        overrides.append(f"crawl.max_pages={args.max_pages}")
    if args.max_depth is not None:
        overrides.append(f"crawl.max_depth={args.max_depth}")
    if args.allow_private:
        overrides.append("crawl.allow_private_addresses=true")
    recipe = load_recipe(args.recipe, overrides)
    cfg = recipe.crawl
    update: dict = {}
    if args.user_agent:
        update["user_agent"] = args.user_agent  # set directly: a UA may contain YAML-significant characters
    if args.allow_domain:
        update["allowed_domains"] = tuple(dict.fromkeys(d.strip().lower() for d in args.allow_domain if d.strip()))
    if update:
        cfg = type(cfg).model_validate({**cfg.model_dump(), **update})
    warning = user_agent_warning(cfg.user_agent)
    if warning:
        print(warning, file=sys.stderr)
    seeds = read_seeds(args.seeds)
    if not seeds:
        raise ValueError(f"no seed URLs in {args.seeds}")
    info = {"description": f"yuliao crawl, recipe {recipe.name}"}
    executor = local_executor(info=info) if args.engine == "local" else beam_executor(beam_args, info=info)
    stats = run_crawl(seeds, cfg, args.output, executor)
    if not args.quiet:
        print(f"archived {stats['pages_archived']} pages ({stats['bytes_archived']} bytes) from {stats['hosts']} hosts "
              f"in {stats['rounds']} rounds → {len(stats['warc_files'])} WARC files")
        for k, v in stats["counts"].items():
            if k.startswith("outcome/"):
                print(f"  {k[8:]:<24}{v:>8}")
        print(f"output: {args.output}")
    if not stats["pages_archived"]:
        outcomes = ", ".join(f"{k[8:]} {v}" for k, v in stats["counts"].items() if k.startswith("outcome/"))
        print(f"yuliao: error: nothing was archived ({outcomes or 'no URLs'}); see {args.output}/crawl-log.jsonl",
              file=sys.stderr)
        return 1
    return 0
