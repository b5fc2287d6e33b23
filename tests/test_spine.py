"""The compute spine: the exchange calendar indexes every series, one series' defects never reach
another's numbers, and every catalog key has one definition (its daily series)."""
from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import talib
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from build_data import config, sessions
from build_data.compute import keys
from build_data.build import frame
from build_data.compute import catalog, values
from build_data.fetch.gather import Options, gather
from build_data.errors import ConfigError
from build_data.fetch.sources import sample
from tests.conftest import FIXED_NOW, build_snapshot, day, write_csv_folder

AS_OF = day("2026-01-16")


@pytest.fixture(scope="module")
def clean_prices(universe):
    return sample.sample_prices([s.ticker for s in universe.symbols.values()], AS_OF)


@pytest.fixture(scope="module")
def clean_macro(universe):
    return sample.sample_macro([m.series for m in universe.macro.values()], AS_OF)


@pytest.fixture(scope="module")
def clean_build(universe, facts, clean_prices, clean_macro, tmp_path_factory):
    folder = write_csv_folder(tmp_path_factory.mktemp("clean"), clean_prices, clean_macro)
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=AS_OF)
    return snap


def _depends(universe, entries, key_or_item) -> set[str]:
    return set().union(*(entries[c.metric].inputs(universe) for c in key_or_item.conditions))


# ----------------------------------------------------------------------------- isolation

def _perturb(frame_: pd.DataFrame, kind: str, draw) -> pd.DataFrame | None:
    """One real-data defect applied to one series (None: the file is removed)."""
    if kind == "remove":
        return None
    if kind == "non_sessions":
        days = pd.DatetimeIndex(pd.date_range(frame_.index[0], frame_.index[-1]))
        off = sessions.non_sessions(days)
        picks = off[draw(st.lists(st.integers(0, len(off) - 1), min_size=1, max_size=4, unique=True))]
        extra = pd.DataFrame({c: frame_[c].iloc[-1] * 1.01 for c in frame_.columns}, index=picks)
        return pd.concat([frame_, extra]).sort_index()
    if kind == "delete_sessions":
        rows = draw(st.lists(st.integers(1, len(frame_) - 2), min_size=1, max_size=5, unique=True))
        return frame_.drop(frame_.index[rows])
    if kind == "late_start":
        return frame_.iloc[draw(st.integers(100, len(frame_) - 30)):]
    if kind == "early_end":
        return frame_.iloc[: len(frame_) - draw(st.integers(1, 40))]
    if kind == "duplicate_last":
        return pd.concat([frame_, frame_.iloc[[-1]]])
    raise AssertionError(kind)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          derandomize=True)
@given(st.data())
def test_one_series_defect_changes_nothing_that_does_not_read_it(universe, facts, clean_prices, clean_macro,
                                                                 clean_build, tmp_path_factory, data):
    alias = data.draw(st.sampled_from(list(universe.symbols)), label="series")
    kind = data.draw(st.sampled_from(["non_sessions", "delete_sessions", "late_start", "early_end",
                                      "duplicate_last", "remove"]), label="defect")
    ticker = universe.symbols[alias].ticker
    prices = dict(clean_prices)
    bad = _perturb(prices[ticker], kind, data.draw)
    if bad is None:
        del prices[ticker]
    else:
        prices[ticker] = bad
    folder = write_csv_folder(tmp_path_factory.mktemp("perturbed"), prices, clean_macro)
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=folder, as_of=AS_OF)

    assert snap["as_of"] == clean_build["as_of"]
    entries = catalog.entries(universe)
    untouched = [k for k, e in entries.items() if alias not in e.inputs(universe)]
    assert len(untouched) > 400
    for key in untouched:
        assert snap["metrics"][key] == clean_build["metrics"][key], key
    for cid, claim in universe.claims.items():
        if alias not in _depends(universe, entries, claim):
            assert snap["claims"][cid] == clean_build["claims"][cid], cid
    for wid, item in universe.watchlist.items():
        if alias not in _depends(universe, entries, item):
            assert snap["watchlist"][wid] == clean_build["watchlist"][wid], wid
    others = {a: s for a, s in snap["series_status"].items() if a != alias}
    assert others == {a: s for a, s in clean_build["series_status"].items() if a != alias}


