"""The one function behind each catalog entry: its daily series. Same families and names as
`compute.catalog`; a test checks that every spec has exactly one function here and nothing else.

- symbol, volume: `prices -> DataFrame`, vectorized across symbols (columns), rows are exchange
  sessions; the snapshot's value is the last row, the signals and charts read the whole series.
- every other family: `(data, subject) -> Series`, where `data` is a `compute.values.Data` and
  `subject` the pair, level, macro alias, ... the key names.
"""
from __future__ import annotations

import pandas as pd

from build_data.compute import metrics as m
from build_data.compute.catalog import SLOPE_SESSIONS, VOLUME_WINDOW

RETURN_SESSIONS = 20   # ret_20d


def _slope(window: int):
    def frame(c):
        sma = m.to_sma(c, window)
        return sma / sma.shift(SLOPE_SESSIONS) - 1
    return frame


def _above(window: int):
    def frame(c):
        sma = m.to_sma(c, window)
        return (c > sma).where(sma.notna())
    return frame


def _horizon(name: str):
    return lambda c: m.to_horizon_return(c, name)


SYMBOL = {
    "close": lambda c: c,
    "ret_1d": m.to_returns,
    "ret_1w": _horizon("ret_1w"),
    "ret_20d": lambda c: m.to_returns(c, sessions=RETURN_SESSIONS),
    "ret_1m": _horizon("ret_1m"),
    "ret_3m": _horizon("ret_3m"),
    "ret_ytd": _horizon("ret_ytd"),
    "ret_1y": _horizon("ret_1y"),
    "rsi_14": m.to_rsi,
    "sma_50": lambda c: m.to_sma(c, 50),
    "sma_200": lambda c: m.to_sma(c, 200),
    "above_sma_50": _above(50),
    "above_sma_200": _above(200),
    "sma_50_slope": _slope(50),
    "sma_200_slope": _slope(200),
    "record_close": lambda c: c.cummax().ffill(),
    "record_date": m.to_record_date,
    "pct_from_record": m.to_drawdown,
    "sessions_since_record": m.to_sessions_since_record,
    "drought_rank": m.to_drought_rank,
    "records_ytd": m.to_records_ytd,
    "high_52w": m.to_range_high,
    "low_52w": m.to_range_low,
    "pct_from_high_52w": lambda c: c / m.to_range_high(c) - 1,
    "drawdown": m.to_drawdown,
    "vol_20d": m.to_volatility,
}

VOLUME = {
    "volume": lambda v: v,
    "volume_avg_63": lambda v: m.to_sma(v, VOLUME_WINDOW),
    "volume_ratio": lambda v: v / m.to_sma(v, VOLUME_WINDOW),
}


# ------------------------------------------------------------------ pairs

def _pair(fn):
    """A pair metric from the two closes (session-indexed, NaN where either has no close)."""
    def series(data, pair: str) -> pd.Series:
        p = data.universe.pairs[pair]
        return fn(data.closes[p.a], data.closes[p.b])
    return series


def _streak_of(data, pair: str) -> pd.Series:
    """Consecutive sessions in which A beat B (NaN where either has no close), computed once per build:
    the daily returns of each series' return closes (adjusted for a total-return fund)."""
    def make():
        p = data.universe.pairs[pair]
        a, b = data.return_closes[p.a], data.return_closes[p.b]
        return m.to_streak(m.to_outperformance(a, b)).where(a.notna() & b.notna())
    return data.memo(("streak", pair), make)


def _on_streak(fn):
    return lambda data, pair: fn(_streak_of(data, pair))


def _spread(horizon: str):
    """A's return minus B's, from the symbols' own return histories (one definition of a return,
    each on its own basis: the catalog labels a pair that mixes price and total return)."""
    def series(data, pair: str) -> pd.Series:
        p = data.universe.pairs[pair]
        return data.history(f"{p.a}.{horizon}") - data.history(f"{p.b}.{horizon}")
    return series


PAIR = {
    "ret_ytd_spread": _spread("ret_ytd"),
    "ret_3m_spread": _spread("ret_3m"),
    "ret_1m_spread": _spread("ret_1m"),
    "ret_20d_spread": _spread("ret_20d"),
    "outperf_streak": _on_streak(lambda s: s),
    "longest_outperf_streak": _on_streak(m.to_longest_streak),
    "longest_outperf_streak_date": _on_streak(lambda s: m.to_longest_streak_date(s.dropna())),
    "outperf_streak_rank": _on_streak(lambda s: m.to_streak_rank(s.dropna())),
    "ratio": _pair(lambda a, b: a / b),
}


