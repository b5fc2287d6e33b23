"""The home page's story and the history that gives context: base rates over the whole history,
ranks that name the start of their data, the weekly summary's templates, and the macros that
show them. Worked cases on tiny hand-made series."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from build_data.build import compute
from build_data.compute import history, summary, values
from build_data.compute import metrics as m
from build_data.compute.keys import load_universe
from build_data.config import Claim, WatchItem
from macros.snapshot import MacroError
from tests.site_fixtures import load_fixture_snapshot
from tests.test_macros import snapshot_at

# ------------------------------------------------------------------ base rates


def _days(n, start="2026-01-05"):
    return pd.bdate_range(start, periods=n)


def test_onsets_are_the_sessions_a_state_turns_on_never_the_first():
    states = pd.Series([1, 1, 0, 1, 1, 0, 0, 1], index=_days(8), dtype=float)
    assert [d.day for d in history.onsets(states)] == [8, 14]  # Jan 8 and Jan 14; Jan 5 was already on
    assert list(history.onsets(pd.Series([0.0, 2.0, 2.0, 0.0], index=_days(4)))) == [_days(4)[1]]


def test_base_rate_counts_cases_the_share_lower_and_the_median_move():
    days = _days(10)
    states = pd.Series([0, 1, 0, 0, 1, 0, 1, 0, 0, 1], index=days, dtype=float)
    # The move that followed each session (NaN: too recent to know).
    after = pd.Series([0.0, -0.02, 0.0, 0.0, 0.04, 0.0, -0.01, 0.0, 0.0, float("nan")], index=days)
    rate = history.base_rate(states, after)
    assert rate == {"cases": 4, "measured": 3, "lower": 2, "share_lower": 2 / 3, "median": -0.01,
                    "start": "2026-01-05", "last": "2026-01-16"}


def test_forward_reads_a_trailing_move_that_many_sessions_later():
    close = pd.Series([100.0, 110.0, 99.0, 121.0], index=_days(4))
    after = history.forward(m.to_returns(close, sessions=2), 2)
    assert after.iloc[0] == pytest.approx(-0.01) and after.iloc[1] == pytest.approx(0.1)
    assert after.iloc[2:].isna().all()


def test_a_base_rate_with_no_case_says_so_and_names_the_start_of_the_data():
    rate = {"cases": 0, "measured": 0, "lower": 0, "share_lower": None, "median": None,
            "start": "1987-09-10", "last": None}
    text = history.base_rate_text(rate, title="Momentum is stretched", verb="begun to hold", subject="the Russell 2000")
    assert text == ("Since Sep 1987, \u201cMomentum is stretched\u201d has never begun to hold: there is no "
                    "earlier case to compare with.")


def test_a_base_rate_states_its_cases_and_flags_too_few():
    rate = {"cases": 4, "measured": 3, "lower": 2, "share_lower": 2 / 3, "median": -0.01,
            "start": "1987-09-10", "last": "2026-01-16"}
    text = history.base_rate_text(rate, title="Momentum is stretched", verb="begun to hold", subject="the Russell 2000")
    assert text == ("Since Sep 1987, \u201cMomentum is stretched\u201d has begun to hold 4 times. 20 sessions later "
                    "the Russell 2000 was lower in 2 of 3 cases (67%), with a median move of \u22121.0%. The latest "
                    "case is too recent to count. Too few cases to lean on.")
    many = {**rate, "cases": 85, "measured": 85, "lower": 38, "share_lower": 38 / 85, "median": 0.008}
    pair = history.base_rate_text(many, title="Small caps lead", verb="begun to hold", subject="the Russell 2000",
                                  versus="the S&P 500")
    assert pair == ("Since Sep 1987, \u201cSmall caps lead\u201d has begun to hold 85 times. 20 sessions later the "
                    "Russell 2000 had trailed the S&P 500 in 38 of 85 cases (45%), with a median gap of +0.8\u00a0pp.")


@pytest.mark.parametrize("rank, text", [(1, "the longest run since Sep 1987"), (2, "the 2nd-longest run since Sep 1987"),
                                        (3, "the 3rd-longest run since Sep 1987"), (11, "the 11th-longest run since Sep 1987"),
                                        (22, "the 22nd-longest run since Sep 1987")])
def test_a_rank_names_the_start_of_the_data_it_is_ranked_in(rank, text):
    assert history.ranked(rank, "run", "1987-09-10") == text


def test_the_drought_rank_counts_longer_earlier_droughts():
    close = pd.Series([1, 2, 1.5, 1.8, 2.5, 2.4, 2.3, 2.2, 2.1, 2.6, 2.5], index=_days(11), dtype=float)
    rank = m.to_drought_rank(close)
    # Droughts: 2 sessions (after Jan 6), 4 (after Jan 9), then the current one of 1.
    assert rank.isna().tolist()[:2] == [True, True] and pd.isna(rank.iloc[4]) and pd.isna(rank.iloc[9])
    assert rank.iloc[5] == 2 and rank.iloc[6] == 1 and rank.iloc[-1] == 3
    assert m.to_drought_rank(close.to_frame("x"))["x"].equals(rank.rename("x"))


def test_the_weekly_return_starts_from_the_previous_weeks_last_close():
    # Fri Jan 16 closes the week; Mon Jan 19 is a holiday (absent).
    days = pd.DatetimeIndex(["2026-01-14", "2026-01-15", "2026-01-16", "2026-01-20", "2026-01-23", "2026-01-26"])
    close = pd.Series([90.0, 95.0, 100.0, 102.0, 110.0, 99.0], index=days)
    ret = m.to_horizon_return(close, "ret_1w")
    assert ret.loc["2026-01-20"] == pytest.approx(0.02) and ret.loc["2026-01-23"] == pytest.approx(0.10)
    assert ret.loc["2026-01-26"] == pytest.approx(-0.10)  # a new week: from Friday's 110
    assert m.horizon_base_dates(pd.Timestamp("2026-01-23"))["ret_1w"] == pd.Timestamp("2026-01-18")


# ------------------------------------------------------------------ the summary's templates


def test_previous_week_end_is_the_last_session_before_this_weeks_monday():
    days = pd.DatetimeIndex(["2026-04-01", "2026-04-02", "2026-04-06", "2026-04-07"])  # Good Friday Apr 3 closed
    assert summary.previous_week_end(days, pd.Timestamp("2026-04-07")) == pd.Timestamp("2026-04-02")
    assert summary.previous_week_end(days, pd.Timestamp("2026-04-02")) is None


def test_moves_sentence():
    text = summary.moves_sentence([("Russell 2000", 0.02), ("S&P 500", 0.005), ("Nasdaq-100", -0.003)], "2026-01-09")
    assert text == ("Since the close of Jan 9, 2026, the Russell 2000 rose 2.0%, against +0.5% for the S&P 500 "
                    "and \u22120.3% for the Nasdaq-100.")
    assert summary.moves_sentence([("Russell 2000", -0.0001), ("S&P 500", None)], "2026-01-09") == \
        "Since the close of Jan 9, 2026, the Russell 2000 was flat."
    assert summary.moves_sentence([("Russell 2000", None), ("S&P 500", 0.01)], "2026-01-09") is None


def test_flips_sentence_names_each_claim_its_page_and_date():
    flips = [{"title": "Momentum is stretched", "page": "bear", "to": True, "date": "2026-09-14"},
             {"title": "Micro-caps lead", "page": "bull", "to": False, "date": "2026-09-15"}]
    assert summary.flips_sentence(flips) == (
        "This week \u201cMomentum is stretched\u201d (bear case) began to hold on Sep 14, 2026 and "
        "\u201cMicro-caps lead\u201d (bull case) stopped holding on Sep 15, 2026.")
    assert summary.flips_sentence([], flips[1]) == (
        "No claim changed its verdict this week; the last to change was \u201cMicro-caps lead\u201d (bull case), "
        "which stopped holding on Sep 15, 2026.")
    assert summary.flips_sentence([]) == "No claim changed its verdict this week."


def test_event_sentences():
    assert summary.watch_sentence([{"title": "RSI-14 above 70", "from": "near", "to": "triggered",
                                    "date": "2026-09-14"}]) == \
        "On the watchlist, \u201cRSI-14 above 70\u201d went from near to triggered on Sep 14, 2026."
    assert summary.watch_sentence([]) is None
    assert summary.records_sentence("Russell 2000", 2, 7) == \
        "The Russell 2000 closed at a record twice this week (7 record closes this year)."
    assert summary.records_sentence("Russell 2000", 0, 7) is None
    assert summary.drought_sentence("Russell 2000", 45, 12, "1987-09-10", "2026-11-03") == (
        "The Russell 2000 has gone 45 sessions without a record close since Nov 3, 2026, the 12th-longest "
        "drought since Sep 1987.")
    assert summary.drought_sentence("Russell 2000", 0, None, "1987-09-10", "2026-11-03") is None
    assert summary.others_records_sentence([("S&P 500", 12), ("Nasdaq-100", 1)]) == \
        "This year the S&P 500 has closed at a record 12 times and the Nasdaq-100 once."
    assert summary.others_records_sentence([("S&P 500", 0)]) == "This year the S&P 500 has not closed at a record."
    assert summary.streak_sentence("Russell 2000", "S&P 500", 14, 1, "1987-09-10") == \
        "The Russell 2000 has beaten the S&P 500 for 14 sessions in a row, the longest run since Sep 1987."
    assert summary.streak_sentence("Russell 2000", "S&P 500", 3, 40, "1987-09-10") is None
    assert summary.streak_ended_sentence("Russell 2000", "S&P 500", 14, "2026-09-11") == \
        "The Russell 2000\u2019s 14-session run ahead of the S&P 500 ended after Sep 11, 2026."
    assert summary.level_sentence("Russell 2000", "2,500 breakout", True, "2026-09-14") == \
        "The Russell 2000 closed above the 2,500 breakout on Sep 14, 2026."
    assert summary.level_sentence("Russell 2000", ["2,450 support", "2,400 support"], False, "2026-01-15") == \
        "The Russell 2000 closed below the 2,450 support and the 2,400 support on Jan 15, 2026."
    assert summary.target_sentence("Russell 2000", "2,861 year-end target", "2026-09-14") == \
        "The Russell 2000 reached the 2,861 year-end target on Sep 14, 2026."
    assert summary.sectors_sentence("Energy", 0.031, "Utilities", -0.02) == \
        "Among the sector funds, Energy did best this week (+3.1%) and Utilities worst (\u22122.0%)."


# ------------------------------------------------------------------ the summary from a worked history

RUT = [100, 101, 102, 103, 104,            # Jan 5-9: a record every session
       105, 106, 104, 103, 102,            # Jan 12-16: record on the 13th, then a drought
       103, 101, 100, 107]                  # Jan 20-23 (19th a holiday): record again on the 23rd
SPX = [100, 100.5, 101, 101.5, 102, 102.5, 103, 103.5, 104, 104.5, 105, 105.5, 106, 106.5]
SESSIONS = pd.DatetimeIndex(list(pd.bdate_range("2026-01-05", "2026-01-16")) + list(pd.bdate_range("2026-01-20", "2026-01-23")))


@pytest.fixture(scope="module")
def tiny_universe():
    u = load_universe()
    near = Claim.model_validate({"page": "bull", "title": "Near the record", "metric": "rut.pct_from_record",
                                 "op": ">=", "threshold": -0.02, "confirm": 1, "holds": "near", "fails": "far"})
    above = WatchItem.model_validate({"kind": "catalyst", "title": "Close above 106", "metric": "levels.line_distance",
                                      "op": ">", "threshold": 0, "near": 0.001, "confirm": 1, "why": "a line"})
    line = u.levels["breakout"].model_copy(update={"value": 106.0, "label": "106 line"})
    return u.model_copy(update={
        "symbols": {a: u.symbols[a] for a in ("rut", "spx")}, "derived": {}, "sectors": [], "breadth_basket": [],
        "volume_symbols": [], "pairs": {"rut_vs_spx": u.pairs["rut_vs_spx"]}, "macro": {}, "ranges": {},
        "levels": {"line": line}, "targets": {}, "claims": {"near": near}, "watchlist": {"line": above}})


def _story(universe, as_of):
    closes = pd.DataFrame({"rut": RUT, "spx": SPX}, index=SESSIONS, dtype="float64").loc[:as_of]
    data = values.Data(closes, pd.DataFrame(index=closes.index), {}, universe, {"rut": "csv:^RUT", "spx": "csv:^GSPC"})
    metrics, claims, watch, _ = compute(data)
    return (summary.week_summary(data, metrics, claims, watch), summary.history_notes(data, metrics),
            history.base_rates(data, claims, watch))


def test_the_week_with_a_record_a_flip_and_a_level_crossed(tiny_universe):
    week, notes, rates = _story(tiny_universe, "2026-01-23")
    assert (week["as_of"], week["since"]) == ("2026-01-23", "2026-01-16")
    lines = {s["kind"]: s["text"] for s in week["sentences"]}
    assert lines["moves"] == ("Since the close of Jan 16, 2026, the Russell 2000 rose 4.9%, against +1.9% "
                              "for the S&P 500.")
    assert lines["flips"] == "This week \u201cNear the record\u201d (bull case) began to hold on Jan 23, 2026."
    assert lines["watch"] == "On the watchlist, \u201cClose above 106\u201d went from clear to triggered on Jan 23, 2026."
    assert lines["levels"] == "The Russell 2000 closed above the 106 line on Jan 23, 2026."
    assert lines["records"] == "The Russell 2000 closed at a record once this week (7 record closes this year)."
    assert "drought" not in lines  # a record day has no drought
    assert notes["rut.drought"]["text"] == "The Russell 2000 closed at a record on Jan 23, 2026."
    # The claim held from the first session (no onset: nothing was seen to begin) to Jan 14, failed
    # on the 15th and held again on the 23rd: one case, too recent for the move after it.
    assert rates["near"]["cases"] == 1 and rates["near"]["measured"] == 0
    assert rates["near"]["text"].startswith("Since Jan 2026, \u201cNear the record\u201d has begun to hold once, "
                                            "too recently")


def test_a_week_in_a_drought_ranks_it_since_the_start_of_the_data(tiny_universe):
    week, notes, _ = _story(tiny_universe, "2026-01-22")
    lines = {s["kind"]: s["text"] for s in week["sentences"]}
    assert lines["moves"].startswith("Since the close of Jan 16, 2026, the Russell 2000 fell 2.0%")
    assert lines["flips"] == ("No claim changed its verdict this week; the last to change was \u201cNear the "
                              "record\u201d (bull case), which stopped holding on Jan 15, 2026.")
    assert lines["drought"] == ("The Russell 2000 has gone 6 sessions without a record close since Jan 13, 2026, "
                                "the longest drought since Jan 2026.")
    assert notes["rut.drought"] == {"sessions": 6, "rank": 1, "start": "2026-01-05", "text": lines["drought"]}
    assert notes["records_ytd"]["text"] == "This year the S&P 500 has closed at a record 12 times."  # the first close sets no record


def test_a_level_crossed_and_crossed_back_in_the_week_is_no_news(tiny_universe):
    line = tiny_universe.levels["line"].model_copy(update={"value": 102.5, "label": "102.5 line"})
    u = tiny_universe.model_copy(update={"levels": {"line": line}})
    # Jan 16 closed at 102 (below); Jan 20 103 (above), Jan 21 101 (below), Jan 22 100: below again.
    week, _, _ = _story(u, "2026-01-22")
    assert "levels" not in {s["kind"] for s in week["sentences"]}
    # By Jan 23 (107) it ends above: one sentence, dated by the last crossing.
    week, _, _ = _story(u, "2026-01-23")
    assert [s["text"] for s in week["sentences"] if s["kind"] == "levels"] == [
        "The Russell 2000 closed above the 102.5 line on Jan 23, 2026."]


def test_the_first_week_of_the_data_has_no_summary(tiny_universe):
    week, _, _ = _story(tiny_universe, "2026-01-09")
    assert week == {"as_of": "2026-01-09", "since": None, "sentences": []}


def test_the_sample_build_carries_the_story(sample_snapshot):
    assert sample_snapshot["summary"]["since"] == "2026-01-09"
    assert {s["kind"] for s in sample_snapshot["summary"]["sentences"]} >= {"moves", "flips"}
    rate = sample_snapshot["base_rates"]["overbought"]
    assert rate["series"] == "rut" and rate["horizon"] == 20 and rate["measured"] <= rate["cases"]
    assert rate["text"].startswith(f"Since {pd.Timestamp(rate['start']).strftime('%b %Y')}, ")
    assert sample_snapshot["base_rates"]["rates"]["text"].startswith("No base rate for \u201cLong rates stay high\u201d in this build: it rests on a series that is not a price")
    assert "since" in sample_snapshot["history_notes"]["rut_vs_spx.longest"]["text"]


# ------------------------------------------------------------------ macros


def _snap(tmp_path, **extra):
    data = load_fixture_snapshot() | extra
    return snapshot_at(tmp_path, data)


def test_this_week_renders_each_sentence_and_links_the_archive(tmp_path):
    s = _snap(tmp_path, summary={"as_of": "2026-01-15", "since": "2026-01-09", "sentences": [
        {"kind": "moves", "text": "Since the close of Jan 9, 2026, the Russell 2000 rose 2.0%."},
        {"kind": "flips", "text": "No claim changed its verdict this week."}]})
    out = s.this_week()
    assert out.count('<p class="this-week__line"') == 2 and 'data-kind="moves"' in out
    assert '<a href="../archive/">the archive</a>' in out  # relative to the page (bull-case/)
    assert "archive" not in s.this_week(archive=False)
    s.archive_root = "../"  # an archived week links the list of weeks one level up
    assert '<a href="../../">the archive</a>' in s.this_week()


def test_this_week_without_a_summary_is_an_error_naming_the_rebuild(tmp_path):
    with pytest.raises(MacroError, match="this_week\\(\\): the snapshot has no summary"):
        snapshot_at(tmp_path, {k: v for k, v in load_fixture_snapshot().items() if k != "summary"}).this_week()


def test_base_rate_and_history_note_macros(tmp_path):
    rate = {"kind": "claim", "title": "Momentum is stretched", "series": "rut", "cases": 3, "measured": 3, "lower": 1,
            "share_lower": 1 / 3, "median": 0.01, "start": "1987-09-10", "horizon": 20, "text": "Since Sep 1987, it."}
    s = _snap(tmp_path, base_rates={"overbought": rate},
              history_notes={"rut.drought": {"text": "The Russell 2000 has gone 6 sessions without a record close."},
                             "rut_vs_spx.streak": {"text": None}})
    assert s.base_rate("overbought") == '<p class="base-rate" data-id="overbought">Since Sep 1987, it.</p>'
    with pytest.raises(MacroError, match="unknown base rate key 'overbougt'; closest valid keys: 'overbought'"):
        s.base_rate("overbougt")
    assert "6 sessions without a record close" in s.history_note("rut.drought")
    assert "cannot be computed from the data in this build" in s.history_note("rut_vs_spx.streak")


def test_the_tally_names_what_changed_since_the_previous_week(tmp_path):
    data = load_fixture_snapshot()
    data["claims"]["volume_confirms"] |= {"since": "2026-01-13", "previous": True}
    data["summary"] = {"as_of": "2026-01-15", "since": "2026-01-09", "sentences": []}
    out = snapshot_at(tmp_path, data).claims_tally("bull")
    assert "1 no longer holds (<em>Conviction</em>, since <time datetime=\"2026-01-13\">Jan 13, 2026</time>)" in out
    assert "Changed since <time datetime=\"2026-01-09\">Jan 9, 2026</time>: <em>Conviction</em> no longer holds" in out
    data["claims"]["volume_confirms"]["since"] = "2026-01-02"
    assert "No change since" in snapshot_at(tmp_path, data).claims_tally("bull")


def test_data_sources_names_what_this_build_used(tmp_path):
    data = load_fixture_snapshot()
    out = snapshot_at(tmp_path, data).data_sources()
    assert "Yahoo Finance" in out and "Prices" in out
    for st in data["series_status"].values():
        st["source"] = "csv"
    out = snapshot_at(tmp_path, data).data_sources()
    assert "Yahoo" not in out and "local CSV files supplied for this build" in out


def test_levels_crossed_together_share_a_sentence_and_an_unset_target_is_no_news(tiny_universe):
    line = tiny_universe.levels["line"]
    lower = line.model_copy(update={"value": 104.0, "label": "104 line"})
    # A target set only after the week: an archived week knows nothing of it.
    later = line.model_copy(update={"value": 105.0, "label": "105 target", "date": dt.date(2026, 2, 2)})
    u = tiny_universe.model_copy(update={"levels": {"line": line, "lower": lower}, "targets": {"later": later}})
    week, _, _ = _story(u, "2026-01-23")
    assert [s["text"] for s in week["sentences"] if s["kind"] in ("levels", "targets")] == [
        "The Russell 2000 closed above the 106 line and the 104 line on Jan 23, 2026."]
