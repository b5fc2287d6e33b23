"""Prose that cannot go stale: conditional prose on claim states, sections that rest on claims
("under review" when one no longer holds), the build report, --strict-claims, and the issue body."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from build_data import formatting as f
from build_data.prose import review
from tests.site_fixtures import make_site, write_vendor
from tests.test_real_site import REPO, real_site

# On the sample data, the index's RSI cooled below 70 in September 2026: "Momentum is stretched"
# (the bear case's first section) no longer holds by this day.
AFTER_FLIP = "2026-11-20"


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    site, run, snap = real_site(tmp_path_factory.mktemp("claims") / "s", ["--source", "sample", "--as-of", AFTER_FLIP])
    assert run.returncode == 0, run.stdout + run.stderr
    return site, snap, (site.site / "bear-case" / "index.html").read_text()


def notes(page: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="under-review" data-section="([^"]+)"[^>]*>(.*?)</p>', page))


def test_a_section_resting_on_a_flipped_claim_is_under_review(flipped):
    _, snap, page = flipped
    claim = snap["claims"]["overbought"]
    assert claim["holds"] is False  # the premise of this date
    note = notes(page)["Momentum"]
    assert "Under review:" in note and "<em>Momentum is stretched</em> no longer holds" in note
    if claim["since"]:
        assert f'since <time datetime="{claim["since"]}">' in note
    # Placed under its own heading, before the section's text.
    heading = page.index('id="momentum"')
    assert heading < page.index('data-section="Momentum"') < page.index('data-claim="overbought"')


def test_every_section_of_the_bear_case_follows_its_claims(flipped):
    site, snap, page = flipped
    meta = review.front_matter((site.docs / "bear-case.md").read_text())
    assert meta["rests_on"]
    for section, ids in meta["rests_on"].items():
        failing = [c for c in ids if snap["claims"][c]["holds"] is False]
        assert (section in notes(page)) == bool(failing), section


def test_conditional_prose_follows_the_claim_state(flipped):
    _, snap, page = flipped
    holds = snap["claims"]["overbought"]["holds"]
    assert ("The index is not overbought now" in page) == (holds is False)
    assert ("At this level the index is overbought" in page) == (holds is True)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "build_data", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_the_build_report_lists_sections_under_review_and_strict_claims_fails(tmp_path):
    args = ["--source", "sample", "--as-of", AFTER_FLIP, "--cache-dir", str(tmp_path / "c")]
    run = cli(*args, "--out", str(tmp_path / "out"))
    assert run.returncode == 0
    assert "under review: bear-case.md, section 'Momentum': 'overbought' (Momentum is stretched)" \
           " no longer holds" in run.stderr
    strict = cli(*args, "--out", str(tmp_path / "strict"), "--strict-claims")
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines()[-1].startswith("error: ") and "--strict-claims" in strict.stderr
    assert not (tmp_path / "strict" / "metrics.json").exists()
    issues = json.loads(cli("review", "--out", str(tmp_path / "out")).stdout)
    by_claim = {i["claim"]: i for i in issues}
    assert "Momentum is stretched (overbought) no longer holds" in by_claim["overbought"]["title"]
    assert '- `docs/bear-case.md`, section "Momentum"' in by_claim["overbought"]["body"]


def test_issue_body_names_every_section_resting_on_the_claim():
    reviews = [review.Review("bear-case.md", "Momentum is stretched", "overbought", "Momentum is stretched", "2026-02-02"),
               review.Review("index.md", "Why now", "overbought", "Momentum is stretched", "2026-02-02"),
               review.Review("bear-case.md", "Thin", "thin_volume", "The rally lacks volume", None)]
    issues = review.issues(reviews)
    assert [i["title"] for i in issues] == ["Momentum is stretched (overbought) no longer holds since 2026-02-02",
                                            "The rally lacks volume (thin_volume) no longer holds"]
    assert issues[0]["body"].splitlines()[:4] == [
        "The claim *Momentum is stretched* (`overbought`) no longer holds since 2026-02-02. Revisit:", "",
        '- `docs/bear-case.md`, section "Momentum is stretched"', '- `docs/index.md`, section "Why now"']


@pytest.fixture(scope="module")
def vendor(tmp_path_factory) -> Path:
    return write_vendor(tmp_path_factory.mktemp("vendor"))


@pytest.mark.parametrize(("rests_on", "expect"), [
    ('{"Leadership": [rsi_hto]}', ["unknown claim 'rsi_hto'", "rsi_hot"]),
    ('{"Leadershp": [rsi_hot]}', ["no section titled 'Leadershp'", "'Leadership'"]),
])
def test_a_wrong_rests_on_fails_the_strict_build_with_the_closest_names(tmp_path, vendor, rests_on, expect):
    page = f"---\ndescription: x\nrests_on: {rests_on}\n---\n# Bull\n\n## Leadership\n\nText.\n"
    site = make_site(tmp_path / "site", vendor=vendor, pages={"bull-case.md": page})
    run = site.build()
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "bull-case.md" in out
    for needle in expect:
        assert needle in out, out[-2000:]


def test_a_failing_claim_in_a_fixture_page_is_under_review(tmp_path, vendor):
    from tests.site_fixtures import load_fixture_snapshot

    data = load_fixture_snapshot()
    cid = next(c for c, v in data["claims"].items() if v["holds"] is False)
    data["claims"][cid]["since"] = None  # a snapshot that does not know since when
    page = f"---\ndescription: x\nrests_on: {{\"Leadership\": [{cid}]}}\n---\n# Bull\n\n## Leadership\n\nText.\n"
    site = make_site(tmp_path / "site", vendor=vendor, snapshot=data, pages={"bull-case.md": page})
    run = site.build()
    assert run.returncode == 0, run.stderr[-2000:]
    note = notes((site.site / "bull-case" / "index.html").read_text())["Leadership"]
    assert "no longer holds." in note and "since" not in note


def test_naked_numbers_are_named_with_page_line_and_macro(tmp_path, vendor):
    page = ("---\ndescription: x\n---\n# Bull\n\nThe breakout at 2,500 matters; RSI-14 is 71.2 today.\n\n"
            "Written through macros it is fine: {{ metric('rut.rsi_14') }}, `2,500` in code, 3 cuts, Jan 15, 2026.\n")
    site = make_site(tmp_path / "site", vendor=vendor, pages={"bull-case.md": page})
    run = site.build()
    out = run.stdout + run.stderr
    warnings = [line for line in out.splitlines() if "naked number" in line]
    mine = [w.split("WARNING -  naked number in ", 1)[1] for w in warnings if "bull-case.md" in w]
    assert len(mine) == 2, warnings  # nothing from the macro call, the code span, "3 cuts" or the date
    assert mine[0].startswith("bull-case.md, line 6: '2,500'") and 'metric("levels.breakout")' in mine[0]
    assert mine[1].startswith("bull-case.md, line 6: '71.2'") and 'metric("rut.rsi_14")' in mine[1]
    assert run.returncode == 0  # a warning, not an error


def test_the_default_pages_have_no_naked_numbers(flipped):
    from build_data.prose.naked import naked_numbers

    site, snap, _ = flipped
    for page in sorted(site.docs.rglob("*.md")):
        assert naked_numbers(page.read_text(), snap) == [], page.name


def test_a_naked_threshold_suggests_a_valid_threshold_call_that_prints_it():
    import jinja2

    from build_data.prose import naked
    from macros.snapshot import Snapshot

    golden = REPO / "tests" / "golden" / "sample-2026-01-15.json"
    snap = Snapshot.load(golden)
    data = snap.data
    prose = "# Bear\n\nRSI-14 reached 70 and fell back under 67.\n\nInflation above 3% and claims over 250,000 worry us.\n"
    found = naked.warnings(prose, data, "bear-case.md")
    assert len(found) == 4, found
    calls = [re.search(r"write \{\{ (.*?) \}\}", w).group(1) for w in found]
    assert calls == ['threshold("overbought")', 'threshold("overbought", "clear")', 'threshold("inflation")',
                     'threshold("jobs")']
    assert found[0].endswith("write {{ threshold(\"overbought\") }} (the threshold of claim 'overbought', "
                             "set in the site config) so it follows the data")
    # Each suggestion is valid Jinja and prints the very number it replaces.
    env = jinja2.Environment()
    env.globals.update(threshold=snap.threshold, metric=snap.metric)
    assert [env.from_string("{{ " + c + " }}").render() for c in calls] == ["70", "67", "3%", "250,000"]
    # A current metric's figure still points at metric(), with nothing inside the braces but the call.
    rsi = f.format_value(data["metrics"]["rut.rsi_14"]["value"], "index")
    (warning,) = naked.warnings(f"RSI-14 is {rsi} today.", data, "x.md")
    assert warning.endswith('write {{ metric("rut.rsi_14") }} so it follows the data')
