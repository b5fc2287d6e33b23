"""The metric catalog: every key pattern the snapshot can hold, with its unit, its definition and
the function that computes its daily series. One definition per metric: the snapshot's values,
the signals' histories (since, flips) and the charts all come from here.

`build_data list`, the methodology page's metric reference and the labels in metrics.json come
from here too, so they cannot drift apart.

Families and what their functions take:
- symbol, volume: `frame(prices) -> DataFrame`, vectorized across symbols (columns), rows are
  exchange sessions; `last(prices) -> Series` is an optional fast path for the last row.
- every other family: `series(data, subject) -> Series`, where `data` is a `compute.values.Data`
  and `subject` the pair, level, macro alias, ... the key names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import importlib


class _OnFirstUse:
    """A module imported the first time one of its names is used: the catalog's keys, units and
    labels (`build_data list`, config checks) are read without loading pandas."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


def _call(name: str):
    """`metrics.<name>`, looked up when called."""
    return lambda *args, **kwargs: getattr(m, name)(*args, **kwargs)


np, pd, m = _OnFirstUse("numpy"), _OnFirstUse("pandas"), _OnFirstUse("build_data.compute.metrics")

SLOPE_SESSIONS = 20
# Wilder's average forgets its seed at (13/14)^n: after 600 sessions the seed's weight is about
# 1e-19, below double precision, so RSI on the last 600 sessions equals RSI on the whole history.
RSI_TAIL = 600
VOLUME_WINDOW = 63


@dataclass(frozen=True)
class Spec:
    name: str          # metric part of the key, e.g. "ret_ytd"
    unit: str          # fraction | percent | percent_range | price | index | count | ratio | sessions | date | bool | label
    label: str         # "{name} YTD return": {name} is the symbol's or series' display name
    definition: str    # one sentence for the methodology page
    min_sessions: int = 1
    frame: Callable | None = None    # symbol/volume families: prices -> daily values, all columns at once
    last: Callable | None = None     # optional fast path: prices -> the last row's values
    series: Callable | None = None   # other families: (data, subject) -> daily series
    # Sessions the last value reads (or "365D"): a missing session inside makes it empty, with the gap named.
    window: int | str | None = None


def _slope(window: int):
    return lambda c: m.to_sma(c, window) / m.to_sma(c, window).shift(SLOPE_SESSIONS) - 1


def _slope_last(window: int):
    return lambda c: m.calc_sma(c, window) / m.calc_sma(c, window, sessions_ago=SLOPE_SESSIONS) - 1


def _above(window: int):
    def frame(c):
        sma = m.to_sma(c, window)
        return (c > sma).where(sma.notna())
    return frame


def _above_last(window: int):
    def last(c):
        sma = m.calc_sma(c, window)
        return (c.iloc[-1] > sma).where(sma.notna())
    return last


def _horizon(name: str):
    return lambda c: m.to_horizon_return(c, name)


def _horizon_last(name: str):
    return lambda c: m.calc_return_at_session(c, m.horizon_base_dates(c.index[-1])[name])


