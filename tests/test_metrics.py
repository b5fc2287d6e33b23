"""Metric functions against hand computations, a published worked example and TA-Lib."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings, strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from build_data.compute import metrics as m


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
    rsi = m.to_rsi(series(STOCKCHARTS_CLOSES))
    assert rsi.iloc[:14].isna().all()
    assert np.allclose(rsi.iloc[14:].to_numpy(), STOCKCHARTS_RSI, atol=0.1)


def test_rsi_first_value_by_hand():
    # First 14 changes: gains sum 3.34, losses sum 1.40 -> RS = 3.34 / 1.40.
    rsi = m.to_rsi(series(STOCKCHARTS_CLOSES))
    assert rsi.iloc[14] == pytest.approx(100 - 100 / (1 + 3.34 / 1.40), abs=1e-9)


def test_rsi_equals_talib_on_a_long_series():
    rng = np.random.default_rng(7)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600)))
    ours = m.to_rsi(series(closes)).to_numpy()
    ref = talib.RSI(closes, timeperiod=14)
    assert np.allclose(ours[14:], ref[14:], atol=1e-9)


def test_rsi_differs_from_the_simple_average_variant():
    rng = np.random.default_rng(3)
    s = series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 100))))
    delta = s.diff()
    cutler = 100 - 100 / (1 + delta.clip(lower=0).rolling(14).mean() / (-delta).clip(lower=0).rolling(14).mean())
    assert (m.to_rsi(s) - cutler).abs().iloc[30:].max() > 1


def test_rsi_edges():
    assert m.to_rsi(series(range(1, 31))).iloc[-1] == 100  # only gains
    assert m.to_rsi(series([5.0] * 30)).iloc[-1] == 50  # flat


def test_rsi_vectorized_over_columns_matches_per_column():
    c = STOCKCHARTS_CLOSES
    frame = pd.DataFrame({"a": c, "b": [np.nan] * 3 + c[:-3]}, index=pd.bdate_range("2026-01-02", periods=len(c)))
    wide = m.to_rsi(frame)
    assert np.allclose(wide["b"].dropna().to_numpy(), m.to_rsi(series(c[:-3])).dropna().to_numpy())


@pytest.mark.parametrize("values, expected", [
    ([100, 110], 0.10),
    ([100, 110, 99], -0.10),
    ([50, 50], 0.0),
])
def test_one_day_return(values, expected):
    assert m.to_returns(series(values)).iloc[-1] == pytest.approx(expected)


def test_calendar_returns_and_ytd_base():
    s = pd.Series([100.0, 104.0, 110.0, 121.0],
                  index=pd.to_datetime(["2025-12-30", "2025-12-31", "2026-01-02", "2026-02-02"]))
    as_of = pd.Timestamp("2026-02-02")
    # YTD base is the 2025-12-31 close (104), not the first 2026 close.
    assert m.calc_return(s, m.ytd_base_date(as_of)) == pytest.approx(121 / 104 - 1)
    # 1m base: last close on or before 2026-01-02 -> 110.
    assert m.calc_return(s, m.horizon_base_dates(as_of)["ret_1m"]) == pytest.approx(0.1)


def test_return_without_a_base_is_nan_not_filled():
    s = series([100.0, 101.0], start="2026-03-02")
    assert math.isnan(m.calc_return(s, pd.Timestamp("2025-12-31")))


def test_sma_and_drawdown_by_hand():
    s = series([10, 12, 8, 9, 16])
    assert m.to_sma(s, 3).tolist()[2:] == pytest.approx([10, 29 / 3, 11])
    assert m.to_drawdown(s).tolist() == pytest.approx([0, 0, 8 / 12 - 1, 9 / 12 - 1, 0])


def test_volatility_by_hand():
    s = series([100, 101, 99, 102])
    logs = np.log([101 / 100, 99 / 101, 102 / 99])
    assert m.to_volatility(s, window=3).iloc[-1] == pytest.approx(np.std(logs, ddof=1) * np.sqrt(252))


def test_records_and_streaks():
    s = series([10, 11, 10.5, 12, 12, 13])
    assert m.to_new_records(s).tolist() == [False, True, False, True, False, True]
    record, when = m.calc_record(series([1, 3, 2, 3]))
    assert record == 3 and when == pd.Timestamp("2026-01-05")  # the first time, on ties
    flags = pd.Series([True, True, False, True, True, True, False, True])
    assert m.to_streak(flags).tolist() == [1, 2, 0, 1, 2, 3, 0, 1]


def test_outperformance_streak_and_rank():
    a = series([100, 101, 102, 101, 102, 103, 104])
    b = series([100, 100, 100, 100, 100, 100, 100])
    streak = m.to_streak(m.to_outperformance(a, b))
    assert streak.tolist() == [0, 1, 2, 0, 1, 2, 3]
    longest, ended = m.calc_longest_streak(streak)
    assert longest == 3 and ended == streak.index[-1]
    assert m.calc_streak_rank(streak) == 1
    assert m.calc_streak_rank(streak.iloc[:5]) == 2  # current run of 1 behind an earlier run of 2


def test_52_week_range_uses_the_trailing_year_only():
    idx = pd.to_datetime(["2024-11-01", "2025-12-01", "2026-06-01", "2026-11-20"])
    s = pd.Series([500.0, 90.0, 120.0, 100.0], index=idx)
    high, low = m.calc_range(s, pd.Timestamp("2026-11-20"))
    assert (high, low) == (120.0, 90.0)


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


def test_records_since_matches_the_running_peak_definition():
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.001, 0.01, (600, 3)), axis=0)),
                         index=pd.bdate_range("2024-01-01", periods=600), columns=list("abc"))
    frame.iloc[:300, 2] = np.nan  # listed later
    start = pd.Timestamp("2025-01-01")
    expected = m.to_new_records(frame).loc[start:].sum()
    assert m.calc_records_since(frame, start).tolist() == expected.astype(float).tolist()
    assert m.calc_records_since(frame["a"], start) == expected["a"]
    assert m.calc_drawdown(frame["a"]) == pytest.approx(m.to_drawdown(frame["a"]).iloc[-1])


def test_rsi_on_a_600_session_tail_equals_rsi_on_the_whole_history():
    from build_data.compute.catalog import RSI_TAIL
    rng = np.random.default_rng(5)
    s = series(100 * np.exp(np.cumsum(rng.normal(0, 0.012, 3000))))
    assert m.to_rsi(s.iloc[-RSI_TAIL:]).iloc[-1] == pytest.approx(m.to_rsi(s).iloc[-1], rel=1e-12)
