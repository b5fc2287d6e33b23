"""The catalog's metric functions (the ones production runs, through `formulas`) against hand
computations, a published worked example and TA-Lib."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings, strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from build_data.compute import formulas
from build_data.compute import metrics as m


def catalog_fn(name: str):
    """The function the catalog computes the per-symbol metric `name` with."""
    return formulas.function("symbol", name)


def series(values, start="2026-01-02"):
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)), dtype="float64")


# StockCharts ChartSchool "Relative Strength Index" worked example (cs-rsi.xls): 33 closes and
# the RSI-14 it prints from the 15th close on. The sheet rounds its first averages to two
# decimals (0.24 / 0.10), so its printed values sit within 0.1 of the exact computation.
STOCKCHARTS_CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
                      45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45,
                      45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]
STOCKCHARTS_RSI = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42,
                   39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77]


def test_rsi_matches_stockcharts_worked_example():
    rsi = catalog_fn("rsi_14")(series(STOCKCHARTS_CLOSES))
    assert rsi.iloc[:14].isna().all()
    assert np.allclose(rsi.iloc[14:].to_numpy(), STOCKCHARTS_RSI, atol=0.1)


def test_rsi_first_value_by_hand():
    # First 14 changes: gains sum 3.34, losses sum 1.40 -> RS = 3.34 / 1.40.
    rsi = catalog_fn("rsi_14")(series(STOCKCHARTS_CLOSES))
    assert rsi.iloc[14] == pytest.approx(100 - 100 / (1 + 3.34 / 1.40), abs=1e-9)


def test_rsi_equals_talib_on_a_long_series():
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600)))
    ours = catalog_fn("rsi_14")(series(closes)).to_numpy()
    ref = talib.RSI(closes, timeperiod=14)
    assert np.allclose(ours[14:], ref[14:], atol=1e-9)


def test_rsi_differs_from_the_simple_average_variant():
    rng = np.random.default_rng(3)
    s = series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 100))))
    delta = s.diff()
    cutler = 100 - 100 / (1 + delta.clip(lower=0).rolling(14).mean() / (-delta).clip(lower=0).rolling(14).mean())
    assert (m.to_rsi(s) - cutler).abs().iloc[30:].max() > 1


def test_rsi_edges():
    assert catalog_fn("rsi_14")(series(range(1, 31))).iloc[-1] == 100  # only gains
    assert catalog_fn("rsi_14")(series([5.0] * 30)).iloc[-1] == 50  # flat


def test_rsi_vectorized_over_columns_matches_per_column():
    c = STOCKCHARTS_CLOSES
    frame = pd.DataFrame({"a": c, "b": [np.nan] * 3 + c[:-3]}, index=pd.bdate_range("2026-01-02", periods=len(c)))
    wide = m.to_rsi(frame)
    assert np.allclose(wide["b"].dropna().to_numpy(), catalog_fn("rsi_14")(series(c[:-3])).dropna().to_numpy())


@pytest.mark.parametrize("values, expected", [
    ([100, 110], 0.10),
    ([100, 110, 99], -0.10),
    ([50, 50], 0.0),
])
def test_one_day_return(values, expected):
    assert catalog_fn("ret_1d")(series(values)).iloc[-1] == pytest.approx(expected)


def test_twenty_session_return_by_hand():
    closes = [100.0 + i for i in range(25)]
    ret = catalog_fn("ret_20d")(series(closes))
    assert ret.iloc[:20].isna().all()  # no close 20 sessions back yet
    assert ret.iloc[20] == pytest.approx(120 / 100 - 1)
    assert ret.iloc[-1] == pytest.approx(124 / 104 - 1)
    with_gap = series(closes).copy()
    with_gap.iloc[4] = np.nan  # the base of the last value: no base, no return (never bridged)
    assert math.isnan(catalog_fn("ret_20d")(with_gap).iloc[-1])


def test_calendar_returns_and_ytd_base():
    s = pd.Series([100.0, 104.0, 110.0, 121.0],
                  index=pd.to_datetime(["2025-12-30", "2025-12-31", "2026-01-02", "2026-02-02"]))
    as_of = pd.Timestamp("2026-02-02")
    assert s.index[-1] == as_of
    # YTD base is the 2025-12-31 close (104), not the first 2026 close.
    assert catalog_fn("ret_ytd")(s).iloc[-1] == pytest.approx(121 / 104 - 1)
    # 1m base: last close on or before 2026-01-02 -> 110.
    assert catalog_fn("ret_1m")(s).iloc[-1] == pytest.approx(0.1)


def test_return_without_a_base_is_nan_not_filled():
    s = series([100.0, 101.0], start="2026-03-02")
    assert math.isnan(catalog_fn("ret_ytd")(s).iloc[-1])
    assert math.isnan(catalog_fn("ret_1m")(s).iloc[-1])


def test_sma_and_drawdown_by_hand():
    s = series([10, 12, 8, 9, 16])
    assert m.to_sma(s, 3).tolist()[2:] == pytest.approx([10, 29 / 3, 11])
    assert catalog_fn("drawdown")(s).tolist() == pytest.approx([0, 0, 8 / 12 - 1, 9 / 12 - 1, 0])
    assert catalog_fn("pct_from_record")(s).tolist() == pytest.approx([0, 0, 8 / 12 - 1, 9 / 12 - 1, 0])
    long = series(range(1, 71))
    assert catalog_fn("sma_50")(long).iloc[-1] == pytest.approx(sum(range(21, 71)) / 50)
    assert catalog_fn("above_sma_50")(long).iloc[-1] == True  # noqa: E712 (a numpy bool)
    # 50-day average now (of 21..70) over the one 20 sessions earlier (of 1..50), minus one.
    assert catalog_fn("sma_50_slope")(long).iloc[-1] == pytest.approx(45.5 / 25.5 - 1)
    assert math.isnan(catalog_fn("sma_50_slope")(long).iloc[-2])  # 69 sessions: too few


def test_volatility_by_hand():
    s = series([100, 101, 99, 102])
    logs = np.log([101 / 100, 99 / 101, 102 / 99])
    assert m.to_volatility(s, window=3).iloc[-1] == pytest.approx(np.std(logs, ddof=1) * np.sqrt(252))
    closes = series(100 * np.exp(np.cumsum(np.tile([0.01, -0.02, 0.015], 10))))
    logs = np.log(closes / closes.shift(1)).iloc[-20:]
    assert catalog_fn("vol_20d")(closes).iloc[-1] == pytest.approx(np.std(logs, ddof=1) * np.sqrt(252))


def test_records_and_streaks():
    s = series([10, 11, 10.5, 12, 12, 13])
    assert m.to_new_records(s).tolist() == [False, True, False, True, False, True]
    ties = series([1, 3, 2, 3])
    assert catalog_fn("record_close")(ties).iloc[-1] == 3
    assert catalog_fn("record_date")(ties).iloc[-1] == pd.Timestamp("2026-01-05")  # the first time, on ties
    assert catalog_fn("sessions_since_record")(ties).tolist() == [0, 0, 1, 2]
    flags = pd.Series([True, True, False, True, True, True, False, True])
    assert m.to_streak(flags).tolist() == [1, 2, 0, 1, 2, 3, 0, 1]


def test_outperformance_streak_and_rank():
    a = series([100, 101, 102, 101, 102, 103, 104])
    b = series([100, 100, 100, 100, 100, 100, 100])
    streak = m.to_streak(m.to_outperformance(a, b))
    assert streak.tolist() == [0, 1, 2, 0, 1, 2, 3]
    assert m.to_longest_streak(streak).iloc[-1] == 3
    assert m.to_longest_streak_date(streak).iloc[-1] == streak.index[-1]
    assert m.to_streak_rank(streak).iloc[-1] == 1
    assert m.to_streak_rank(streak.iloc[:5]).iloc[-1] == 2  # current run of 1 behind an earlier run of 2
    assert math.isnan(m.to_streak_rank(streak).iloc[3])  # no current run


def test_52_week_range_uses_the_trailing_year_only():
    idx = pd.to_datetime(["2024-11-01", "2025-12-01", "2026-06-01", "2026-11-20"])
    s = pd.Series([500.0, 90.0, 120.0, 100.0], index=idx)
    assert catalog_fn("high_52w")(s).iloc[-1] == 120.0
    assert catalog_fn("low_52w")(s).iloc[-1] == 90.0
    assert catalog_fn("pct_from_high_52w")(s).iloc[-1] == pytest.approx(100 / 120 - 1)


def test_metrics_do_not_mutate_input():
    s = series([1.0, 2.0, 3.0] * 10)
    before = s.copy()
    for f in (m.to_returns, m.to_rsi, m.to_drawdown, m.to_volatility, m.to_new_records):
        f(s)
    pd.testing.assert_series_equal(s, before)


prices = st.lists(st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=25, max_size=120)


@given(prices)
def test_drawdown_is_never_positive(values):
    assert (m.to_drawdown(series(values)).dropna() <= 1e-12).all()


@given(st.floats(min_value=0.01, max_value=1e6), st.integers(min_value=25, max_value=80))
def test_constant_series_has_zero_returns_and_volatility(level, n):
    s = series([level] * n)
    assert (m.to_returns(s).dropna() == 0).all()
    assert m.to_volatility(s).dropna().abs().max() < 1e-12


@settings(max_examples=50)
@given(prices, st.floats(min_value=0.01, max_value=1000))
def test_returns_rsi_and_drawdown_are_scale_free(values, k):
    s = series(values)
    for f in (m.to_returns, m.to_drawdown, m.to_rsi):
        assert np.allclose(f(s).to_numpy(), f(s * k).to_numpy(), equal_nan=True, rtol=1e-7, atol=1e-7)


@given(data_frames([column("a", elements=st.floats(0.5, 2.0)), column("b", elements=st.floats(0.5, 2.0))],
                   index=range_indexes(min_size=2, max_size=60)))
def test_rsi_stays_in_bounds(frame):
    rsi = m.to_rsi(frame.cumprod())
    assert ((rsi.dropna() >= 0) & (rsi.dropna() <= 100)).all().all()


def test_records_this_year_by_hand():
    s = pd.Series([10.0, 12.0, 11.0, 13.0, 12.5, 14.0, 14.0],
                  index=pd.to_datetime(["2025-12-29", "2025-12-30", "2025-12-31", "2026-01-02", "2026-01-05",
                                        "2026-01-06", "2026-01-07"]))
    # 2025: 12 is a record (10 is the first close, not a record); 2026: 13 and 14 (the tie is not).
    assert catalog_fn("records_ytd")(s).tolist() == [0, 1, 1, 1, 1, 2, 2]
    gap = s.copy()
    gap.iloc[4] = np.nan  # no close on 2026-01-05: the running record (13) is not forgotten
    assert catalog_fn("records_ytd")(gap).tolist()[3:] == [1, 1, 2, 2]
    gap.iloc[3] = np.nan  # nor 2026-01-02: 14 is then the year's first record close
    assert catalog_fn("records_ytd")(gap).tolist()[3:] == [0, 0, 1, 1]


def _rank_by_loop(streak: pd.Series) -> pd.Series:
    """The rank of each session's run, row by row: the definition `to_streak_rank` vectorizes."""
    values = streak.to_numpy()
    finished, out = [], []
    for i, v in enumerate(values):
        out.append(1 + sum(f > v for f in finished) if v > 0 else np.nan)
        if v > 0 and i < len(values) - 1 and values[i + 1] == 0:
            finished.append(v)
    return pd.Series(out, index=streak.index, dtype="float64")


