"""Deterministic synthetic market data, used only when there is no network and no cache.

Every page built from it carries a "SAMPLE DATA, not real prices" banner. The paths are
random walks driven by fixed seeds, drawn session by session, so the history up to a date is
identical whatever the end date: `--as-of` rebuilds are reproducible.
"""
from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import pandas as pd

from build_data import sessions
from build_data.fetch.sources import PRICE_COLUMNS, macro_series

SAMPLE_START = dt.date(2014, 1, 2)
# Paths are scaled so the close on this date equals the level below; later dates vary freely.
ANCHOR = dt.date(2025, 12, 31)

# ticker: (anchor level, annual drift, beta to market, beta to small-cap factor, idiosyncratic vol)
PROFILES: dict[str, tuple[float, float, float, float, float]] = {
    "^RUT": (2480.0, 0.05, 1.1, 1.0, 0.04),
    "^GSPC": (6850.0, 0.08, 1.0, 0.0, 0.02),
    "^NDX": (25200.0, 0.11, 1.2, -0.2, 0.06),
    "IWM": (246.0, 0.05, 1.1, 1.0, 0.04),
    "IWC": (155.0, 0.04, 1.2, 1.4, 0.09),
    "IWN": (172.0, 0.04, 1.1, 0.8, 0.06),
    "IWO": (312.0, 0.06, 1.2, 1.1, 0.07),
    "IJR": (118.0, 0.05, 1.05, 0.8, 0.05),
}
SECTOR_BASE = {"XLK": 280.0, "XLF": 54.0, "XLV": 150.0, "XLP": 79.0, "XLY": 230.0, "XLI": 150.0,
               "XLE": 88.0, "XLU": 82.0, "XLB": 90.0, "XLRE": 42.0, "XLC": 112.0}
# Funds pay dividends (indexes do not): annual yield, paid quarterly, so the adjusted close (and
# a fund's total return) differs from the quoted close as it does on Yahoo.
DIVIDEND_YIELD = {"IWM": 0.011, "IWC": 0.010, "IWN": 0.018, "IWO": 0.006, "IJR": 0.014,
                  "XLK": 0.006, "XLF": 0.014, "XLV": 0.016, "XLP": 0.026, "XLY": 0.008, "XLI": 0.014,
                  "XLE": 0.032, "XLU": 0.028, "XLB": 0.019, "XLRE": 0.033, "XLC": 0.009}
DEFAULT_YIELD = 0.015
DEFAULT_VOLUME = {"IWM": 32e6, "IWC": 0.12e6, "IWN": 1.6e6, "IWO": 0.6e6, "IJR": 4.5e6}
TRADING_DAYS = 252
MARKET_VOL, SMALLCAP_VOL = 0.16, 0.09


def _profile(ticker: str) -> tuple[float, float, float, float, float]:
    if ticker in PROFILES:
        return PROFILES[ticker]
    level = SECTOR_BASE.get(ticker, 100.0)
    return (level, 0.06, 0.9, 0.1, 0.12)


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


def _factors(n: int) -> tuple[np.ndarray, np.ndarray]:
    draws = np.random.default_rng(352).standard_normal((n, 2))
    daily = np.sqrt(1 / TRADING_DAYS)
    return draws[:, 0] * MARKET_VOL * daily, draws[:, 1] * SMALLCAP_VOL * daily


def _smallcap_regime(days: pd.DatetimeIndex) -> np.ndarray:
    # A small-cap catch-up from mid-2025 on, so the sample tells the site's story.
    return np.where(days >= pd.Timestamp("2025-06-01"), 0.10 / TRADING_DAYS, -0.03 / TRADING_DAYS)


def sample_prices(tickers: list[str], end: dt.date) -> dict[str, pd.DataFrame]:
    """Synthetic daily bars from SAMPLE_START through `end` for each ticker."""
    days = sessions.sessions(SAMPLE_START, max(end, ANCHOR))
    n = len(days)
    market, smallcap = _factors(n)
    smallcap = smallcap + _smallcap_regime(days)
    anchor_pos = days.get_indexer([pd.Timestamp(ANCHOR)], method="pad")[0]
    out = {}
    for ticker in tickers:
        level, drift, beta_m, beta_s, idio = _profile(ticker)
        rng = np.random.default_rng(_seed(ticker))
        noise = rng.standard_normal((n, 4))
        log_ret = (drift / TRADING_DAYS + beta_m * market + beta_s * smallcap
                   + idio * np.sqrt(1 / TRADING_DAYS) * noise[:, 0])
        path = np.exp(np.cumsum(log_ret))
        close = path * level / path[anchor_pos]
        prev = np.concatenate([[close[0]], close[:-1]])
        open_ = prev * (1 + 0.002 * noise[:, 1])
        high = np.maximum(open_, close) * (1 + 0.004 * np.abs(noise[:, 2]))
        low = np.minimum(open_, close) * (1 - 0.004 * np.abs(noise[:, 3]))
        base_volume = DEFAULT_VOLUME.get(ticker, 8e6)
        volume = np.round(base_volume * np.exp(0.3 * noise[:, 1] - 0.045 + 2.0 * np.abs(log_ret)))
        frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                              "adj_close": close, "volume": volume}, index=days)[PRICE_COLUMNS].round(4)
        if not ticker.startswith("^"):
            frame["adj_close"] = adjusted_closes(frame["close"], DIVIDEND_YIELD.get(ticker, DEFAULT_YIELD),
                                                 days[anchor_pos])
        out[ticker] = frame.loc[: pd.Timestamp(end)]
    return out