def test_bars_on_non_sessions_are_dropped_with_a_note_and_move_nothing(universe, facts, clean_prices, clean_macro,
                                                                       clean_build, tmp_path):
    prices = dict(clean_prices)
    rut = prices["^RUT"]
    weekend = pd.DatetimeIndex(["2026-01-03", "2026-01-10", "2026-01-17"])  # two Saturdays and one after the as-of
    holiday = pd.DatetimeIndex(["2025-12-25"])
    extra = pd.DataFrame({c: rut[c].iloc[-1] * 1.2 for c in rut.columns}, index=weekend.append(holiday))
    prices["^RUT"] = pd.concat([rut, extra]).sort_index()
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=write_csv_folder(tmp_path, prices, clean_macro),
                             as_of=AS_OF)
    assert snap["as_of"] == "2026-01-16"
    note = snap["series_status"]["rut"]["quality"]
    # The row after the as-of date is not spoken of: an as-of build's notes know only its past.
    assert note == ["dropped 3 rows dated on non-sessions: 2025-12-25, 2026-01-03, 2026-01-10"]
    assert snap["metrics"] == clean_build["metrics"]


def test_a_trailing_saturday_row_does_not_move_the_as_of(universe, facts, clean_prices, clean_macro, tmp_path):
    prices = dict(clean_prices)
    iwm = prices["IWM"]
    prices["IWM"] = pd.concat([iwm, iwm.iloc[[-1]].set_axis(pd.DatetimeIndex(["2026-01-17"]))])
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=write_csv_folder(tmp_path, prices, clean_macro))
    assert snap["as_of"] == "2026-01-16"
    assert sum(v["value"] is None for v in snap["metrics"].values()) < 20


def test_a_gap_empties_only_the_metrics_whose_window_holds_it(universe, facts, clean_prices, clean_macro, tmp_path):
    prices = dict(clean_prices)
    prices["^GSPC"] = prices["^GSPC"].drop(pd.Timestamp("2026-01-08"))  # 6 sessions before the as-of
    snap, _ = build_snapshot(universe, facts, source="csv", data_dir=write_csv_folder(tmp_path, prices, clean_macro),
                             as_of=AS_OF)
    metrics = snap["metrics"]
    for name in ("sma_50", "sma_200", "rsi_14", "vol_20d", "high_52w"):
        assert metrics[f"spx.{name}"]["value"] is None
        assert "gap: no close on 2026-01-08" in metrics[f"spx.{name}"]["reason"], name
    for name in ("close", "ret_1d", "ret_ytd", "record_close", "drawdown"):
        assert metrics[f"spx.{name}"]["value"] is not None, name
    assert snap["series_status"]["spx"]["quality"] == ["1 session missing: 2026-01-08"]


# --------------------------------------------------------------------------- the catalog

@pytest.fixture(scope="module")
def sample_data(universe):
    got = gather(Options(source="sample", as_of=AS_OF, now=FIXED_NOW), universe, log=lambda _m: None)
    return frame(got, universe)


@pytest.fixture(scope="module")
def sample_metrics(sample_data):
    return values.compute_metrics(sample_data)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("key", sorted(catalog.keys_for(keys.load_universe())))
def test_every_key_has_a_daily_series_whose_last_value_is_the_published_one(universe, sample_data, sample_metrics,
                                                                            key):
    entry = catalog.entries(universe)[key]
    series = values.history(key, sample_data)
    assert series.notna().any(), f"{key}: no daily series"
    if entry.family in ("macro", "range"):
        last = series.dropna().iloc[-1]  # a macro metric stands at its own last observation
    else:
        last = series.loc[pd.Timestamp(AS_OF)] if pd.Timestamp(AS_OF) in series.index else None
    last = values._plain(last)
    if entry.spec.unit == "sessions" and last is not None:
        last = int(last)
    metric = sample_metrics[key]
    assert _same(metric.value, last), f"{key}: published {metric.value!r}, series ends at {last!r}"
    assert (metric.value is None) == (metric.reason is not None)