# Per symbol (alias.metric), from the close price.
SYMBOL = [
    Spec("close", "price", "{name} close", "Last completed session's closing price.", 1,
         frame=lambda c: c, last=lambda c: c.iloc[-1], window=1),
    Spec("ret_1d", "fraction", "{name} 1-day return", "Close over the previous session's close, minus one.", 2,
         frame=_call("to_returns"), last=lambda c: c.iloc[-1] / c.iloc[-2] - 1 if len(c) > 1 else c.iloc[-1] * np.nan,
         window=2),
    Spec("ret_1m", "fraction", "{name} 1-month return",
         "Close over the close of the last session on or before the same date one calendar month earlier, minus one.",
         2, frame=_horizon("ret_1m"), last=_horizon_last("ret_1m")),
    Spec("ret_3m", "fraction", "{name} 3-month return", "As the 1-month return, three calendar months back.", 2,
         frame=_horizon("ret_3m"), last=_horizon_last("ret_3m")),
    Spec("ret_ytd", "fraction", "{name} YTD return",
         "Close over the previous year's last close, minus one (the index providers' convention).", 2,
         frame=_horizon("ret_ytd"), last=_horizon_last("ret_ytd")),
    Spec("ret_1y", "fraction", "{name} 1-year return", "As the 1-month return, one calendar year back.", 2,
         frame=_horizon("ret_1y"), last=_horizon_last("ret_1y")),
    Spec("rsi_14", "index", "{name} RSI-14",
         "Wilder's 14-session relative strength index: gains and losses smoothed by an EMA with alpha 1/14, "
         "seeded by the simple mean of the first 14 changes.", 15,
         frame=_call("to_rsi"), last=lambda c: m.calc_rsi(c.iloc[-RSI_TAIL:]), window=15),
    Spec("sma_50", "price", "{name} 50-day average", "Simple mean of the last 50 closes.", 50,
         frame=lambda c: m.to_sma(c, 50), last=lambda c: m.calc_sma(c, 50), window=50),
    Spec("sma_200", "price", "{name} 200-day average", "Simple mean of the last 200 closes.", 200,
         frame=lambda c: m.to_sma(c, 200), last=lambda c: m.calc_sma(c, 200), window=200),
    Spec("above_sma_50", "bool", "{name} above its 50-day average", "Whether the close is above the 50-day average.", 50,
         frame=_above(50), last=_above_last(50), window=50),
    Spec("above_sma_200", "bool", "{name} above its 200-day average",
         "Whether the close is above the 200-day average.", 200, frame=_above(200), last=_above_last(200), window=200),
    Spec("sma_50_slope", "fraction", "{name} 50-day average, 20-session change",
         "Change of the 50-day average over the last 20 sessions; positive means rising.", 70,
         frame=_slope(50), last=_slope_last(50), window=70),
    Spec("sma_200_slope", "fraction", "{name} 200-day average, 20-session change",
         "Change of the 200-day average over the last 20 sessions; positive means rising.", 220,
         frame=_slope(200), last=_slope_last(200), window=220),
    Spec("record_close", "price", "{name} record close", "Highest close in the available history.", 1,
         frame=lambda c: c.cummax().ffill(), last=lambda c: c.max()),
    Spec("record_date", "date", "{name} record close date", "Session of the record close (the first, on ties).", 1,
         frame=_call("to_record_date"), last=lambda c: c.idxmax()),
    Spec("pct_from_record", "fraction", "{name} distance from record close", "Close over the record close, minus one.", 1,
         frame=_call("to_drawdown"), last=_call("calc_drawdown")),
    Spec("sessions_since_record", "sessions", "{name} sessions since record close",
         "Exchange sessions after the record close, counted on the exchange calendar (0 on a record day).", 1,
         frame=_call("to_sessions_since_record"), last=lambda c: (len(c) - 1) - c.index.get_indexer(c.idxmax())),
    Spec("records_ytd", "sessions", "{name} record closes this year",
         "Sessions this year whose close beat every earlier close.", 2,
         frame=_call("to_records_ytd"),
         last=lambda c: m.calc_records_since(c, pd.Timestamp(year=c.index[-1].year, month=1, day=1))),
    Spec("high_52w", "price", "{name} 52-week closing high", "Highest close in the 52 weeks to the as-of date.", 2,
         frame=_call("to_range_high"), last=lambda c: m.calc_range(c, c.index[-1])[0], window="365D"),
    Spec("low_52w", "price", "{name} 52-week closing low", "Lowest close in the 52 weeks to the as-of date.", 2,
         frame=_call("to_range_low"), last=lambda c: m.calc_range(c, c.index[-1])[1], window="365D"),
    Spec("pct_from_high_52w", "fraction", "{name} distance from 52-week high",
         "Close over the 52-week closing high, minus one.", 2,
         frame=lambda c: c / m.to_range_high(c) - 1, last=lambda c: c.iloc[-1] / m.calc_range(c, c.index[-1])[0] - 1,
         window="365D"),
    Spec("drawdown", "fraction", "{name} drawdown", "Close over the running peak close, minus one (0 at a record).", 1,
         frame=_call("to_drawdown"), last=_call("calc_drawdown")),
    Spec("vol_20d", "fraction", "{name} 20-day volatility",
         "Sample standard deviation of the last 20 daily log returns, times the square root of 252.", 21,
         frame=_call("to_volatility"), last=_call("calc_volatility"), window=21),
]

