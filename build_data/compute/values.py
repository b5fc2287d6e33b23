"""Assemble the metric catalog for a universe from validated price and macro series.

Pure: frames in, `{key: Metric}` out. Every key in the catalog is present; a metric that
cannot be computed has value None and a reason ("too little history: ...").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from build_data.compute import catalog, metrics as m
from build_data.config import Universe

SLOPE_SESSIONS = 20
# Wilder's average forgets its seed at (13/14)^n: after 600 sessions the seed's weight is about
# 1e-19, below double precision, so RSI on the last 600 sessions equals RSI on the whole history.
RSI_TAIL = 600


@dataclass
class Metric:
    value: object
    unit: str
    label: str
    as_of: str | None
    source: str
    reason: str | None = None

    def to_json(self) -> dict:
        out = {"value": self.value, "unit": self.unit, "label": self.label, "as_of": self.as_of,
               "source": self.source}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class Inputs:
    """Validated inputs: closes and volumes by alias (wide, session-indexed), macro by alias."""
    closes: pd.DataFrame
    volumes: pd.DataFrame
    macro: dict[str, pd.Series]
    sources: dict[str, str]                      # alias -> "yahoo:^RUT"
    missing: dict[str, str] = field(default_factory=dict)  # alias -> why there is no data


def _iso(ts) -> str | None:
    if isinstance(ts, str) or ts is None:
        return ts
    return None if pd.isna(ts) else pd.Timestamp(ts).date().isoformat()


def _plain(value):
    """numpy scalars -> JSON-ready Python values; NaN/inf -> None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return _iso(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    return value


def symbol_table(closes: pd.DataFrame, as_of: pd.Timestamp, session_dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per-symbol price metrics, vectorized across columns: rows = metric names, columns = symbols."""
    c = closes.loc[:as_of]
    last = c.iloc[-1]
    out: dict[str, pd.Series] = {"close": last, "ret_1d": last / c.iloc[-2] - 1 if len(c) > 1 else last * np.nan}
    for name, base in m.horizon_base_dates(as_of).items():
        out[name] = m.calc_return(c, base)
    out["rsi_14"] = m.to_rsi(c.iloc[-RSI_TAIL:]).iloc[-1]
    for window in (50, 200):
        sma = m.calc_sma(c, window)
        out[f"sma_{window}"] = sma
        out[f"above_sma_{window}"] = (last > sma).where(sma.notna())
        out[f"sma_{window}_slope"] = sma / m.calc_sma(c, window, sessions_ago=SLOPE_SESSIONS) - 1
    record, record_date = m.calc_record(c)
    out["record_close"], out["record_date"] = record, record_date
    out["pct_from_record"] = last / record - 1
    # Sessions counted on the exchange calendar, not in rows, so a gap in the data can't shorten the drought.
    pos_record = session_dates.searchsorted(pd.DatetimeIndex(record_date))
    pos_last = session_dates.searchsorted(as_of)
    out["sessions_since_record"] = pd.Series(pos_last - pos_record, index=c.columns, dtype="float64")
    out["records_ytd"] = m.calc_records_since(c, pd.Timestamp(year=as_of.year, month=1, day=1))
    high, low = m.calc_range(c, as_of)
    out["high_52w"], out["low_52w"] = high, low
    out["pct_from_high_52w"] = last / high - 1
    out["drawdown"] = m.calc_drawdown(c)
    out["vol_20d"] = m.to_volatility(c.iloc[-21:]).iloc[-1]
    return pd.DataFrame(out).T


def _history_reasons(closes: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, dict[str, str]]:
    """Why a symbol metric is empty: too few sessions, or no base close for a horizon.
    Loops over rules, not symbols: each rule is one vectorized mask."""
    c = closes.loc[:as_of]
    n = c.notna().sum()
    first = c.notna().idxmax()
    reasons: dict[str, dict[str, str]] = {alias: {} for alias in c.columns}
    for alias in c.columns[c.iloc[-1].isna()]:
        reasons[alias]["*"] = f"no close on {_iso(as_of)} (last close {_iso(c[alias].last_valid_index())})"
    for spec in catalog.SYMBOL:
        for alias in n.index[n < spec.min_sessions]:
            reasons[alias][spec.name] = f"too little history: {n[alias]} sessions, needs {spec.min_sessions}"
    for name, base in m.horizon_base_dates(as_of).items():
        for alias in first.index[first > base]:
            reasons[alias].setdefault(name, f"history starts {_iso(first[alias])}, after the base date {_iso(base)}")
    for alias in first.index[first > as_of - pd.Timedelta(days=364)]:
        for name in ("high_52w", "low_52w", "pct_from_high_52w"):
            reasons[alias].setdefault(name, f"history starts {_iso(first[alias])}, under 52 weeks")
    return reasons


class Assembler:
    """Collects Metric entries under catalog keys."""

    def __init__(self):
        self.metrics: dict[str, Metric] = {}

    def put(self, key: str, spec: catalog.Spec, name: str, value, as_of, source: str,
            reason: str | None = None, unit: str | None = None):
        value = _plain(value)
        unit = unit or spec.unit
        if unit == "sessions" and isinstance(value, float):
            value = int(value)
        if value is None and reason is None:
            reason = "not computable from the available data"
        self.metrics[key] = Metric(value if reason is None else None, unit,
                                   spec.label.format(name=name), _iso(as_of), source, reason)


def compute_metrics(inputs: Inputs, universe: Universe, as_of: pd.Timestamp,
                    session_dates: pd.DatetimeIndex) -> dict[str, Metric]:
    """Every catalog key for the universe, as of the close of `as_of`."""
    out = Assembler()
    names = {alias: s.name for alias, s in universe.symbols.items()}
    closes = inputs.closes.loc[:as_of].dropna(axis=1, how="all")
    have = list(closes.columns)
    table = symbol_table(closes, as_of, session_dates) if have else pd.DataFrame()
    reasons = _history_reasons(closes, as_of) if have else {}

    by_symbol = table.to_dict()  # {alias: {metric: value}}: one conversion instead of a lookup per value
    day = _iso(as_of)
    for alias in universe.symbols:
        src = inputs.sources.get(alias, f"none:{universe.symbols[alias].ticker}")
        values, r = by_symbol.get(alias, {}), reasons.get(alias, {})
        for spec in catalog.SYMBOL:
            key = f"{alias}.{spec.name}"
            if alias not in have:
                out.put(key, spec, names[alias], None, None, src, f"no data: {inputs.missing.get(alias, 'series missing')}")
                continue
            out.put(key, spec, names[alias], values[spec.name], day, src, r.get("*") or r.get(spec.name))

    _volume_metrics(out, inputs, universe, as_of, names)
    _pair_metrics(out, inputs, closes, universe, as_of, names, table)
    _cross_section(out, universe, as_of, names, table, have)
    _level_metrics(out, universe, as_of, names, table, have, inputs)
    _macro_metrics(out, inputs, universe)
    return out.metrics


def _volume_metrics(out, inputs, universe, as_of, names):
    for alias in universe.volume_symbols:
        src = inputs.sources.get(alias, "none")
        vol = inputs.volumes[alias].loc[:as_of].dropna() if alias in inputs.volumes else pd.Series(dtype=float)
        values = {}
        if len(vol) and vol.index[-1] == as_of:
            avg = vol.iloc[-63:].mean()
            values = {"volume": vol.iloc[-1], "volume_avg_63": avg, "volume_ratio": vol.iloc[-1] / avg}
        for spec in catalog.VOLUME:
            reason = None
            if alias in inputs.missing:
                reason = f"no data: {inputs.missing[alias]}"
            elif not values:
                reason = f"no volume on {_iso(as_of)}"
            elif len(vol) < spec.min_sessions:
                reason = f"too little history: {len(vol)} sessions, needs {spec.min_sessions}"
            out.put(f"{alias}.{spec.name}", spec, names[alias], values.get(spec.name), as_of, src, reason)


def _pair_metrics(out, inputs, closes, universe, as_of, names, table):
    for pair, p in universe.pairs.items():
        title = f"{names[p.a]} vs {names[p.b]}"
        src = f"{inputs.sources.get(p.a, 'none')} vs {inputs.sources.get(p.b, 'none')}"
        missing = [a for a in (p.a, p.b) if a not in closes.columns]
        values, reason = {}, None
        if missing:
            reason = "no data for " + ", ".join(missing)
        else:
            both = closes[[p.a, p.b]].dropna()
            if len(both) < 2 or both.index[-1] != as_of:
                reason = f"no common close on {_iso(as_of)}"
            else:
                streak = m.to_streak(m.to_outperformance(both[p.a], both[p.b]))
                longest, ended = m.calc_longest_streak(streak)
                values = {"outperf_streak": streak.iloc[-1], "longest_outperf_streak": longest,
                          "longest_outperf_streak_date": ended, "outperf_streak_rank": m.calc_streak_rank(streak),
                          "ratio": both[p.a].iloc[-1] / both[p.b].iloc[-1]}
                for h in ("ytd", "3m", "1m"):
                    values[f"ret_{h}_spread"] = table.at[f"ret_{h}", p.a] - table.at[f"ret_{h}", p.b]
        for spec in catalog.PAIR:
            r = reason
            if r is None and spec.name == "outperf_streak_rank" and values["outperf_streak"] == 0:
                r = f"no current streak: {names[p.a]} did not beat {names[p.b]} on {_iso(as_of)}"
            out.put(f"{pair}.{spec.name}", spec, title, values.get(spec.name), as_of, src, r)


def _cross_section(out, universe, as_of, names, table, have):
    sectors = [a for a in universe.sectors if a in have]
    for spec in catalog.SECTORS:
        reason = None if sectors else "no sector data"
        value = None
        if sectors and spec.name != "positive_ytd":
            kind, _, horizon = spec.name.rpartition("_")
            rets = table.loc[f"ret_{horizon}", sectors].astype(float).dropna()
            if rets.empty:
                reason = f"no sector has a {horizon} return"
            else:
                pick = rets.idxmax() if kind.startswith("leader") else rets.idxmin()
                value = names[pick] if not kind.endswith("_ret") else rets[pick]
        elif sectors:
            ytd = table.loc["ret_ytd", sectors].astype(float).dropna()
            value = (ytd > 0).mean() if len(ytd) else None
        out.put(f"sectors.{spec.name}", spec, "", value, as_of, "computed: sector funds", reason)
    basket = [a for a in universe.breadth_basket if a in have]
    rets = table.loc["ret_1m", basket].astype(float).dropna() if basket else pd.Series(dtype=float)
    for spec in catalog.BREADTH:
        reason = None if len(rets) >= 2 else "fewer than two basket members have a 1-month return"
        out.put(f"breadth.{spec.name}", spec, "", rets.std(ddof=0) if len(rets) >= 2 else None, as_of,
                "computed: breadth basket", reason)


def _level_metrics(out, universe, as_of, names, table, have, inputs):
    for group, specs, levels in (("levels", catalog.LEVEL, universe.levels), ("targets", catalog.TARGET, universe.targets)):
        alias = levels.symbol
        close = table.at["close", alias] if alias in have else np.nan
        for name, level in levels.items.items():
            reason = None if pd.notna(close) else f"no close for {names[alias]}"
            values = {"": level.value, "_distance": close / level.value - 1, "_above": close > level.value,
                      "_move": level.value / close - 1}
            for spec in specs:
                src = (f"{level.source} ({level.date.isoformat()})" if level.source and level.date
                       else "config: build_data/universe.yml") if spec.name == "" else inputs.sources.get(alias, "none")
                as_of_value = level.date if spec.name == "" and level.date else as_of
                out.put(f"{group}.{name}{spec.name}", spec, level.label, values[spec.name], as_of_value, src,
                        None if spec.name == "" else reason)


def _macro_metrics(out, inputs, universe):
    spec_latest = catalog.MACRO[0]
    for alias, cfg in universe.macro.items():
        s = inputs.macro.get(alias, pd.Series(dtype=float))
        src = inputs.sources.get(alias, f"none:{cfg.series}")
        reason = None if len(s) else f"no data: {inputs.missing.get(alias, 'series missing')}"
        out.put(f"{alias}.latest", spec_latest, cfg.name, s.iloc[-1] if len(s) else None,
                s.index[-1] if len(s) else None, src, reason, unit=cfg.unit)
    extras = dict(catalog.MACRO_EXTRA)
    claims = inputs.macro.get("claims", pd.Series(dtype=float))
    spec = extras["claims"]
    out.put("claims.avg_4w", spec, "", claims.iloc[-4:].mean() if len(claims) >= 4 else None,
            claims.index[-1] if len(claims) else None, inputs.sources.get("claims", "none"),
            None if len(claims) >= 4 else f"too little history: {len(claims)} weeks, needs 4")
    cpi = inputs.macro.get("cpi", pd.Series(dtype=float))
    spec, yoy, reason = extras["cpi"], None, None
    if len(cpi):
        year_ago = cpi.index[-1] - pd.DateOffset(years=1)
        if year_ago in cpi.index:
            yoy = cpi.iloc[-1] / cpi.loc[year_ago] - 1
        else:
            reason = f"no CPI observation for {_iso(year_ago)}"
    else:
        reason = f"no data: {inputs.missing.get('cpi', 'series missing')}"
    out.put("cpi.yoy", spec, "", yoy, cpi.index[-1] if len(cpi) else None, inputs.sources.get("cpi", "none"), reason)
    lo, hi = inputs.macro.get("fed_lo", pd.Series(dtype=float)), inputs.macro.get("fed_hi", pd.Series(dtype=float))
    spec = extras["fed"]
    ok = len(lo) and len(hi)
    out.put("fed.range", spec, "", [float(lo.iloc[-1]), float(hi.iloc[-1])] if ok else None,
            min(lo.index[-1], hi.index[-1]) if ok else None,
            f"{inputs.sources.get('fed_lo', 'none')} + {inputs.sources.get('fed_hi', 'none')}",
            None if ok else "no data for the fed funds target bounds")
