"""Claims and watch items replayed over hand-made histories: hysteresis, confirmation, compound
conditions, since/previous/pending, and the config checks against the metric catalog."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from build_data import config
from build_data.compute import keys
from build_data.compute import signals
from build_data.compute.values import Metric
from build_data.config import Claim, WatchItem
from build_data.errors import ConfigError

# RSI-like readings wavering around 70, one per session from Monday 2026-01-05.
WAVER = [65, 71, 69, 71, 68, 72, 73, 69, 66, 68, 71, 71.5, 66, 64, 71, 66]
DAYS = pd.bdate_range("2026-01-05", periods=len(WAVER))
#        01-05 06 07 08 09 | 12 13 14 15 16 | 19 20   21 22 23 | 26
# >= 70:     0  1  0  1  0 |  1  1  0  0  0 |  1  1    0  0  1 |  0
# latched:   0  1  1  1  1 |  1  1  1  0  0 |  1  1    0  0  1 |  0   (on at 70, off only below 67)
START = pd.Timestamp("2026-01-05")


def _claim(**kw) -> Claim:
    fields = {"page": "bear", "title": "Momentum is stretched", "holds": "h", "fails": "f"}
    if "all" not in kw and "any" not in kw:
        fields |= {"metric": "rut.rsi_14", "op": ">=", "threshold": 70}
    return Claim(**(fields | kw))


def _flip_dates(item, histories) -> list[tuple[str, object]]:
    label = bool if isinstance(item, Claim) else signals._status
    t = signals.track(signals.raw_states(item, histories), item.confirm, label)
    return [(d.date().isoformat(), to) for d, _, to in t["changes"]]


def _metric(value, unit="index", reason=None) -> Metric:
    return Metric(value, unit, "label", "2026-01-26", "test", reason)


def _history(values, days=DAYS) -> pd.Series:
    return pd.Series(values, index=days[: len(values)], dtype=float)


def test_without_hysteresis_or_confirmation_every_crossing_is_a_flip():
    flips = _flip_dates(_claim(confirm=1), {"rut.rsi_14": _history(WAVER)})
    assert flips == [("2026-01-06", True), ("2026-01-07", False), ("2026-01-08", True), ("2026-01-09", False),
                     ("2026-01-12", True), ("2026-01-14", False), ("2026-01-19", True), ("2026-01-21", False),
                     ("2026-01-23", True), ("2026-01-26", False)]


def test_hysteresis_alone_holds_the_state_inside_the_band():
    # On at 71 (01-06); 69, 71, 68, 72, 73, 69 stay at or above 67; off at 66 (01-15); 68 (01-16) is
    # in the band, so it stays off; on at 71 (01-19), off at 66 (01-21), and a one-day spike 01-23.
    flips = _flip_dates(_claim(clear=67, confirm=1), {"rut.rsi_14": _history(WAVER)})
    assert flips == [("2026-01-06", True), ("2026-01-15", False), ("2026-01-19", True), ("2026-01-21", False),
                     ("2026-01-23", True), ("2026-01-26", False)]


def test_confirmation_alone_ignores_runs_shorter_than_the_count():
    # Runs of the raw state: 1,1,1,1 session until 71-72-73 at 01-12/13 (two: counts, dated 01-12);
    # three below from 01-14; two above from 01-19; two below from 01-21; the 01-23 spike is one.
    flips = _flip_dates(_claim(confirm=2), {"rut.rsi_14": _history(WAVER)})
    assert flips == [("2026-01-12", True), ("2026-01-14", False), ("2026-01-19", True), ("2026-01-21", False)]


def test_hysteresis_and_confirmation_together():
    # The latched run from 01-06 lasts 7 sessions (counts, dated 01-06); the 01-23 spike does not.
    flips = _flip_dates(_claim(clear=67, confirm=2), {"rut.rsi_14": _history(WAVER)})
    assert flips == [("2026-01-06", True), ("2026-01-15", False), ("2026-01-19", True), ("2026-01-21", False)]


def test_a_reading_that_recrosses_every_session_never_reaches_the_change_log():
    zigzag = _history([69, 71] * 8)
    assert _flip_dates(_claim(), {"rut.rsi_14": zigzag}) == []  # the default confirmation count
    assert len(_flip_dates(_claim(confirm=1), {"rut.rsi_14": zigzag})) == 15


def test_since_previous_and_pending():
    universe = keys.load_universe()
    claims = {"stretched": _claim(clear=67, confirm=3)}
    u = universe.model_copy(update={"claims": claims, "watchlist": {}})
    # Latched on from 01-06 to 01-14, off from 01-15; back to 71 on the last two sessions.
    history = _history(WAVER[:9] + [68, 66, 71, 72])
    out = signals.evaluate_claims(u, {"rut.rsi_14": _metric(72.0)}, {"rut.rsi_14": history}, START)["stretched"]
    assert out["holds"] is False and out["text"] == "f"
    assert out["since"] == "2026-01-15" and out["previous"] is True
    assert out["pending"] == {"to": True, "sessions": 2, "needs": 3}
    # Each flip carries the reading on its date: 71 turned it on, 66 (below the clear level 67) off.
    assert out["flips"] == [{"date": "2026-01-06", "from": False, "to": True, "value": 71.0},
                            {"date": "2026-01-15", "from": True, "to": False, "value": 66.0}]
    assert signals.evaluate_claims(u, {"rut.rsi_14": _metric(72.0)}, {"rut.rsi_14": history},
                                   pd.Timestamp("2026-01-07"))["stretched"]["flips"] == out["flips"][1:]
    # One more session above 70 confirms it: since is the first session of the run.
    longer = _history(WAVER[:9] + [68, 66, 71, 72, 70])
    out = signals.evaluate_claims(u, {"rut.rsi_14": _metric(70.0)}, {"rut.rsi_14": longer}, START)["stretched"]
    assert (out["holds"], out["since"], out["previous"], out["pending"]) == (True, "2026-01-20", False, None)


def test_a_state_held_over_the_whole_history_dates_from_its_start():
    out = signals.track(pd.Series([1.0, 1.0, 1.0], index=DAYS[:3]), 2, bool)
    assert (out["state"], out["since"], out["previous"], out["changes"]) == (True, "2026-01-05", None, [])


def test_no_current_value_means_the_claim_cannot_be_checked():
    u = keys.load_universe().model_copy(update={"claims": {"stretched": _claim()}, "watchlist": {}})
    metrics = {"rut.rsi_14": _metric(None, reason="stale: last close 2026-01-02")}
    out = signals.evaluate_claims(u, metrics, {"rut.rsi_14": _history(WAVER)}, START)["stretched"]
    assert out["holds"] is None and out["reason"] == "stale: last close 2026-01-02"
    assert out["since"] is None and out["pending"] is None
    assert out["flips"]  # what happened before stays in the change log


def test_without_a_history_the_current_reading_decides_alone():
    u = keys.load_universe().model_copy(update={"claims": {"stretched": _claim(clear=67)}, "watchlist": {}})
    out = signals.evaluate_claims(u, {"rut.rsi_14": _metric(71.0)}, {"rut.rsi_14": None}, START)["stretched"]
    assert (out["holds"], out["since"], out["previous"], out["pending"], out["flips"]) == (True, None, None, None, [])
    out = signals.evaluate_claims(u, {"rut.rsi_14": _metric(68.0)}, {}, START)["stretched"]
    assert out["holds"] is False and out["text"] == "f"


BOTH = {"all": [{"metric": "rut.above_sma_50", "op": "true"}, {"metric": "rut.above_sma_200", "op": "true"}]}
ABOVE_50 = pd.Series([True, True, False, True, True, True, True, False, False, True], index=DAYS[:10], dtype=object)
ABOVE_200 = pd.Series([None, False, True, True, True, False, False, False, True, True], index=DAYS[:10], dtype=object)


def test_compound_all_needs_every_condition():
    # Both: ?, 0, 0, 1, 1, 0, 0, 0, 0, 1: the first session is unknown (no 200-day average yet).
    hist = {"rut.above_sma_50": ABOVE_50, "rut.above_sma_200": ABOVE_200}
    assert _flip_dates(_claim(**BOTH, confirm=1), hist) == [
        ("2026-01-08", True), ("2026-01-12", False), ("2026-01-16", True)]
    assert _flip_dates(_claim(**BOTH, confirm=2), hist) == [("2026-01-08", True), ("2026-01-12", False)]


def test_compound_any_needs_one_condition():
    # Either: 1 (the 50-day alone decides), 1, 1, 1, 1, 1, 1, 0, 1, 1.
    hist = {"rut.above_sma_50": ABOVE_50, "rut.above_sma_200": ABOVE_200}
    anyone = _claim(any=BOTH["all"], confirm=1)
    assert _flip_dates(anyone, hist) == [("2026-01-14", False), ("2026-01-15", True)]
    assert _flip_dates(_claim(any=BOTH["all"]), hist) == []


def test_compound_claim_in_the_snapshot():
    u = keys.load_universe().model_copy(update={"claims": {"both": _claim(**BOTH)}, "watchlist": {}})
    metrics = {"rut.above_sma_50": _metric(True, "bool"), "rut.above_sma_200": _metric(True, "bool")}
    hist = {"rut.above_sma_50": ABOVE_50, "rut.above_sma_200": ABOVE_200}
    out = signals.evaluate_claims(u, metrics, hist, START)["both"]
    assert (out["holds"], out["since"], out["previous"]) == (False, "2026-01-12", True)
    assert out["pending"] == {"to": True, "sessions": 1, "needs": 2}
    assert out["metric"] == "rut.above_sma_50" and out["mode"] == "all"
    assert [(c["metric"], c["op"], c["value"]) for c in out["conditions"]] == [
        ("rut.above_sma_50", "true", True), ("rut.above_sma_200", "true", True)]
    # A failing known condition decides `all` even when the other cannot be read.
    metrics["rut.above_sma_200"] = _metric(None, "bool", "too little history: 150 sessions, needs 200")
    metrics["rut.above_sma_50"] = _metric(False, "bool")
    assert signals.evaluate_claims(u, metrics, hist, START)["both"]["holds"] is False
    metrics["rut.above_sma_50"] = _metric(True, "bool")
    out = signals.evaluate_claims(u, metrics, hist, START)["both"]
    assert out["holds"] is None and out["reason"] == "rut.above_sma_200: too little history: 150 sessions, needs 200"


def test_watch_item_status_with_hysteresis_and_confirmation():
    item = WatchItem(kind="risk", title="RSI-14 above 70", metric="rut.rsi_14", op=">=", threshold=70,
                     clear=67, near=2, why="w")
    # Raw status: 65 clear, 71.. triggered (latched to 01-14), 66 clear on 01-15, 68 near on 01-16
    # (within 2), 71 triggered from 01-19, 66 clear 01-21/22, 71 one session, 66 clear.
    # Neither the clear nor the near session is a run of two, so triggered stands until 01-21.
    assert _flip_dates(item, {"rut.rsi_14": _history(WAVER)}) == [("2026-01-06", "triggered"), ("2026-01-21", "clear")]
    assert _flip_dates(item.model_copy(update={"confirm": 1}), {"rut.rsi_14": _history(WAVER)}) == [
        ("2026-01-06", "triggered"), ("2026-01-15", "clear"), ("2026-01-16", "near"), ("2026-01-19", "triggered"),
        ("2026-01-21", "clear"), ("2026-01-23", "triggered"), ("2026-01-26", "clear")]
    u = keys.load_universe().model_copy(update={"claims": {}, "watchlist": {"rsi": item}})
    out = signals.evaluate_watchlist(u, {"rut.rsi_14": _metric(68.5)}, {"rut.rsi_14": _history(WAVER[:-1] + [68.5])},
                                     START)["rsi"]
    # 71 on 01-23 latches, and 68.5 stays above the clear level: triggered for two sessions, confirmed.
    assert out["status"] == "triggered" and out["previous"] == "clear" and out["since"] == "2026-01-23"
    assert out["pending"] is None
    assert (out["threshold"], out["clear"], out["near"], out["confirm"]) == (70, 67, 2, 2)


def test_compound_watch_item_near_per_condition():
    hist = {"hy_spread.latest": _history([3.5, 3.8, 3.9, 4.1, 4.2, 3.6, 3.6]),
            "us10y.latest": _history([4.0, 4.62, 4.7, 4.8, 4.8, 4.9, 4.7])}
    conds = [{"metric": "hy_spread.latest", "op": ">", "threshold": 4, "near": 0.3},
             {"metric": "us10y.latest", "op": ">", "threshold": 4.75, "near": 0.15}]
    # all: near while each is met or within its band (01-06, 01-07), triggered when both are met
    # (01-08, 01-09), clear once the spread is 0.4 away (01-12).
    both = WatchItem(kind="risk", title="t", why="w", all=conds)
    assert _flip_dates(both, hist) == [("2026-01-06", "near"), ("2026-01-08", "triggered"), ("2026-01-12", "clear")]
    # any: triggered while either is met (01-08 to 01-12), then near on the last session only: pending.
    either = WatchItem(kind="risk", title="t", why="w", any=conds)
    assert _flip_dates(either, hist) == [("2026-01-06", "near"), ("2026-01-08", "triggered")]
    u = keys.load_universe().model_copy(update={"claims": {}, "watchlist": {"credit": either}})
    metrics = {"hy_spread.latest": _metric(3.6, "percent"), "us10y.latest": _metric(4.7, "percent")}
    out = signals.evaluate_watchlist(u, metrics, hist, START)["credit"]
    assert (out["status"], out["pending"]) == ("triggered", {"to": "near", "sessions": 1, "needs": 2})
    assert out["near"] == 0.3 and [c["metric"] for c in out["conditions"]] == ["hy_spread.latest", "us10y.latest"]


def test_signal_keys_cover_compound_conditions(universe):
    keys = signals.signal_keys(universe)
    assert {"rut.above_sma_50", "rut.above_sma_200", "rut.rsi_14", "iwm.volume_ratio"} <= keys
    assert keys == {c.metric for item in [*universe.claims.values(), *universe.watchlist.values()]
                    for c in item.conditions}


def test_sample_change_log_flips_only_after_confirmed_runs(sample_snapshot, universe):
    """Every flip of the default items lasted at least its confirmation count before the next one."""
    sessions = pd.bdate_range("2025-01-01", "2026-02-01")  # a rough count is enough for a lower bound
    for section, items in (("claims", universe.claims), ("watchlist", universe.watchlist)):
        for item_id, entry in sample_snapshot[section].items():
            dates = [pd.Timestamp(f["date"]) for f in entry["flips"]]
            for a, b in zip(dates, dates[1:]):
                assert len(sessions[(sessions >= a) & (sessions < b)]) >= items[item_id].confirm, (item_id, a, b)


# ------------------------------------------------------------------ config checks


def _load_with(tmp_path, section: str, item_id: str, item: dict):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    raw[section][item_id] = item
    path = tmp_path / "universe.yml"
    path.write_text(yaml.safe_dump(raw))
    return lambda: keys.load_universe(path)


CLAIM = {"page": "bull", "title": "t", "holds": "h", "fails": "f"}


@pytest.mark.parametrize("section, item, message", [
    ("claims", CLAIM | {"metric": "rut.sma_200_slop", "op": ">", "threshold": 0},
     r"universe\.yml: claims\.x: unknown metric key 'rut\.sma_200_slop'; closest: rut\.sma_200_slope, "),
    ("claims", CLAIM | {"metric": "rut.record_date", "op": ">", "threshold": 0},
     r"universe\.yml: claims\.x: op '>' cannot compare 'rut\.record_date' \(unit 'date'\) with a number"),
    ("claims", CLAIM | {"metric": "sectors.leader_ytd", "op": "==", "threshold": 1},
     r"claims\.x: op '==' cannot compare 'sectors\.leader_ytd' \(unit 'label'\)"),
    ("claims", CLAIM | {"metric": "rut.rsi_14", "op": "true"},
     r"claims\.x: op 'true' needs a yes/no metric; 'rut\.rsi_14' is in unit 'index'"),
    ("claims", CLAIM | {"all": [{"metric": "rut.above_sma_50", "op": "true"}, {"metric": "rut.above_sma_20", "op": "true"}]},
     r"claims\.x\.all\[1\]: unknown metric key 'rut\.above_sma_20'; closest: rut\.above_sma_200"),
    ("watchlist", {"kind": "risk", "title": "t", "why": "w", "metric": "levels.breakout_above", "op": ">",
                   "threshold": 0, "near": 0.1},
     r"watchlist\.x: op '>' cannot compare 'levels\.breakout_above' \(unit 'bool'\) with a number"),
])
def test_a_signal_the_catalog_cannot_check_is_a_config_error(tmp_path, section, item, message):
    load = _load_with(tmp_path, section, "x", item)
    with pytest.raises(ConfigError, match=message) as err:
        load()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("item, message", [
    (CLAIM | {"metric": "rut.rsi_14", "op": ">=", "threshold": 70, "clear": 72},
     r"claims\.x: Value error, clear 72 must be at or below the threshold 70 for op '>='"),
    (CLAIM | {"metric": "rut.rsi_14", "op": "<", "threshold": 30, "clear": 25},
     r"clear 25 must be at or above the threshold 30 for op '<'"),
    (CLAIM | {"metric": "rut.rsi_14", "op": ">=", "threshold": 70,
              "all": [{"metric": "rut.above_sma_50", "op": "true"}]},
     r"give either metric/op/threshold or one list of conditions under all: or any: \(got metric and all\)"),
    (CLAIM | {"any": []}, r"claims\.x\.any: List should have at least 1 item"),
    (CLAIM | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "confirm": 0}, r"claims\.x\.confirm"),
    (CLAIM | {"metric": "levels.breakout_above", "op": "true", "clear": 1}, r"op 'true' takes no threshold or clear"),
])
def test_malformed_signal_config_is_a_config_error(tmp_path, item, message):
    with pytest.raises(ConfigError, match=message):
        _load_with(tmp_path, "claims", "x", item)()


WATCH = {"kind": "risk", "title": "t", "why": "w"}


@pytest.mark.parametrize("item, message", [
    (WATCH | {"metric": "rut.rsi_14", "op": ">=", "threshold": 70}, r"watchlist\.x: Value error, near: Field required"),
    (WATCH | {"any": [{"metric": "levels.breakout_above", "op": "true"}]},
     r"watchlist\.x: Value error, watch items compare numbers: op must be one of >, >=, <, <=, not 'true'"),
    (WATCH | {"near": 1, "all": [{"metric": "rut.rsi_14", "op": ">", "threshold": 70}]},
     r"near belongs inside each all:/any: condition"),
])
def test_malformed_watch_item_is_a_config_error(tmp_path, item, message):
    with pytest.raises(ConfigError, match=message):
        _load_with(tmp_path, "watchlist", "x", item)()


def test_the_default_universe_passes_the_checks(universe):
    keys.check_signals(universe)
    assert universe.claims["above_averages"].mode == "all"
    assert universe.claims["overbought"].clear == 67 and universe.watchlist["rsi_overbought"].clear == 67


def test_a_claim_group_is_any_lowercase_name(tmp_path):
    u = _load_with(tmp_path, "claims", "x", CLAIM | {"page": "small-caps_2", "metric": "rut.rsi_14", "op": ">",
                                                      "threshold": 70})()
    assert u.claims["x"].page == "small-caps_2"
    for bad in ("Semis", "-semis", "semis case", ""):
        with pytest.raises(ConfigError, match=r"universe\.yml: claims\.x\.page: String should match pattern"):
            _load_with(tmp_path, "claims", "x", CLAIM | {"page": bad, "metric": "rut.rsi_14", "op": ">",
                                                          "threshold": 70})()


def test_the_tally_counts_every_claim_group_present():
    from build_data.publish.snapshot import tally

    claims = {"a": {"page": "bull", "holds": True}, "b": {"page": "semis", "holds": False},
              "c": {"page": "semis", "holds": None}, "d": {"page": "semis", "holds": True}}
    assert tally(claims) == {"bull": {"holds": 1, "fails": 0, "unknown": 0},
                             "semis": {"holds": 1, "fails": 1, "unknown": 1}}


# ------------------------------------------------------------------ thresholds written once


@pytest.mark.parametrize("value, unit, fmt, text", [
    (0.03, "fraction", None, "3%"), (0.0325, "fraction", None, "3.25%"), (-0.05, "fraction", None, "\u22125%"),
    (70, "index", None, "70"), (67.5, "index", None, "67.5"), (250000, "count", None, "250,000"),
    (4.0, "percent", None, "4%"), (4.75, "percent", None, "4.75%"), (0, "fraction", "pp", "0\u00a0pp"),
    (1.2, "ratio", None, "1.2\u00d7"), (10, "sessions", None, "10"), (2450, "price", None, "2,450"),
])
def test_a_threshold_reads_as_written_in_its_metrics_unit(value, unit, fmt, text):
    from build_data.formatting import format_threshold

    assert format_threshold(value, unit, fmt) == text


def test_placeholders_are_filled_in_the_metrics_unit_when_the_snapshot_is_built():
    claim = _claim(threshold=70, clear=67, title="RSI at {threshold}",
                   holds="RSI-14 reached {threshold} and stayed above {clear}; {{braces}} stay.",
                   fails="Under {threshold}.")
    watch = WatchItem(kind="risk", title="CPI above {threshold}", metric="cpi.yoy", op=">", threshold=0.03,
                      near=0.002, why="Over {threshold} limits cuts.")
    u = config.load_universe().model_copy(update={"claims": {"hot": claim}, "watchlist": {"cpi": watch}})
    out = signals.evaluate_claims(u, {"rut.rsi_14": _metric(71)}, {"rut.rsi_14": None}, START)["hot"]
    assert out["text"] == "RSI-14 reached 70 and stayed above 67; {braces} stay."
    assert (out["title"], out["threshold_text"], out["clear_text"]) == ("RSI at 70", "70", "67")
    w = signals.evaluate_watchlist(u, {"cpi.yoy": _metric(0.031, "fraction")}, {"cpi.yoy": None}, START)["cpi"]
    assert (w["title"], w["why"], w["threshold_text"], w["clear_text"]) == (
        "CPI above 3%", "Over 3% limits cuts.", "3%", None)
    spread = _claim(metric="rut_vs_spx.ret_ytd_spread", op=">", threshold=0.01, holds="Ahead by over {threshold}.")
    u = u.model_copy(update={"claims": {"lead": spread}})
    out = signals.evaluate_claims(u, {"rut_vs_spx.ret_ytd_spread": _metric(0.02, "fraction")},
                                  {"rut_vs_spx.ret_ytd_spread": None}, START)["lead"]
    assert out["text"] == "Ahead by over +1\u00a0pp."  # a spread reads in percentage points, as claim() shows it


@pytest.mark.parametrize("section, item, message", [
    ("claims", CLAIM | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "holds": "above {treshold}"},
     r"^\S*universe\.yml: claims\.x: holds: unknown placeholder '\{treshold\}'; did you mean \{threshold\}\?$"),
    ("claims", CLAIM | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "fails": "below {threshold:.1f}"},
     r"claims\.x: fails: unknown placeholder '\{threshold:\.1f\}'; use \{threshold\} or \{clear\}$"),
    ("claims", CLAIM | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "holds": "falls below {clear}"},
     r"claims\.x: holds: \{clear\} has no number to show: the item has no clear level \(clear: N\)$"),
    ("claims", CLAIM | {"metric": "levels.breakout_above", "op": "true", "title": "Above {threshold}"},
     r"claims\.x: title: \{threshold\} has no number to show: op 'true' takes no threshold$"),
    ("claims", CLAIM | {"all": [{"metric": "rut.above_sma_50", "op": "true"}], "holds": "{threshold}"},
     r"claims\.x: holds: \{threshold\} has no number to show: a compound item has no single threshold$"),
    ("claims", CLAIM | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "holds": "a { brace"},
     r"claims\.x: holds: .*write \{\{ and \}\} for a literal brace"),
    ("watchlist", WATCH | {"metric": "rut.rsi_14", "op": ">", "threshold": 70, "near": 3, "why": "over {clear}"},
     r"watchlist\.x: why: \{clear\} has no number to show"),
])
def test_a_bad_placeholder_is_a_one_line_config_error(tmp_path, section, item, message):
    with pytest.raises(ConfigError, match=message) as err:
        _load_with(tmp_path, section, "x", item)()
    assert "\n" not in str(err.value)


def test_the_default_universe_writes_each_threshold_once(universe):
    assert "{threshold}" in universe.claims["overbought"].holds and "{clear}" in universe.claims["overbought"].holds
    assert universe.watchlist["claims_rise"].title == "Jobless claims above {threshold}"


# ------------------------------------------------------------------ unknown fields name the closest


@pytest.mark.parametrize("edit, message", [
    (lambda raw: raw["claims"]["rotation"].update(treshold=raw["claims"]["rotation"].pop("threshold")),
     "claims.rotation: unknown field 'treshold'; did you mean 'threshold'?"),
    (lambda raw: raw["claims"]["above_averages"]["all"][0].update(metrc="x"),
     "claims.above_averages.all.0: unknown field 'metrc'; did you mean 'metric'?"),
    (lambda raw: raw["watchlist"]["claims_rise"].update(whyy="w"),
     "watchlist.claims_rise: unknown field 'whyy'; did you mean 'why'?"),
    (lambda raw: raw["publish"].update(cores=["rut"]), "publish: unknown field 'cores'; did you mean 'core'?"),
    (lambda raw: raw.update(claimz={}), "(top level): unknown field 'claimz'; did you mean 'claims'?"),
    (lambda raw: raw["validation"].update(colour="red"),
     "validation: unknown field 'colour'; valid fields: max_daily_move, max_stale_sessions, revision_tolerance, "
     "provisional_sessions, settle_minutes"),
])
def test_an_unknown_field_names_the_models_closest_fields(tmp_path, edit, message):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    edit(raw)
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        config.load_universe(path)
    assert str(err.value).split(" (and ")[0] == f"{path}: {message}"