# Volume-based, for the symbols listed in config `volume_symbols` (IWM by default: index volume is meaningless).
VOLUME = [
    Spec("volume", "count", "{name} volume", "Shares traded in the last completed session.", 1,
         frame=lambda v: v, last=lambda v: v.iloc[-1], window=1),
    Spec("volume_avg_63", "count", "{name} 63-session average volume", "Mean shares traded over the last 63 sessions.",
         VOLUME_WINDOW, frame=lambda v: m.to_sma(v, VOLUME_WINDOW), last=lambda v: m.calc_sma(v, VOLUME_WINDOW),
         window=VOLUME_WINDOW),
    Spec("volume_ratio", "ratio", "{name} volume vs 3-month average",
         "Last session's volume over the 63-session average.", VOLUME_WINDOW,
         frame=lambda v: v / m.to_sma(v, VOLUME_WINDOW), last=lambda v: v.iloc[-1] / m.calc_sma(v, VOLUME_WINDOW),
         window=VOLUME_WINDOW),
]


def _pair(fn):
    """A pair metric from the two closes (session-indexed, NaN where either has no close)."""
    def series(data, pair: str) -> pd.Series:
        p = data.universe.pairs[pair]
        return fn(data.closes[p.a], data.closes[p.b])
    return series


def _streak_of(data, pair: str) -> pd.Series:
    """Consecutive sessions in which A beat B (NaN where either has no close), computed once per build."""
    def make():
        p = data.universe.pairs[pair]
        a, b = data.closes[p.a], data.closes[p.b]
        return m.to_streak(m.to_outperformance(a, b)).where(a.notna() & b.notna())
    return data.memo(("streak", pair), make)


def _on_streak(fn):
    return lambda data, pair: fn(_streak_of(data, pair))


def _spread(horizon: str):
    """A's return minus B's, from the symbols' own return histories (one definition of a return)."""
    def series(data, pair: str) -> pd.Series:
        from build_data.compute.values import history
        p = data.universe.pairs[pair]
        return history(f"{p.a}.{horizon}", data) - history(f"{p.b}.{horizon}", data)
    return series


# Per pair (a_vs_b.metric).
PAIR = [
    Spec("ret_ytd_spread", "fraction", "{name}: YTD return gap", "A's YTD return minus B's (in percentage points).", 2,
         series=_spread("ret_ytd")),
    Spec("ret_3m_spread", "fraction", "{name}: 3-month return gap", "A's 3-month return minus B's.", 2,
         series=_spread("ret_3m")),
    Spec("ret_1m_spread", "fraction", "{name}: 1-month return gap", "A's 1-month return minus B's.", 2,
         series=_spread("ret_1m")),
    Spec("outperf_streak", "sessions", "{name}: outperformance streak",
         "Consecutive sessions, ending at the as-of date, in which A's daily return beat B's.", 2,
         series=_on_streak(lambda s: s)),
    Spec("longest_outperf_streak", "sessions", "{name}: longest outperformance streak",
         "Longest such run in the history both series share.", 2, series=_on_streak(_call("to_longest_streak"))),
    Spec("longest_outperf_streak_date", "date", "{name}: end of the longest streak",
         "Last session of the longest run (the latest, on ties).", 2,
         series=_on_streak(lambda s: m.to_longest_streak_date(s.dropna()))),
    Spec("outperf_streak_rank", "sessions", "{name}: rank of the current streak",
         "1 + the number of earlier runs longer than the current one; empty when there is no current run.", 2,
         series=_on_streak(lambda s: m.to_streak_rank(s.dropna()))),
    Spec("ratio", "ratio", "{name}: relative strength ratio", "A's close over B's close.", 1,
         series=_pair(lambda a, b: a / b)),
]