def _messy_closes(rng) -> pd.DataFrame:
    """Random walks with the gaps a real universe has: a hole mid-series, a series ending early,
    one starting late, one flat (ties), one with a single close, one empty."""
    days = pd.bdate_range("2019-01-01", periods=900)
    closes = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0004, 0.015, (len(days), 8)), axis=0)),
                          index=days, columns=list("abcdefgh"))
    closes.iloc[200:260, 1] = np.nan
    closes.iloc[700:, 2] = np.nan
    closes.iloc[:400, 3] = np.nan
    closes.iloc[:, 4] = np.round(closes.iloc[:, 4] / 5) * 5
    closes.iloc[:-1, 5] = np.nan
    closes.iloc[:, 6] = np.nan
    closes.iloc[::7, 7] = np.nan
    return closes


def test_streak_rank_matches_a_row_by_row_count():
    rng = np.random.default_rng(7)
    flags = pd.Series(rng.random(600) < 0.55)
    streak = m.to_streak(flags)
    assert m.to_streak_rank(streak).equals(_rank_by_loop(streak))
    for tail in ([0, 0], [3], [1, 0, 1]):  # ends on a run, on a finished one, after zeros
        s = pd.Series([1, 2, 0, 1, 0, 1, 2, 3, 0, *tail], dtype="float64")
        assert m.to_streak_rank(s).equals(_rank_by_loop(s)), tail
    assert m.to_streak_rank(pd.Series([], dtype="float64")).empty


