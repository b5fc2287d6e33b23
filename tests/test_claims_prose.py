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


# ---------------------------------------------------------------- worked cases: the argument follows the data

GOLDEN = REPO / "tests" / "golden" / "sample-2026-01-15.json"


def render_page(name: str, change=None) -> str:
    """A default page (docs/NAME) rendered by the page macros over the golden snapshot, after
    `change(data)` edits the snapshot as a later build would see it. Jinja as mkdocs-macros sets
    it up; the page's charts are left out (the golden snapshot has no chart drawings)."""
    import jinja2

    from macros import MACROS
    from macros.snapshot import PageRef, Snapshot

    snap = Snapshot.load(GOLDEN)
    if change:
        change(snap.data)
    snap.current_page = lambda: PageRef(name, name.removesuffix(".md") + "/")
    env = jinja2.Environment(comment_start_string="{##", comment_end_string="##}", undefined=jinja2.StrictUndefined)
    env.globals.update({n: getattr(snap, n) for n in MACROS})
    body = (REPO / "docs" / name).read_text().split("\n---\n", 1)[1]
    return env.from_string(re.sub(r"\{\{ chart\([^)]*\) \}\}", "", body)).render()


def section(page: str, anchor: str) -> str:
    """The rendered Markdown of the section whose heading carries `{ #anchor }`, heading included."""
    start = next(m.start() for m in re.finditer(r"^## .*$", page, re.M) if "{ #" + anchor + " }" in m.group(0))
    end = page.find("\n## ", start + 1)
    return page[start:end if end > 0 else None]


def plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _set_claim(cid: str, holds):
    def change(data):
        data["claims"][cid]["holds"] = holds
        if holds is None:
            data["claims"][cid]["reason"] = "no data for Nasdaq-100"
    return change


def test_a_claim_flipping_changes_the_sections_heading_and_text():
    held, failed, unknown = (section(render_page("bear-case.md", _set_claim("crowded", h)), "crowding")
                             for h in (True, False, None))
    heading = {k: plain(s.split("\n", 1)[0]) for k, s in (("holds", held), ("fails", failed), ("unknown", unknown))}
    assert heading == {"holds": "## A crowded trade { #crowding }", "fails": "## Not a crowded trade yet { #crowding }",
                       "unknown": "## Small caps against the Nasdaq-100 { #crowding }"}
    # The source articles' reading: small caps outpacing the Nasdaq-100 is the crowded trade.
    assert "read small caps outpacing the Nasdaq-100 as a crowded trade" in plain(held)
    assert "Large-cap tech still sets the pace" in plain(failed) and "crowded trade the articles" in plain(failed)
    assert "read small caps outpacing" not in plain(failed) and "Large-cap tech still" not in plain(held)
    assert 'data-claim-state="holds" data-for="crowded"' in held and 'data-claim-state="fails"' in failed


def test_a_claim_that_cant_be_checked_gets_a_neutral_line_with_its_reason_and_no_definite_sentence():
    data = json.loads(GOLDEN.read_text())["claims"]["crowded"]
    text = section(render_page("bear-case.md", _set_claim("crowded", None)), "crowding")
    assert "can't be checked" in text
    assert "(no verdict: no data for Nasdaq-100; threshold 0.0 pp)" in plain(text)  # visible, not a tooltip
    assert 'data-claim-state="unknown" data-for="crowded"' in text and "no verdict either way" in plain(text)
    for sentence in ("Over three months the Russell 2000", "crowded trade:", "Large-cap tech still sets the pace"):
        assert sentence not in plain(text), sentence
    assert data["title"] in plain(text)  # the claim named, not asserted


def test_a_missing_series_gives_the_fallback_line_with_its_reason_and_date():
    def hy_spread_ends_early(data):
        data["metrics"]["hy_spread.latest"].update(value=None, reason="no data: no file BAMLH0A0HYM2.csv")
        data["series_status"]["hy_spread"]["last"] = "2025-12-31"

    page = render_page("bear-case.md", hy_spread_ends_early)
    text = plain(section(page, "rates"))
    assert "The high-yield spread stands at" not in text and "—" not in text
    assert ("Not available at this close: High-yield OAS, latest (no data: no file BAMLH0A0HYM2.csv; "
            "no data since Dec 31, 2025).") in text
    assert plain(section(render_page("bear-case.md"), "rates")).count("The high-yield spread stands at") == 1