def _sector_returns(data, horizon: str) -> pd.DataFrame:
    """Daily `horizon` returns of the sector funds that have data, columns named by display name."""
    def make():
        have = [a for a in data.universe.sectors if a in data.closes.columns]
        closes = data.closes[have]
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


SECTORS = [
    Spec(f"{kind}_{h}", unit, f"Sector {word}, {hl}", f"{defn} {hl} return among the sector funds.", 2,
         series=_pick(kind, h))
    for h, hl in (("1d", "1-day"), ("1m", "1-month"), ("ytd", "YTD"))
    for kind, unit, word, defn in (("leader", "label", "leader", "Sector with the highest"),
                                   ("leader_ret", "fraction", "leader's return", "Return of the sector with the highest"),
                                   ("laggard", "label", "laggard", "Sector with the lowest"),
                                   ("laggard_ret", "fraction", "laggard's return", "Return of the sector with the lowest"))
] + [Spec("positive_ytd", "fraction", "Share of sectors up this year", "Fraction of sector funds with a positive YTD return.",
          2, series=_positive_ytd)]


def _dispersion(data, _subject) -> pd.Series:
    basket = [a for a in data.universe.breadth_basket if a in data.closes.columns]
    rets = m.to_horizon_return(data.closes[basket], "ret_1m")
    return rets.std(axis=1, ddof=0).where(rets.notna().sum(axis=1) >= 2)


BREADTH = [
    Spec("dispersion_1m", "fraction", "Dispersion of 1-month returns",
         "Cross-sectional standard deviation (population) of 1-month returns across the breadth basket.", 2,
         series=_dispersion),
]


def _level(fn):
    """A level metric from the level's symbol's close and the level's value; subject is "group.name"."""
    def series(data, subject: str) -> pd.Series:
        group, name = subject.split(".", 1)
        level = getattr(data.universe, group)[name]
        close = data.closes[level.symbol] if level.symbol in data.closes else pd.Series(dtype="float64")
        return fn(close, level.value)
    return series


LEVEL = [
    Spec("", "price", "{name}", "The author's level, from config.", 1, series=_level(lambda c, v: c * 0 + v)),
    Spec("_distance", "fraction", "{name}: distance", "Close over the level, minus one.", 1,
         series=_level(lambda c, v: c / v - 1)),
    Spec("_above", "bool", "{name}: close above", "Whether the close is above the level.", 1,
         series=_level(lambda c, v: (c > v).where(c.notna()))),
]
TARGET = [
    Spec("", "price", "{name}", "An analyst target: a sourced fact with its date.", 1, series=_level(lambda c, v: c * 0 + v)),
    Spec("_move", "fraction", "{name}: implied move", "Target over the close, minus one: the move it implies.", 1,
         series=_level(lambda c, v: v / c - 1)),
]