def ex_dividend_days(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Quarterly ex-dividend sessions: the first session on or after the 20th of March, June,
    September and December."""
    late = days[(days.month % 3 == 0) & (days.day >= 20)]
    quarter = late.year * 12 + late.month
    return late[~pd.Index(quarter).duplicated()]


def adjusted_closes(close: pd.Series, annual_yield: float, anchor: pd.Timestamp) -> pd.Series:
    """Adjusted closes, as Yahoo makes them, for a fund paying `annual_yield` a year in quarterly
    dividends: each ex-dividend day scales every earlier close by (1 - dividend / the close before
    it), so returns from them include the dividends. Scaled so the adjusted close equals the close
    on `anchor` (as Yahoo's equals it on the last day): the history up to a date is the same
    whatever the end date, and `--as-of` rebuilds stay reproducible."""
    ex = ex_dividend_days(close.index)
    ex = ex[ex > close.index[0]]
    prior = close.shift(1).reindex(ex)
    dividend = (prior * annual_yield / 4).round(4)
    factor = pd.Series(1.0, index=close.index)
    factor.loc[ex] = 1 - dividend / prior
    # Total-return growth from the first day: 1 / the factors of every ex-dividend day so far.
    growth = 1 / factor.cumprod()
    return (close * growth / growth.loc[anchor]).round(4)


# Fed funds target lower bound: (effective date, level). Upper bound is 25 bp above.
FED_STEPS = [("2014-01-01", 0.0), ("2015-12-17", 0.25), ("2016-12-15", 0.5), ("2017-12-14", 1.25),
             ("2018-12-20", 2.25), ("2019-10-31", 1.5), ("2020-03-16", 0.0), ("2022-06-16", 1.5),
             ("2022-12-15", 4.25), ("2023-07-27", 5.25), ("2024-09-19", 4.75), ("2024-12-19", 4.25),
             ("2025-09-18", 4.0), ("2025-10-30", 3.75), ("2025-12-11", 3.5)]


def _walk(name: str, n: int, start: float, step: float, pull: float, mean: float) -> np.ndarray:
    """Mean-reverting random walk, drawn step by step so prefixes are stable."""
    shocks = np.random.default_rng(_seed(name)).standard_normal(n) * step
    out = np.empty(n)
    level = start
    for i in range(n):  # n is a few thousand at most; the recursion is inherently sequential
        level += pull * (mean - level) + shocks[i]
        out[i] = level
    return out


def sample_macro(series_ids: list[str], end: dt.date) -> dict[str, pd.Series]:
    """Synthetic macro observations in each FRED series' own frequency and unit."""
    start, stop = pd.Timestamp(SAMPLE_START), pd.Timestamp(max(end, ANCHOR))
    daily = pd.date_range(start, stop, freq="D")
    business = pd.bdate_range(start, stop)
    makers = {
        "ICSA": lambda: pd.Series(np.round(_walk("ICSA", len(idx := pd.date_range(start, stop, freq="W-SAT")),
                                                 240e3, 6e3, 0.05, 225e3), -3), index=idx),
        "DFEDTARL": lambda: _steps(daily, 0.0),
        "DFEDTARU": lambda: _steps(daily, 0.25),
        "CPIAUCSL": lambda: pd.Series(
            np.round(234.0 * np.exp(np.cumsum(0.0022 + 0.0015 * np.random.default_rng(_seed("CPI")).standard_normal(
                len(idx := pd.date_range(start, stop, freq="MS"))))), 3), index=idx),
        "GDPNOW": lambda: pd.Series(np.round(_walk("GDPNOW", len(idx := pd.date_range(start, stop, freq="7D")),
                                                   2.0, 0.35, 0.1, 2.3), 1), index=idx),
        "DGS10": lambda: pd.Series(np.round(_walk("DGS10", len(business), 2.9, 0.05, 0.002, 3.6), 2), index=business),
        "BAMLH0A0HYM2": lambda: pd.Series(np.round(_walk("HY", len(business), 3.8, 0.05, 0.01, 3.4).clip(2.4), 2),
                                          index=business),
    }
    out = {}
    for sid in series_ids:
        if sid in makers:
            out[sid] = macro_series(makers[sid]().loc[: pd.Timestamp(end)], sid)
    return out


def _steps(days: pd.DatetimeIndex, offset: float) -> pd.Series:
    steps = pd.Series({pd.Timestamp(d): lo + offset for d, lo in FED_STEPS})
    return steps.reindex(days, method="ffill")