def test_needs_names_every_missing_number_of_a_sentence_once():
    def no_sectors(data):
        for key in ("sectors.leader_ytd", "sectors.laggard_ret_ytd"):
            data["metrics"][key].update(value=None, reason="no sector fund has a close on 2026-01-15")

    text = plain(render_page("watchlist.md", no_sectors).split("## Sectors", 1)[1].split("## Relative", 1)[0])
    assert "leading sector fund" not in text and "—" not in text
    assert text.count("Not available at this close:") == 1
    assert "Sector leader, YTD total return (no sector fund has a close on 2026-01-15; as of Jan 15, 2026)" in text
    assert "Dispersion of one-month returns" in text  # the next sentence has its numbers


def _as_of(day):
    def change(data):
        data["as_of"] = day
    return change


def test_a_dated_passage_expiring_shows_the_after_text_and_is_listed_as_overdue():
    source = (REPO / "docs" / "bear-case.md").read_text()
    before = plain(section(render_page("bear-case.md", _as_of("2026-03-17")), "rates"))
    after = plain(section(render_page("bear-case.md", _as_of("2026-03-18")), "rates"))
    assert "the Fed's March meeting (March 17–18, 2026) is the first test" in before
    assert "has passed" not in before
    assert "is the first test" not in after and "The March 2026 meeting" in after and "has passed" in after
    (line, day), = [(n, d) for n, d in review.overdue(source, "2026-03-18") if d == "2026-03-18"]
    assert source.splitlines()[line - 1].startswith('{% call until("2026-03-18"')
    assert all(d != "2026-03-18" for _, d in review.overdue(source, "2026-03-17"))
    warnings = review.prose_warnings(source, "bear-case.md", "2026-08-21")
    assert f'overdue passage: bear-case.md, line {line}: until("2026-03-18") has passed (data as of 2026-08-21)' \
           in "\n".join(warnings)


def test_a_dated_passage_without_after_text_is_dropped_and_one_with_a_block_writes_both():
    page = render_page("bull-case.md", _as_of("2026-03-16"))
    assert "micro-cap fund was up" not in page
    assert "micro-cap fund was up" in render_page("bull-case.md", _as_of("2026-03-13"))
    bear_now, bear_2027 = (plain(render_page("bear-case.md", _as_of(d))) for d in ("2026-06-01", "2027-01-11"))
    assert "outlook of January 2026 implies only" in bear_now and "this year the index has returned" in bear_now
    assert "its twelve months have run" in bear_2027 and "implies only" not in bear_2027


def test_the_review_warns_on_a_badge_section_without_state_aware_text():
    page = ("---\ndescription: x\n---\n# Bull\n\n## Leadership\n\n{{ claim(\"rotation\") }} Small caps lead.\n\n"
            "## Trend\n\n{{ claim(\"trend\") }} {% call(ok) by_state(\"trend\") %}{% if ok %}Up.{% else %}Down."
            "{% endif %}{% endcall %}\n\n## Breakout\n\n{{ claim(\"breakout\") }}\n\n### Detail\n\n"
            "{% if holds(\"breakout\") %}Held.{% else %}Lost.{% endif %}\n\n"
            "```\n{{ claim(\"near_record\") }} in code is an example\n```\n")
    assert review.unbound_claims(page) == [(8, "Leadership", "rotation")]
    (warning,) = review.prose_warnings(page, "bull-case.md", "2026-01-15")
    assert warning.startswith("claim without state-aware text: bull-case.md, line 8, section 'Leadership': "
                              "the badge of claim 'rotation'")
    assert '{% call(ok) by_state("rotation") %}' in warning
    # Every default page, and the scaffold's, writes each badge's argument for each state.
    for folder in (REPO / "docs", REPO / "build_data" / "scaffold" / "template" / "docs"):
        for path in sorted(folder.glob("*.md")):
            assert review.unbound_claims(path.read_text()) == [], path


