"""`yuliao crawl` never fails silently: nothing archived → exit 1 saying why; the placeholder user agent warns."""
from __future__ import annotations

from tests.httpserver import LocalSite

UA_OWN = "TestBot/1.0 (+https://yuliao.test/bot)"


def crawl(tmp_path, seeds: list[str], *extra: str) -> int:
    from pipelines.cli import main

    f = tmp_path / "seeds.txt"
    f.write_text("\n".join(seeds) + "\n")
    return main(["crawl", "--seeds", str(f), "--output", str(tmp_path / "out"), "--engine", "local",
                 "--max-depth", "0", "--set", "crawl.delay_seconds=0.01", "-q", *extra])


def test_nothing_archived_exits_1(data_dir, tmp_path, capsys):
    with LocalSite(data_dir / "web") as site:  # loopback without --allow-private: every URL is refused
        rc = crawl(tmp_path, [site.base + "/zh-cn/index.zh-cn.html"], "--user-agent", UA_OWN)
    assert rc == 1
    err = capsys.readouterr().err
    assert "nothing was archived (blocked_address 1)" in err and "warning" not in err


def test_placeholder_user_agent_warns_and_a_real_crawl_exits_0(data_dir, tmp_path, capsys):
    with LocalSite(data_dir / "web") as site:
        rc = crawl(tmp_path, [site.base + "/zh-cn/index.zh-cn.html"], "--allow-private")
    assert rc == 0
    err = capsys.readouterr().err
    assert "placeholder contact URL" in err and "--user-agent" in err
    assert list((tmp_path / "out").glob("*.warc.gz"))
