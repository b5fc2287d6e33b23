"""The archive of past weeks: `python -m build_data archive --from --to --every week`, on CSV data."""
from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import subprocess
import sys

import pytest

from build_data.errors import BuildError
from build_data.fetch.sources import sample
from build_data.archive import week_ends
from tests.conftest import write_csv_folder
from tests.site_fixtures import REPO

day = dt.date.fromisoformat


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Fridays of January 2026; Jan 2 ends the week of the New Year holiday.
        ("2026-01-01", "2026-01-31", ["2026-01-02", "2026-01-09", "2026-01-16", "2026-01-23", "2026-01-30"]),
        # Good Friday 2026 (Apr 3) is an exchange holiday: that week ends on Thursday.
        ("2026-03-30", "2026-04-10", ["2026-04-02", "2026-04-10"]),
        # A week cut by --to ends on the last session up to it.
        ("2026-02-02", "2026-02-11", ["2026-02-06", "2026-02-11"]),
        ("2026-01-03", "2026-01-04", []),  # a weekend: no session
    ],
)
def test_each_week_ends_on_its_last_session(start, end, expected):
    assert [d.isoformat() for d in week_ends(day(start), day(end))] == expected


def test_a_range_backwards_is_an_error():
    with pytest.raises(BuildError, match="before --from"):
        week_ends(day("2026-02-01"), day("2026-01-01"))


@pytest.fixture(scope="module")
def archived(tmp_path_factory, universe):
    """Two weeks of January 2026 from CSV files, archived into a site folder."""
    tmp = tmp_path_factory.mktemp("archive")
    tickers = [s.ticker for s in universe.symbols.values()]
    end = day("2026-01-16")
    macro = sample.sample_macro([m.series for m in universe.macro.values()], end)
    folder = write_csv_folder(tmp / "csv", sample.sample_prices(tickers, end), macro)
    site = tmp / "site"
    args = [sys.executable, "-m", "build_data", "archive", "--from", "2026-01-05", "--to", "2026-01-16",
            "--every", "week", "--source", "csv", "--data-dir", str(folder), "--cache-dir", str(tmp / "cache"),
            "--site-dir", str(site), "--site-url", "https://example.org/smallcaps/"]
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return site, args, run


def test_each_week_is_a_whole_site_as_of_its_last_session(archived):
    site, _, run = archived
    weeks = sorted(p.name for p in (site / "archive").iterdir() if p.is_dir())
    assert weeks == ["2026-01-09", "2026-01-16"]
    for week in weeks:
        root = site / "archive" / week
        snap = json.loads((root / "generated" / "metrics.json").read_text())
        assert snap["as_of"] == week and snap["data_mode"] == "csv"
        for page in ("index.html", "bull-case/index.html", "bear-case/index.html", "watchlist/index.html",
                     "methodology/index.html"):
            html = (root / page).read_text()
            assert f"from data up to <time datetime=\"{week}\">{week}</time>" in html, page
            assert re.search(r'As rebuilt on <time datetime="\d{4}-\d{2}-\d{2}">', html), page
            home, weeks_list = re.search(r'href="([^"]+)">Current site</a> · <a href="([^"]+)">All archived', html).groups()
            here = posixpath.dirname(f"archive/{week}/{page}")
            assert posixpath.normpath(posixpath.join(here, home)) == "."  # the current site's root
            assert posixpath.normpath(posixpath.join(here, weeks_list)) == "archive"
            assert '<meta name="robots" content="noindex">' in html, page
            assert "data-stale-after" not in html, page  # old on purpose: no staleness warning
        # Each week's badges are that week's snapshot, not today's.
        bull = (root / "bull-case" / "index.html").read_text()
        for cid, claim in snap["claims"].items():
            if claim["page"] == "bull":
                badge = {True: "holds", False: "no longer holds", None: "can't be checked"}[claim["holds"]]
                assert re.search(rf'data-claim="{cid}"><span class="badge[^"]*">{badge}<', bull), (week, cid)
        # Out of search and the sitemap.
        assert not (root / "search").exists() and not (root / "sitemap.xml").exists()
        assert 'data-md-component="search"' not in bull
    first, second = (json.loads((site / "archive" / w / "generated" / "metrics.json").read_text()) for w in weeks)
    assert first["metrics"]["rut.close"]["value"] != second["metrics"]["rut.close"]["value"]


def test_the_index_lists_every_week_newest_first(archived):
    site, _, _ = archived
    html = (site / "archive" / "index.html").read_text()
    assert re.findall(r'<a href="(\d{4}-\d{2}-\d{2})/">', html) == ["2026-01-16", "2026-01-09"]
    assert '<a href="../">Back to the current site</a>' in html and 'content="noindex"' in html


def test_weeks_already_archived_are_kept_not_rebuilt(archived):
    site, args, _ = archived
    stamp = (site / "archive" / "2026-01-09" / "index.html").stat().st_mtime_ns
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "kept 2026-01-09: already archived" in run.stderr and "0 week(s) built, 2 kept" in run.stderr
    assert (site / "archive" / "2026-01-09" / "index.html").stat().st_mtime_ns == stamp


def test_archive_refuses_as_of():
    run = subprocess.run([sys.executable, "-m", "build_data", "archive", "--from", "2026-01-05", "--to", "2026-01-16",
                          "--as-of", "2026-01-09", "--source", "sample"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.strip().splitlines()[-1].startswith("error: archive: use --from and --to")


def test_a_site_folder_elsewhere_is_archived_from_its_own_config_and_pages(tmp_path):
    """A site folder whose mkdocs.yml names its theme relative to itself and loads the macros as a
    module: each week builds on a scratch copy (build_data/scratch.py) of that folder."""
    from tests.test_scratch import second_site

    folder = second_site(tmp_path / "sites" / "second")
    site = tmp_path / "built"
    run = subprocess.run([sys.executable, "-m", "build_data", "archive", "--site", str(folder), "--from", "2026-01-12",
                          "--to", "2026-01-16", "--source", "sample", "--cache-dir", str(tmp_path / "cache"),
                          "--site-dir", str(site), "--site-url", "https://example.org/second/"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    week = site / "archive" / "2026-01-16"
    snap = json.loads((week / "data" / "metrics.json").read_text())
    assert snap["as_of"] == "2026-01-16" and "Russell Two Thousand" in json.dumps(snap)
    html = (week / "index.html").read_text()
    assert "A second site" in html and 'from data up to <time datetime="2026-01-16">' in html
    assert not (week / "search").exists() and not (week / "sitemap.xml").exists()
    assert (folder / "pages" / "data" / "metrics.json").read_text() == "{stale"  # the site's own output untouched


def test_the_archive_index_is_titled_with_its_sites_name():
    from build_data.archive import index_html

    week = {"as_of": "2026-01-16", "label": "Fri Jan 16, 2026", "rebuilt_on": "2026-02-01", "data_mode": "live"}
    assert "<title>Archive of past weeks · Chips &amp; co</title>" in index_html([week], "Chips & co")
    assert "<title>Archive of past weeks</title>" in index_html([week])