def test_strict_claims_fails_on_unbound_badges_and_overdue_passages(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "bull.md").write_text("# Bull\n\n## Leadership\n\n{{ claim(\"rotation\") }} Small caps lead.\n\n"
                                   "{% call until(\"2026-01-02\") %}The January data is due.{% endcall %}\n")
    args = ["--source", "sample", "--as-of", "2026-01-16", "--cache-dir", str(tmp_path / "c"), "--pages", str(pages)]
    run = cli(*args, "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "warning: claim without state-aware text: bull.md, line 5, section 'Leadership'" in run.stderr
    assert 'warning: overdue passage: bull.md, line 7: until("2026-01-02") has passed (data as of 2026-01-16)' in run.stderr
    strict = cli(*args, "--out", str(tmp_path / "strict"), "--strict-claims")
    assert strict.returncode == 1
    last = strict.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "2 claim badge(s) without state-aware text or overdue" in last
    assert not (tmp_path / "strict" / "metrics.json").exists()


def test_block_macros_explain_a_wrong_call():
    import jinja2

    from macros.snapshot import MacroError, Snapshot

    snap = Snapshot.load(GOLDEN)
    env = jinja2.Environment()
    env.globals.update(by_state=snap.by_state, needs=snap.needs, until=snap.until)
    for source, expect in [
        ('{{ by_state("crowded", holds="a") }}', "missing: fails, unknown"),
        ('{% call by_state("crowdd") %}x{% endcall %}', "closest valid keys: 'crowded'"),
        ('{% call needs("rut.rsi14") %}x{% endcall %}', "'rut.rsi_14'"),
        ('{% call until("18 March") %}x{% endcall %}', "YYYY-MM-DD"),
        ('{{ until("2026-03-18") }}', "until wraps the passage"),
    ]:
        with pytest.raises(MacroError, match=re.escape(expect)):
            env.from_string(source).render()


def test_a_badge_on_the_pages_first_line_or_before_any_heading_is_judged_by_its_own_section():
    assert review.unbound_claims("# Bear\n\n{{ claim(\"x\") }} {% if holds(\"x\") %}a{% else %}b{% endif %}\n") == []
    assert review.unbound_claims("{{ claim(\"x\") }} Intro.\n\n## Later\n\n{% if holds(\"x\") %}a{% endif %}\n") \
        == [(1, "", "x")]


def test_a_dash_left_in_rendered_prose_is_found_but_not_in_tables_or_key_numbers():
    from build_data.prose.naked import placeholders

    rendered = ('Intro.\n\nThe spread is <span class="na metric" title="no data" data-key="hy_spread.latest">—</span>'
                '<small class="na-reason"> (not available: no data)</small>.\n\n'
                '<div class="table-wrap x"><table><tr><td><span class="na metric" data-key="xlre.ret_1m">—</span>'
                '</td></tr></table></div>\n'
                '<span class="key-numbers"><span class="na metric" data-key="rut.ret_1y">—</span></span>\n'
                '```\n<span class="na metric" data-key="in.code">—</span>\n```\n')
    assert placeholders(rendered) == [(3, "hy_spread.latest")]


def test_the_site_build_warns_about_a_dash_in_a_sentence(tmp_path, vendor):
    page = ("---\ndescription: x\n---\n# Notes\n\nOne-year return: {{ metric(\"rut.ret_1y\") }}.\n\n"
            "{% call needs() %}Guarded: {{ metric(\"rut.ret_1y\") }}.{% endcall %}\n")
    site = make_site(tmp_path / "site", vendor=vendor, pages={"notes.md": page})
    run = site.build()
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "placeholder in prose" in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("WARNING -  placeholder in prose: notes.md, line 3 of the rendered page: "
                                  "'rut.ret_1y' has no value")
    assert '{% call needs("rut.ret_1y") %}' in warnings[0]
    html = (site.site / "notes" / "index.html").read_text()
    assert "Guarded" not in html and 'data-missing="rut.ret_1y"' in html