def _macro(data, alias: str) -> pd.Series:
    return data.macro.get(alias, pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date")))


def _year_over_year(s: pd.Series) -> pd.Series:
    # Same month a year earlier, matched by date, never by position: a month never published leaves a hole.
    return s / s.shift(1, freq=pd.DateOffset(years=1)).reindex(s.index) - 1


MACRO = [
    Spec("latest", "native", "{name}, latest", "Latest observation, in the series' own unit, with its observation date.",
         1, series=_macro),
]
# Derived macro metrics, switched on per series in config (`derived: [avg_4w]`).
MACRO_DERIVED = {
    "avg_4w": Spec("avg_4w", "count", "{name}, 4-week average", "Mean of the last four weekly observations.", 4,
                   series=lambda data, alias: _macro(data, alias).rolling(4, min_periods=4).mean()),
    "yoy": Spec("yoy", "fraction", "{name}, year over year",
                "Latest observation over the one twelve months earlier (matched by date), minus one.", 13,
                series=lambda data, alias: _year_over_year(_macro(data, alias))),
}


def _range(data, name: str) -> pd.Series:
    cfg = data.universe.ranges[name]
    both = pd.concat([_macro(data, cfg.lo), _macro(data, cfg.hi)], axis=1, join="inner").dropna()
    return pd.Series([[float(lo), float(hi)] for lo, hi in both.to_numpy()], index=both.index, dtype=object)


RANGE = Spec("range", "percent_range", "{name}", "Lower and upper bounds of a range published as two series.", 1,
             series=_range)


class Entry(NamedTuple):
    """One key of a universe: its spec, its family and the subject its functions take."""
    key: str
    spec: Spec
    family: str        # symbol | volume | pair | sectors | breadth | levels | targets | macro | range
    subject: str       # alias, pair name, "levels.breakout", macro alias, range name
    name: str          # display name for the label

    @property
    def label(self) -> str:
        return self.spec.label.format(name=self.name)

    def inputs(self, universe) -> set[str]:
        """The series (symbol or macro aliases) this key is computed from."""
        if self.family in ("symbol", "volume", "macro"):
            return {self.subject}
        if self.family == "pair":
            p = universe.pairs[self.subject]
            return {p.a, p.b}
        if self.family == "sectors":
            return set(universe.sectors)
        if self.family == "breadth":
            return set(universe.breadth_basket)
        if self.family == "range":
            r = universe.ranges[self.subject]
            return {r.lo, r.hi}
        return {getattr(universe, self.family)[self.subject.split(".", 1)[1]].symbol}  # levels, targets


def entries(universe) -> dict[str, Entry]:
    """Every metric key of a universe, with what computes it. Needs no data: the config checks,
    `list` and the catalog tests read it."""
    names = {a: s.name for a, s in universe.symbols.items()}
    out: dict[str, Entry] = {}

    def add(family, subject, specs, prefix, name):
        for s in specs:
            out[f"{prefix}{s.name}"] = Entry(f"{prefix}{s.name}", s, family, subject, name)

    for alias in universe.symbols:
        add("symbol", alias, SYMBOL, f"{alias}.", names[alias])
    for alias in universe.volume_symbols:
        add("volume", alias, VOLUME, f"{alias}.", names[alias])
    for pair, p in universe.pairs.items():
        add("pair", pair, PAIR, f"{pair}.", f"{names[p.a]} vs {names[p.b]}")
    add("sectors", "sectors", SECTORS, "sectors.", "")
    add("breadth", "breadth", BREADTH, "breadth.", "")
    for group, specs in (("levels", LEVEL), ("targets", TARGET)):
        for name, level in getattr(universe, group).items():
            add(group, f"{group}.{name}", specs, f"{group}.{name}", level.label)
    for alias, cfg in universe.macro.items():
        latest = MACRO[0]
        own_unit = Spec(latest.name, cfg.unit, latest.label, latest.definition, latest.min_sessions, series=latest.series)
        add("macro", alias, [own_unit], f"{alias}.", cfg.name)
        add("macro", alias, [MACRO_DERIVED[d] for d in cfg.derived], f"{alias}.", cfg.name)
    for name, cfg in universe.ranges.items():
        add("range", name, [RANGE], f"{name}.", cfg.name)
    return out


def keys_for(universe) -> dict[str, Spec]:
    """Every metric key a universe's snapshot holds, with its spec (macro `latest` in the series' own unit)."""
    return {k: e.spec for k, e in entries(universe).items()}


def reference_rows() -> list[dict[str, str]]:
    """One row per key pattern, for the methodology page and `build_data list --patterns`."""
    rows = []
    for group, pattern, specs in (("symbol", "X.{m}", SYMBOL), ("volume", "X.{m}", VOLUME),
                                  ("pair", "A_vs_B.{m}", PAIR), ("sectors", "sectors.{m}", SECTORS),
                                  ("breadth", "breadth.{m}", BREADTH), ("levels", "levels.NAME{m}", LEVEL),
                                  ("targets", "targets.NAME{m}", TARGET), ("macro", "SERIES.{m}", MACRO),
                                  ("macro", "SERIES.{m}", list(MACRO_DERIVED.values())),
                                  ("range", "RANGE.{m}", [RANGE])):
        rows += [{"group": group, "pattern": pattern.format(m=s.name), "unit": s.unit, "label": s.label,
                  "definition": s.definition, "min_sessions": str(s.min_sessions)} for s in specs]
    return rows
