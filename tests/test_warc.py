"""Every WARC in ../shared/data/web/warc is read; every record is a page, a counted skip or a reject."""
from collections import Counter

from pipelines.recipe import load_recipe
from transforms.sources.raw import RawPage, SourceReject
from transforms.sources.warc import read_file
from transforms.stage import Count


def _read(path):
    out = Counter()
    pages = []
    for rec in read_file(str(path), load_recipe("default")):
        if isinstance(rec, RawPage):
            pages.append(rec)
            out["page"] += 1
        elif isinstance(rec, SourceReject):
            out[rec.reason] += 1
        else:
            assert isinstance(rec, Count)
            out[rec.name] += rec.value
    return out, pages


def _count_records(path):
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as f:
        return sum(1 for _ in ArchiveIterator(f, arc2warc=True))


def test_every_shared_warc_is_fully_accounted(data_dir):
    files = sorted((data_dir / "web" / "warc").glob("*.warc*"))
    assert len(files) == 8
    total_pages = 0
    for path in files:
        counts, pages = _read(path)
        assert sum(counts.values()) == _count_records(path), path.name
        assert "warc_unreadable" not in counts and not any(k.startswith("warc_truncated") for k in counts), path.name
        total_pages += len(pages)
        ids = [p.id for p in pages]
        assert len(ids) == len(set(ids))
        for p in pages:
            assert p.content_type in ("text/html", "text/plain") and p.url
    assert total_pages > 80


def test_revisits_and_non_html_are_rejected_with_reasons(data_dir):
    counts, _ = _read(data_dir / "web" / "warc" / "pywb-dupes.warc.gz")
    assert counts["warc_revisit"] > 0
    counts, _ = _read(data_dir / "web" / "warc" / "resiliparse-cc-main-2020-34-excerpt.warc.gz")
    assert counts["skipped/request"] > 0 and counts["page"] > 0


def test_chunked_transfer_encoding_is_decoded(data_dir):
    _, pages = _read(data_dir / "web" / "warc" / "warcio-example-iana.org-chunked.warc")
    assert pages and b"<html" in pages[0].body.lower() and b"\r\n0\r\n" not in pages[0].body[-10:]


def test_ids_are_stable_across_reads(data_dir):
    path = data_dir / "web" / "warc" / "dolma-wget-sample-0000.warc.gz"
    assert [p.id for p in _read(path)[1]] == [p.id for p in _read(path)[1]]