def test_every_claim_and_watch_item_has_a_history_and_a_since(sample_snapshot):
    for group in ("claims", "watchlist"):
        for item_id, item in sample_snapshot[group].items():
            assert item["since"], f"{group}.{item_id}: no since"
            assert isinstance(item["flips"], list)


def test_the_catalog_and_the_metrics_list_the_same_keys(universe, sample_metrics):
    assert set(sample_metrics) == set(catalog.keys_for(universe))
    assert {e.family for e in catalog.entries(universe).values()} == {
        "symbol", "volume", "pair", "sectors", "breadth", "levels", "targets", "macro", "range"}


# ------------------------------------------------------------------------- derived series

DERIVED = {
    "rut_spx": {"ratio": ["rut", "spx"], "name": "Russell 2000 / S&P 500", "short": "RUT/SPX"},
    "rut_less_spx": {"spread": ["rut", "spx"], "name": "Russell 2000 minus S&P 500"},
}


def _derived_raw() -> dict:
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text(encoding="utf-8"))
    raw["symbols"]["rut"]["short"] = "RUT"
    raw["symbols"]["spx"]["short"] = "SPX"
    raw["derived"] = copy.deepcopy(DERIVED)
    raw["pairs"]["rutspx_vs_ndx"] = {"a": "rut_spx", "b": "ndx"}
    raw["levels"]["rs_line"] = {"symbol": "rut_spx", "value": 0.4, "label": "0.40 relative-strength line"}
    raw["claims"]["rs_momentum"] = {
        "page": "bull", "title": "Small caps' relative strength has momentum", "metric": "rut_spx.ret_20d",
        "op": ">", "threshold": 0, "confirm": 1,
        "holds": "The Russell 2000 gained on the S&P 500 over the last 20 sessions.",
        "fails": "The Russell 2000 lost ground to the S&P 500 over the last 20 sessions."}
    return raw


@pytest.fixture(scope="module")
def derived_universe(tmp_path_factory) -> config.Universe:
    path = tmp_path_factory.mktemp("derived") / "universe.yml"
    path.write_text(yaml.safe_dump(_derived_raw()), encoding="utf-8")
    return keys.load_universe(path)


@pytest.fixture(scope="module")
def derived_data(derived_universe):
    got = gather(Options(source="sample", as_of=AS_OF, now=FIXED_NOW), derived_universe, log=lambda _m: None)
    return frame(got, derived_universe)


@pytest.fixture(scope="module")
def derived_metrics(derived_data):
    return values.compute_metrics(derived_data)


def test_a_ratio_series_gets_every_symbol_metric_from_a_over_b(derived_universe, derived_data, derived_metrics):
    closes = derived_data.closes
    ratio = (closes["rut"] / closes["spx"]).dropna()
    assert {f"rut_spx.{s.name}" for s in catalog.SYMBOL} <= set(derived_metrics)
    assert derived_metrics["rut_spx.close"].value == pytest.approx(ratio.iloc[-1])
    assert derived_metrics["rut_spx.close"].unit == "ratio"  # a ratio of two prices is not a price
    # RSI-14 of the ratio, computed by TA-Lib from a / b: the same number.
    assert derived_metrics["rut_spx.rsi_14"].value == pytest.approx(talib.RSI(ratio.to_numpy(), 14)[-1], abs=1e-9)
    assert derived_metrics["rut_spx.ret_20d"].value == pytest.approx(ratio.iloc[-1] / ratio.iloc[-21] - 1)
    assert derived_metrics["rut_spx.sma_50"].value == pytest.approx(ratio.iloc[-50:].mean())
    assert derived_metrics["rut_spx.rsi_14"].source == "computed: RUT / SPX"
    assert derived_metrics["rut_spx.rsi_14"].label == "Russell 2000 / S&P 500 RSI-14"  # one series: its full name


