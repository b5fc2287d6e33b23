"""Events: a target reached and a level broken with their dates, record closes and streak ends,
the events calendar behind the watchlist's "next:" dates, one change entry per event with its
value and link, and the feeds that carry the same."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
import yaml

from build_data import config
from build_data.compute import events, signals
from build_data.compute.values import Metric
from build_data.errors import ConfigError
from build_data.publish import feeds
from tests.site_fixtures import load_fixture_snapshot
from tests.test_macros import snapshot_at

DAYS = pd.bdate_range("2026-01-05", periods=8)


def _closes(values, column="rut") -> pd.DataFrame:
    return pd.DataFrame({column: values}, index=DAYS[: len(values)], dtype=float)


# ---------------------------------------------------------------- targets and levels

def test_a_target_reached_shows_the_day_a_close_first_reached_it(universe):
    # The base target is 2,861, set on 2026-01-05 (close 2,700: the target is above it). The first
    # close at or above it is 2,870 on 01-08; a later dip below and a new high do not move that date.
    u = universe.model_copy(update={"targets": {"base": config.Level(
        symbol="rut", value=2861, label="2,861 year-end target", source="s", date="2026-01-05")}})
    closes = _closes([2700, 2800, 2850, 2870, 2840, 2900])
    mark = events.target_mark(u, closes, "base", DAYS[5])
    assert mark == {"direction": "up", "reached_on": "2026-01-08", "reached_close": 2870.0, "beyond": True}
    # As of 01-09 the close (2,840) has fallen back: still reached on 01-08, no longer beyond it.
    mark = events.target_mark(u, closes.iloc[:5], "base", DAYS[4])
    assert (mark["reached_on"], mark["beyond"]) == ("2026-01-08", False)
    # Not yet reached: no date.
    assert events.target_mark(u, closes.iloc[:3], "base", DAYS[2])["reached_on"] is None
    # In the change log: once, on the day, with the close.
    [entry] = events.target_events(u, {"base": events.target_mark(u, closes, "base", DAYS[5])}, DAYS[0])
    assert entry["date"] == "2026-01-08" and entry["value"] == 2870.0
    assert entry["event"] == "Russell 2000 reached the 2,861 year-end target (2,870.00)"


def test_targets_table_says_reached_on_date_instead_of_a_negative_implied_move(tmp_path):
    data = load_fixture_snapshot()
    data["targets"][0] |= {"reached_on": "2026-01-12", "reached_close": 2870.5, "beyond": True}
    data["targets"][1] |= {"reached_on": "2026-01-13", "reached_close": 3010.0, "beyond": False}
    html = snapshot_at(tmp_path, data).targets_table()
    rows = html.split("<tr")[2:]
    assert 'id="target-base"' in rows[0]
    assert 'reached on <time datetime="2026-01-12">Jan 12, 2026</time> (2,870.50)' in rows[0]
    assert 'data-key="targets.base_move"' not in rows[0]  # no implied move once it is past the target
    # Reached, then fallen back below: the date, and the move from the last close again.
    assert 'reached on <time datetime="2026-01-13">' in rows[1] and 'data-key="targets.bull_move"' in rows[1]


def test_a_level_broken_shows_since_when_with_the_close(universe, tmp_path):
    # Above 2,450 until a close of 2,440 on 01-08, held a second session (confirmed): broken on 01-08.
    closes = _closes([2500, 2480, 2460, 2440, 2430, 2435])
    mark = events.level_mark(universe, closes, "support_1")
    assert (mark["side"], mark["since"], mark["close"]) == ("below", "2026-01-08", 2440.0)
    [entry] = events.level_events(universe, {"support_1": mark}, DAYS[0])
    assert entry["event"] == "Russell 2000 closed below the 2,450 support (2,440.00)"
    # One session below is not a crossing yet.
    assert events.level_mark(universe, closes.iloc[:4], "support_1")["since"] is None
    data = load_fixture_snapshot()
    data["levels"][1] |= {"side": "below", "since": "2026-01-08", "since_close": 2440.0}
    data["metrics"]["levels.breakout_above"]["value"] = False
    html = snapshot_at(tmp_path, data).levels_table()
    assert 'id="level-breakout"' in html
    assert 'below</span> <span class="level-since">since <time datetime="2026-01-08">Jan 8, 2026</time> ' \
           '(broken at 2,440.00)</span>' in html


# ---------------------------------------------------------------- records and streaks

def test_a_record_close_after_a_drought_is_an_event_and_one_in_a_run_is_not(universe):
    u = universe.model_copy(update={"events": config.Events(records=["rut"], record_drought=3)})
    # Records on 01-06 (the first record can't be dated against an earlier one), 01-07 (a day
    # after the last: not news), then 01-12 after four sessions without one.
    closes = _closes([100, 101, 102, 99, 98, 97, 103])
    [entry] = events.record_events(u, closes, DAYS[0])
    assert (entry["date"], entry["value"]) == ("2026-01-13", 103.0)
    assert entry["event"] == "Russell 2000 closed at a record, 103.00: its first in 4 sessions"


def test_the_end_of_a_long_streak_is_an_event(universe):
    u = universe.model_copy(update={"events": config.Events(streaks=["rut_vs_spx"], min_streak=3)})
    streak = pd.Series([1, 2, 3, 0, 1, 0, 0], index=DAYS[:7], dtype=float)
    [entry] = events.streak_events(u, {"rut_vs_spx.outperf_streak": streak}, DAYS[0])
    assert entry["date"] == "2026-01-08" and entry["value"] == 3
    assert entry["event"] == "Russell 2000's outperformance of the S&P 500 ended after 3 sessions in a row"


# ---------------------------------------------------------------- the change log

def _history(values) -> pd.Series:
    return pd.Series(values, index=DAYS[: len(values)], dtype=float)


def test_a_claim_and_a_watch_item_flipping_on_the_same_day_make_one_entry_with_the_value(universe):
    claim = config.Claim(page="bear", title="Momentum is stretched", metric="rut.rsi_14", op=">=", threshold=70,
                         clear=67, holds="h", fails="f")
    watch = config.WatchItem(kind="risk", title="RSI-14 above {threshold}", metric="rut.rsi_14", op=">=",
                             threshold=70, clear=67, near=3, why="w")
    u = universe.model_copy(update={"claims": {"overbought": claim}, "watchlist": {"rsi": watch}})
    history = {"rut.rsi_14": _history([60, 62, 71.5, 72, 73])}
    metrics = {"rut.rsi_14": Metric(73.0, "index", "Russell 2000 RSI-14", "2026-01-09", "test")}
    claims = signals.evaluate_claims(u, metrics, history, DAYS[0])
    watchlist = signals.evaluate_watchlist(u, metrics, history, DAYS[0])
    changes = signals.recent_changes(claims, watchlist, {"rut.rsi_14": "Russell 2000 RSI-14"},
                                     {"rut.rsi_14": "index"})
    [entry] = changes
    assert entry["date"] == "2026-01-07" and entry["value"] == 71.5 and entry["value_text"] == "71.5"
    assert entry["text"] == ("Russell 2000 RSI-14 crossed above 70 (71.5): “Momentum is stretched” now holds; "
                             "watch item “RSI-14 above 70” triggered")
    assert entry["anchor"] == "claim-overbought"
    assert entry["items"] == [{"kind": "claim", "id": "overbought", "anchor": "claim-overbought"},
                              {"kind": "watch", "id": "rsi", "anchor": "watch-rsi"}]


def test_a_flip_back_says_which_level_it_crossed_with_the_reading():
    claim = {"title": "Momentum is stretched", "metric": "rut.rsi_14", "op": ">=", "threshold_text": "70",
             "clear_text": "67", "flips": [{"date": "2026-01-12", "from": True, "to": False, "value": 66.0}]}
    [entry] = signals.recent_changes({"overbought": claim}, {}, {"rut.rsi_14": "Russell 2000 RSI-14"},
                                     {"rut.rsi_14": "index"})
    assert entry["text"] == "Russell 2000 RSI-14 fell back below 67 (66.0): “Momentum is stretched” no longer holds"


def test_a_watch_item_on_a_target_reads_as_what_the_close_did(universe):
    watch = {"title": "Reaches the target", "metric": "targets.base_move", "op": "<=", "threshold_text": "0%",
             "clear_text": None, "flips": [{"date": "2026-01-12", "from": "near", "to": "triggered", "value": -0.01}]}
    [entry] = signals.recent_changes({}, {"target_reached": watch}, {}, {"targets.base_move": "fraction"},
                                     subjects=events.subjects(universe))
    # Close = target / (1 + move) = 2,861 / 0.99.
    assert entry["text"] == "Russell 2000 closed above the 2,861 year-end target (2,889.90): watch item " \
                            "“Reaches the target” triggered"


# ---------------------------------------------------------------- links and feeds

def test_each_change_links_to_the_section_that_shows_it(tmp_path):
    docs = tmp_path / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "bear-case.md").write_text('# Bear\n\n## Momentum\n\n{{ claim("overbought") }}\n')
    (docs / "watchlist.md").write_text('# Watch\n\n{{ watch_table("risk") }}\n{{ targets_table() }}\n')
    (docs / "notes" / "index.md").write_text("{{ levels_table() }}\n")
    # A page that shows macro calls as text (render_macros: false) is no destination.
    (docs / "about.md").write_text('---\nrender_macros: false\n---\n{{ claim("overbought") }}\n')
    where = feeds.anchors(docs)
    changes = [{"date": "2026-01-07", "kind": "claim", "id": "overbought", "key": "rut.rsi_14", "text": "t",
                "anchor": "claim-overbought"},
               {"date": "2026-01-07", "kind": "watch", "id": "rsi", "key": "rut.rsi_14", "text": "t",
                "anchor": "watch-rsi"},
               {"date": "2026-01-07", "kind": "level", "id": "support_1", "key": "levels.support_1_above", "text": "t",
                "anchor": "level-support_1"},
               {"date": "2026-01-07", "kind": "record", "id": "rut", "key": "rut.record_close", "text": "t",
                "anchor": "metric-rut.record_close"}]
    assert [c["url"] for c in feeds.with_urls(changes, where)] == [
        "bear-case/#claim-overbought", "watchlist/#watch-rsi", "notes/#level-support_1", None]


CHANGE = {"date": "2026-01-07", "kind": "claim", "id": "overbought", "key": "rut.rsi_14", "value": 71.5,
          "value_text": "71.5", "anchor": "claim-overbought", "url": "bear-case/#claim-overbought",
          "text": "Russell 2000 RSI-14 crossed above 70 (71.5): “Momentum is stretched” now holds; "
                  "watch item “RSI-14 above 70” triggered",
          "items": [{"kind": "claim", "id": "overbought", "anchor": "claim-overbought"},
                    {"kind": "watch", "id": "rsi", "anchor": "watch-rsi"}]}


def test_the_feed_items_carry_the_value_and_link_to_the_section():
    item = json.loads(feeds.json_feed([CHANGE], "https://example.org/site/"))["items"][0]
    assert item["url"] == "https://example.org/site/bear-case/#claim-overbought"
    assert "(71.5)" in item["title"] and item["content_text"] == CHANGE["text"]
    assert item["_signal"] == {"kind": "claim", "id": "overbought", "key": "rut.rsi_14", "value": 71.5,
                               "value_text": "71.5"}
    rss = ET.fromstring(feeds.rss_feed([CHANGE], "https://example.org/site"))
    [entry] = rss.findall("./channel/item")
    assert entry.findtext("link") == "https://example.org/site/bear-case/#claim-overbought"
    assert entry.findtext("description") == CHANGE["text"]


def test_the_change_list_links_each_entry_and_keeps_its_value(tmp_path):
    data = load_fixture_snapshot()
    data["changes"] = [CHANGE]
    html = snapshot_at(tmp_path, data).changes_list()
    assert '<li id="change-2026-01-07-claim-overbought" class="change change--claim" data-key="rut.rsi_14" ' \
           'data-value="71.5">' in html
    assert '<a href="../bear-case/#claim-overbought">Russell 2000 RSI-14 crossed above 70 &#40;71.5&#41;' in html


# ---------------------------------------------------------------- the events calendar

def test_next_scheduled_event_and_past_ones_marked(universe):
    as_of = pd.Timestamp("2026-01-28").date()  # an FOMC decision day: it has passed by the close
    nxt = events.next_event(universe, "fomc", as_of)
    assert nxt["date"] == "2026-03-18" and nxt["name"] == "FOMC decision" and nxt["url"].startswith("https://")
    assert events.next_event(universe, "cpi", as_of)["date"] == "2026-02-13"
    cal = events.calendar(universe, as_of, pd.Timestamp("2026-01-01").date())
    fomc = [e for e in cal if e["kind"] == "fomc"]
    assert (fomc[0]["date"], fomc[0]["past"], fomc[1]["past"]) == ("2026-01-28", True, False)
    assert all(e["source"] for e in cal) and [e["date"] for e in cal] == sorted(e["date"] for e in cal)
    late = events.next_event(universe, "fomc", pd.Timestamp("2027-01-05").date())
    assert late["date"] is None and "no FOMC decision after 2027-01-05" in late["reason"]


def test_every_watch_item_with_a_next_kind_gets_its_date_in_the_snapshot(sample_snapshot, universe):
    w = sample_snapshot["watchlist"]
    assert w["yields_spike"]["next"]["kind"] == "fomc" and w["yields_spike"]["next"]["date"] > sample_snapshot["as_of"]
    assert w["inflation_hot"]["next"]["kind"] == "cpi"
    assert all(w[wid]["next"] is None for wid, item in universe.watchlist.items() if item.next is None)
    assert any(e["past"] for e in sample_snapshot["calendar"]) and any(not e["past"] for e in sample_snapshot["calendar"])


def test_watch_table_shows_the_next_date_with_its_source(tmp_path):
    data = load_fixture_snapshot()
    data["watchlist"]["rsi_cool"]["next"] = {"kind": "fomc", "name": "FOMC decision", "date": "2026-01-28",
                                             "source": "Federal Reserve", "url": "https://www.federalreserve.gov/x"}
    html = snapshot_at(tmp_path, data).watch_table()
    assert '<small class="watch-next">next: <a href="https://www.federalreserve.gov/x">FOMC decision on ' \
           '<time datetime="2026-01-28">Jan 28, 2026</time></a></small>' in html


def test_events_calendar_macro_marks_past_and_upcoming(tmp_path):
    data = load_fixture_snapshot()
    data["calendar"] = [
        {"kind": "cpi", "name": "CPI release", "date": d, "source": "BLS", "url": None, "past": d <= "2026-01-15"}
        for d in ("2025-11-13", "2025-12-18", "2026-01-13", "2026-02-13", "2026-03-11")]
    html = snapshot_at(tmp_path, data).events_calendar(past=2, upcoming=1)
    assert html.count("<tr") == 4  # the header, two past, one upcoming
    assert "2025-11-13" not in html and "2026-03-11" not in html
    assert html.count("event-status--past") == 2 and html.count("event-status--upcoming") == 1


def _load_with(tmp_path, update):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    update(raw)
    path = tmp_path / "universe.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("update, message", [
    (lambda r: r["watchlist"]["yields_spike"].update(next="fmoc"),
     "watchlist.yields_spike.next: unknown events.calendar kind 'fmoc'; closest valid names: fomc"),
    (lambda r: r["events"].update(records=["rutt"]), "events.records[0]: unknown symbol 'rutt'; closest valid names: rut"),
    (lambda r: r["events"].update(streaks=["rut_vs_sp"]), "events.streaks[0]: unknown pair 'rut_vs_sp'; closest valid names: rut_vs_spx"),
    (lambda r: r["events"]["calendar"]["cpi"].update(dates=["2026-01-13", "2026-01-13"]),
     "events.calendar.cpi.dates: Value error, 2026-01-13 is listed twice"),
    (lambda r: r["events"]["calendar"]["fomc"].pop("source"), "events.calendar.fomc.source: Field required"),
    (lambda r: r["events"]["calendar"]["fomc"].update(sourse="x"),
     "events.calendar.fomc: unknown field 'sourse'; did you mean 'source'?"),
])
def test_events_config_errors_are_one_line_naming_file_key_and_closest(tmp_path, update, message):
    path = _load_with(tmp_path, update)
    with pytest.raises(ConfigError) as err:
        config.load_universe(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_an_item_shown_twice_on_a_page_keeps_one_anchor(tmp_path):
    snap = snapshot_at(tmp_path)
    assert snap.watch_table().count('id="watch-') == 4
    assert 'id="watch-' not in snap.watch_table("risk")  # the same page: the rows above have the anchors