def test_drought_rank_over_a_frame_equals_each_column_alone():
    closes = _messy_closes(np.random.default_rng(3))
    frame = m.to_drought_rank(closes)
    assert frame.notna().sum().sum() > 1000  # ranks were computed, not all NaN
    for col in closes.columns:
        alone = m.to_drought_rank(closes[col])
        pd.testing.assert_series_equal(frame[col], alone, check_names=False)
        since = m.to_sessions_since_record(closes[col]).dropna()
        pd.testing.assert_series_equal(alone, _rank_by_loop(since).reindex(closes.index), check_names=False)


def test_symbol_metrics_over_a_frame_equal_each_column_alone():
    """Every symbol metric computed for all columns at once (what the snapshot does), intermediates
    shared between metrics, gives each column exactly what it gets alone."""
    closes = _messy_closes(np.random.default_rng(11))
    for name, fn in formulas.SYMBOL.items():
        frame = fn(closes)
        for col in closes.columns:
            pd.testing.assert_series_equal(frame[col], fn(closes[[col]])[col], check_names=False, obj=name)


def test_a_shared_intermediate_is_not_reused_for_another_frame():
    a = series([1.0, 2.0, 3.0, 4.0])
    assert m.to_sma(a, 2).iloc[-1] == 3.5
    assert m.to_sma(a, 2) is m.to_sma(a, 2)  # computed once for the same frame
    b = a * 10
    assert m.to_sma(b, 2).iloc[-1] == 35.0
    assert m.to_sma(a, 3).iloc[-1] == 3.0  # another window, another value
    del a, b
    assert not [k for k in m._SHARED if k[0] == "to_sma"]  # released with their frames