def test_a_spread_series_is_a_minus_b(derived_data, derived_metrics):
    closes = derived_data.closes
    spread = closes["rut"] - closes["spx"]
    assert derived_metrics["rut_less_spx.close"].value == pytest.approx(spread.iloc[-1])
    assert derived_metrics["rut_less_spx.close"].unit == "price"
    assert derived_metrics["rut_less_spx.drawdown"].value == pytest.approx(
        spread.iloc[-1] / spread.cummax().iloc[-1] - 1)
    assert derived_metrics["rut_less_spx.close"].source == "computed: RUT - SPX"


def test_a_gap_in_one_leg_empties_the_derived_series_there_only(derived_universe, derived_data, derived_metrics):
    closes = derived_data.closes[list(derived_universe.symbols)].copy()
    hole = closes.index[-5]
    closes.loc[hole, "spx"] = np.nan
    gapped = values.Data(closes, derived_data.volumes, derived_data.macro, derived_universe,
                         dict(derived_data.sources), dict(derived_data.missing), derived_data.adj_closes)
    ratio = gapped.closes["rut_spx"]
    assert ratio.isna().sum() == derived_data.closes["rut_spx"].isna().sum() + 1 and np.isnan(ratio[hole])
    pd.testing.assert_series_equal(ratio.drop(hole), derived_data.closes["rut_spx"].drop(hole))
    out = values.compute_metrics(gapped)
    # The other series' numbers do not move; the derived series' last close is still there; its
    # windows that hold the hole are empty, with the gap named.
    for key in [k for k in derived_metrics if k.startswith(("rut.", "ndx.", "iwm."))]:
        assert out[key] == derived_metrics[key], key
    assert out["rut_spx.close"].value == derived_metrics["rut_spx.close"].value
    assert out["rut_spx.sma_50"].value is None and hole.date().isoformat() in out["rut_spx.sma_50"].reason
    assert out["spx.sma_50"].value is None


def test_a_derived_series_goes_in_a_pair_a_level_and_a_claim(derived_universe, facts):
    snap, _ = build_snapshot(derived_universe, facts, source="sample", as_of=AS_OF)
    m = snap["metrics"]
    assert m["rutspx_vs_ndx.ratio"]["value"] == pytest.approx(m["rut_spx.close"]["value"] / m["ndx.close"]["value"],
                                                              rel=1e-6)
    assert m["rutspx_vs_ndx.ret_20d_spread"]["value"] == pytest.approx(
        m["rut_spx.ret_20d"]["value"] - m["ndx.ret_20d"]["value"], abs=1e-6)
    # A label naming two series uses their short names; one naming a single symbol, its full name.
    # Two price-return series (a derived series counts its legs' quoted closes): a price return gap.
    assert m["rutspx_vs_ndx.ret_ytd_spread"]["label"] == "RUT/SPX vs Nasdaq-100: YTD price return gap"
    assert m["rut_vs_spx.ret_ytd_spread"]["label"] == "RUT vs SPX: YTD price return gap"
    assert m["rut.close"]["label"] == "Russell 2000 close"
    assert m["levels.rs_line_distance"]["value"] == pytest.approx(m["rut_spx.close"]["value"] / 0.4 - 1, rel=1e-6)
    assert m["levels.rs_line_above"]["value"] is (m["rut_spx.close"]["value"] > 0.4)
    claim = snap["claims"]["rs_momentum"]
    assert claim["holds"] is (m["rut_spx.ret_20d"]["value"] > 0)
    assert claim["since"]


@pytest.mark.parametrize("change, message", [
    (lambda r: r["derived"]["rut_spx"].update(ratio=["rut", "sp500"]),
     r"universe\.yml: \(top level\): Value error, derived\.rut_spx\.ratio: unknown symbol alias 'sp500'; closest: spx$"),
    (lambda r: r["derived"].update(rut={"ratio": ["rut", "spx"], "name": "x"}),
     r"derived\.rut: the alias is already a symbol's; give the derived series another$"),
    (lambda r: r["derived"].update(rut_vs_spx={"spread": ["rut", "spx"], "name": "x"}),
     r"derived\.rut_vs_spx: the alias is already a pair's"),
    (lambda r: r["derived"]["rut_spx"].update(spread=["rut", "spx"]),
     r"derived\.rut_spx: Value error, give exactly one of ratio: \[a, b\] or spread: \[a, b\]$"),
    (lambda r: r["pairs"].update(x={"a": "rut_spz", "b": "spx"}),
     r"pairs\.x: unknown symbol alias 'rut_spz'; closest: rut_spx"),
    (lambda r: r["claims"]["rs_momentum"].update(metric="rut_spx.rsi_41"),
     r"claims\.rs_momentum: unknown metric key 'rut_spx\.rsi_41'; closest: rut_spx\.rsi_14"),
])
def test_a_bad_derived_series_is_a_one_line_error_with_the_closest_aliases(tmp_path, change, message):
    raw = _derived_raw()
    change(raw)
    path = tmp_path / "universe.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        keys.load_universe(path)
    assert "\n" not in str(err.value)