# ------------------------------------------------------------------ sectors and breadth

def _sector_returns(data, horizon: str) -> pd.DataFrame:
    """Daily `horizon` returns of the sector funds that have data, columns named by display name,
    from their return closes (the same numbers as each fund's own `ret_*`)."""
    def make():
        have = [a for a in data.universe.sectors if a in data.closes.columns]
        closes = data.return_closes[have]
        rets = m.to_horizon_return(closes, f"ret_{horizon}") if horizon != "1d" else m.to_returns(closes)
        return rets.rename(columns=data.names)
    return data.memo(("sector returns", horizon), make)


def _pick(kind: str, horizon: str):
    def series(data, _subject) -> pd.Series:
        rets = _sector_returns(data, horizon)
        some = rets.notna().any(axis=1)
        if kind in ("leader", "laggard"):
            labels = pd.Series(None, index=rets.index, dtype=object)
            pick = rets[some].idxmax(axis=1) if kind == "leader" else rets[some].idxmin(axis=1)
            labels[some] = pick
            return labels
        return rets.max(axis=1) if kind == "leader_ret" else rets.min(axis=1)
    return series


def _positive_ytd(data, _subject) -> pd.Series:
    rets = _sector_returns(data, "ytd")
    return (rets > 0).sum(axis=1).where(rets.notna().any(axis=1)) / rets.notna().sum(axis=1)


SECTORS = {f"{kind}_{h}": _pick(kind, h) for h in ("1d", "1m", "ytd")
           for kind in ("leader", "leader_ret", "laggard", "laggard_ret")} | {"positive_ytd": _positive_ytd}


def _dispersion(data, _subject) -> pd.Series:
    basket = [a for a in data.universe.breadth_basket if a in data.closes.columns]
    rets = m.to_horizon_return(data.return_closes[basket], "ret_1m")
    return rets.std(axis=1, ddof=0).where(rets.notna().sum(axis=1) >= 2)


BREADTH = {"dispersion_1m": _dispersion}


# ------------------------------------------------------------------ levels and targets

def _level(fn):
    """A level metric from the level's symbol's close and the level's value; subject is "group.name"."""
    def series(data, subject: str) -> pd.Series:
        group, name = subject.split(".", 1)
        level = getattr(data.universe, group)[name]
        close = data.closes[level.symbol] if level.symbol in data.closes else pd.Series(dtype="float64")
        return fn(close, level.value)
    return series


_LEVEL_VALUE = _level(lambda c, v: c * 0 + v)
LEVEL = {
    "": _LEVEL_VALUE,
    "_distance": _level(lambda c, v: c / v - 1),
    "_above": _level(lambda c, v: (c > v).where(c.notna())),
}
TARGET = {
    "": _LEVEL_VALUE,
    "_move": _level(lambda c, v: v / c - 1),
}


# ------------------------------------------------------------------ macro series and ranges

def _macro(data, alias: str) -> pd.Series:
    return data.macro.get(alias, pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date")))


def _year_over_year(s: pd.Series) -> pd.Series:
    # Same month a year earlier, matched by date, never by position: a month never published leaves a hole.
    return s / s.shift(1, freq=pd.DateOffset(years=1)).reindex(s.index) - 1


MACRO = {
    "latest": _macro,
    "avg_4w": lambda data, alias: _macro(data, alias).rolling(4, min_periods=4).mean(),
    "yoy": lambda data, alias: _year_over_year(_macro(data, alias)),
}


def _range(data, name: str) -> pd.Series:
    cfg = data.universe.ranges[name]
    both = pd.concat([_macro(data, cfg.lo), _macro(data, cfg.hi)], axis=1, join="inner").dropna()
    return pd.Series([[float(lo), float(hi)] for lo, hi in both.to_numpy()], index=both.index, dtype=object)


RANGE = {"range": _range}

FUNCTIONS: dict[str, dict] = {
    "symbol": SYMBOL, "volume": VOLUME, "pair": PAIR, "sectors": SECTORS, "breadth": BREADTH,
    "levels": LEVEL, "targets": TARGET, "macro": MACRO, "range": RANGE,
}


def function(family: str, name: str):
    """The function of the catalog entry `name` in `family`."""
    return FUNCTIONS[family][name]