def test_every_catalog_spec_has_exactly_one_function():
    from build_data.compute import formulas
    for family, specs in catalog.FAMILIES.items():
        assert [s.name for s in specs] == list(formulas.FUNCTIONS[family]), family
    assert set(formulas.FUNCTIONS) == set(catalog.FAMILIES)


def test_every_derived_key_has_a_daily_series_whose_last_value_is_the_published_one(derived_universe, derived_data,
                                                                                    derived_metrics):
    derived_keys = [k for k in catalog.keys_for(derived_universe)
                    if k.startswith(("rut_spx.", "rut_less_spx.", "rutspx_vs_ndx.", "levels.rs_line"))]
    assert len(derived_keys) == 2 * len(catalog.SYMBOL) + len(catalog.PAIR) + len(catalog.LEVEL)
    for key in derived_keys:
        series = values.history(key, derived_data)
        last = values._plain(series.get(pd.Timestamp(AS_OF)))
        if catalog.entries(derived_universe)[key].spec.unit == "sessions" and last is not None:
            last = int(last)
        metric = derived_metrics[key]
        # Only a streak rank may be empty (no current streak): its reason comes from its catalog entry.
        assert metric.value is not None or metric.reason.startswith("no current streak: RUT/SPX did not beat"), key
        assert _same(metric.value, last), f"{key}: published {metric.value!r}, series ends at {last!r}"


def test_a_build_checks_the_claims_against_the_catalog_however_the_universe_was_made(derived_universe, facts):
    bad = config.Claim(page="bull", title="t", metric="rut_spx.rsi_41", op=">", threshold=50, holds="h", fails="f")
    u = derived_universe.model_copy(update={"claims": {"typo": bad}})
    with pytest.raises(ConfigError, match=r"universe\.yml: claims\.typo: unknown metric key 'rut_spx\.rsi_41'; "
                                          r"closest: rut_spx\.rsi_14"):
        build_snapshot(u, facts, source="sample", as_of=AS_OF)


def test_a_leg_with_no_data_empties_its_derived_series_with_the_legs_reason(derived_universe, derived_data):
    closes = derived_data.closes[list(derived_universe.symbols)].copy()
    closes["spx"] = np.nan
    sources, missing = dict(derived_data.sources), {"spx": "yahoo: HTTP 404"}
    out = values.compute_metrics(values.Data(closes, derived_data.volumes, derived_data.macro, derived_universe,
                                             sources, missing))
    assert missing == {"spx": "yahoo: HTTP 404"}  # the caller's dicts are left as they were
    assert out["rut_spx.rsi_14"].value is None and out["rut_spx.rsi_14"].reason == "no data: spx: yahoo: HTTP 404"
    assert out["rutspx_vs_ndx.ratio"].reason == "no data for Russell 2000 / S&P 500"
    assert out["levels.rs_line_distance"].reason == "no data for Russell 2000 / S&P 500"
    assert out["rut.rsi_14"].value is not None


def test_catalog_units_are_the_named_units():
    from build_data import units
    from build_data.publish import contract
    assert {s.unit for specs in catalog.FAMILIES.values() for s in specs} <= set(units.METRIC_UNITS) | {units.NATIVE}
    assert contract.UNITS == set(units.METRIC_UNITS)
    with pytest.raises(ValueError, match="unknown unit 'furlongs'"):
        catalog.Spec("x", "furlongs", "{name} x", "d")
