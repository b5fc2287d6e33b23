"""Every catalog key's value as of the build date, and any key's daily history, from the catalog.

Pure: series in, `{key: Metric}` out. Prices are laid on the exchange calendar: one row per
session, one column per symbol and per derived series (a / b or a - b of two symbols' closes),
NaN where a series has no close. Windows therefore count sessions, and a series' own gaps, late
start or early end stay in its own column. Every key in the catalog is present; a metric that
cannot be computed has value None and the reason its catalog entry gives.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from build_data import release
from build_data.compute import catalog, formulas
from build_data.compute import metrics as m
from build_data.config import Universe


@dataclass
class Metric:
    value: object
    unit: str
    label: str
    as_of: str | None
    source: str
    reason: str | None = None
    basis: str | None = None   # a return's: price | total | mixed (a pair or basket of both)
    # More fields for the snapshot: a macro metric's period, release date, vintage and staleness.
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"value": self.value, "unit": self.unit, "label": self.label, "as_of": self.as_of,
               "source": self.source}
        if self.reason:
            out["reason"] = self.reason
        if self.basis:
            out["basis"] = self.basis
        return out | self.extra


def _basis(entry_basis: str) -> str | None:
    return (entry_basis.split()[0] if entry_basis else None)


@dataclass
class Data:
    """Validated inputs. `closes` and `volumes` are indexed by exchange session up to the as-of.

    `adj_closes` (same calendar) holds the adjusted closes the source gave, dividends and splits
    included; a symbol whose returns count total return reads them (see `return_closes`)."""
    closes: pd.DataFrame
    volumes: pd.DataFrame
    macro: dict[str, pd.Series]
    universe: Universe
    sources: dict[str, str] = field(default_factory=dict)   # alias -> "yahoo:^RUT"
    missing: dict[str, str] = field(default_factory=dict)   # alias -> why there is no data
    adj_closes: pd.DataFrame | None = None
    # Macro alias -> each observation's release date (indexed like `macro`), and whether its
    # values are as published then or the latest revision (gather decides both).
    released: dict[str, pd.Series] = field(default_factory=dict)
    vintage: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        # Derived series (config `derived:`) are columns like any symbol's: every symbol metric,
        # pair, level and chart reads them the same way.
        if self.universe.derived:
            self.closes = with_derived(self.closes, self.universe)
            self.sources, self.missing = dict(self.sources), dict(self.missing)  # the caller's stay as they were
            for alias, d in self.universe.derived.items():
                self.sources.setdefault(alias, d.source(self.universe))
                gone = [leg for leg in d.legs if leg in self.missing]
                if gone:
                    self.missing.setdefault(alias, f"{gone[0]}: {self.missing[gone[0]]}")
        self.return_closes, self.bases = return_closes(self.closes, self.adj_closes, self.universe)

    @property
    def as_of(self) -> pd.Timestamp:
        return self.closes.index[-1]

    @functools.cached_property
    def names(self) -> dict[str, str]:
        return {a: s.name for a, s in [*self.universe.symbols.items(), *self.universe.derived.items()]}

    @functools.cached_property
    def entries(self) -> dict[str, catalog.Entry]:
        return catalog.entries(self.universe, self.bases)

    def history(self, key: str) -> pd.Series:
        """The daily series of any key (see `history`)."""
        return history(key, self)

    def memo(self, key, make):
        """A value computed once per build: histories and the intermediates several metrics share."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]


def with_derived(closes: pd.DataFrame, universe: Universe) -> pd.DataFrame:
    """The closes with a column per derived series: a / b (ratio) or a - b (spread) of its legs'
    closes on each session, NaN where either leg has none."""
    out = closes.copy()
    empty = pd.Series(float("nan"), index=closes.index)
    for alias, d in universe.derived.items():
        a, b = (closes[leg] if leg in closes.columns else empty for leg in d.legs)
        out[alias] = (a / b).replace([np.inf, -np.inf], np.nan) if d.kind == "ratio" else a - b
    return out


def return_closes(closes: pd.DataFrame, adjusted: pd.DataFrame | None,
                  universe: Universe) -> tuple[pd.DataFrame, dict[str, str]]:
    """The closes every return is computed from, and each series' basis (price | total).

    A symbol meant to count total return (config `returns`, default: a fund) reads its adjusted
    closes when the source gave one on every session it has a close; otherwise its quoted
    closes, and its basis is price, so its labels never claim dividends they do not hold. An
    index, and a derived series (from its legs' quoted closes), count price return."""
    bases = catalog.default_bases(universe)
    total = [a for a, b in bases.items() if b == "total" and a in closes.columns and closes[a].notna().any()]
    # (one with no data keeps the basis the config asks: its metrics are empty, labelled so)
    have = [a for a in total if adjusted is not None and a in adjusted.columns]
    full = ~(adjusted[have].isna() & closes[have].notna()).any() if have else pd.Series(dtype=bool)
    usable = [a for a in have if full[a]]
    for alias in set(total) - set(usable):
        bases[alias] = "price"
    if not usable:
        return closes, bases
    # One block of floats, as `closes` is: set column by column, a frame of hundreds of blocks
    # makes every later whole-frame operation loop over its columns.
    out = closes.to_numpy(dtype="float64", copy=True)
    out[:, closes.columns.get_indexer(usable)] = total_return_closes(closes[usable], adjusted[usable]).to_numpy()
    return pd.DataFrame(out, index=closes.index, columns=closes.columns), bases


# A fall of the adjusted-to-quoted ratio beyond this is a seam between rows adjusted at different
# times; a smaller wobble is the source's rounding and stays (it cancels out over the series).
_SEAM = 5e-4


def total_return_closes(close: pd.DataFrame, adj: pd.DataFrame) -> pd.DataFrame:
    """The closes grown by every distribution the adjusted closes record, as series whose
    ratios are total returns: the adjusted closes themselves, up to scale, when they are all of
    one adjustment.

    The source's adjusted close is the close times a factor that rises on each ex-dividend day
    (splits restate both alike). A cache holds rows fetched at different times, so rows saved
    before a later dividend lack its factor: the ratio then falls where the older rows end.
    The ratio's changes from one close to the next are chained with those falls taken out (a
    distribution never lowers it), so the seams lose no dividend. NaN where there is no close."""
    ratio = adj / close
    step = (ratio / ratio.ffill().shift(1)).where(close.notna()).fillna(1.0)
    grow = step.where(step >= 1 - _SEAM, 1.0)
    return (close * grow.cumprod()).where(close.notna())


def on_sessions(frames: dict[str, pd.Series], session_dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Series laid on the session calendar: rows = sessions, NaN where a series has no value.
    Rows off the calendar were dropped by validation; this never adds or moves a value."""
    return pd.DataFrame({a: s.reindex(session_dates) for a, s in frames.items()}, index=session_dates,
                        dtype="float64")


def _iso(ts) -> str | None:
    if isinstance(ts, str) or ts is None:
        return ts
    return None if pd.isna(ts) else pd.Timestamp(ts).date().isoformat()


def _plain(value):
    """numpy scalars -> JSON-ready Python values; NaN/inf/NaT -> None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return _iso(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def history(key: str, data: Data, entry: catalog.Entry | None = None) -> pd.Series:
    """The daily series of any key, from its catalog function (NaN before a series starts)."""
    e = entry or data.entries[key]
    return data.memo(("history", key), lambda: _history(e, data))


def _history(e: catalog.Entry, data: Data) -> pd.Series:
    fn = formulas.function(e.family, e.spec.name)
    if e.family in ("symbol", "volume"):
        prices = data.volumes if e.family == "volume" else data.return_closes if e.spec.basis else data.closes
        if e.subject not in prices.columns:
            return pd.Series(dtype="float64")
        return fn(prices[[e.subject]])[e.subject]
    out = fn(data, e.subject)
    if e.family in ("levels", "targets"):
        since = _effective(data.universe, e.subject)
        if since is not None and len(out):  # a level or target does not exist before its date
            out = out.where(out.index >= pd.Timestamp(since))
    return out


def _effective(universe: Universe, subject: str):
    """The day a level or target ("targets.base") takes effect, or None (always)."""
    group, name = subject.split(".", 1)
    return getattr(universe, group)[name].effective_from


def _release_dates(data: Data, e: catalog.Entry) -> pd.Series | None:
    """Each observation's release date for a macro or range key (a range: the later of its two
    bounds'), or None when gather gave none."""
    if e.family == "macro":
        return data.released.get(e.subject)
    r = data.universe.ranges[e.subject]
    lo, hi = data.released.get(r.lo), data.released.get(r.hi)
    if lo is None or hi is None:
        return None
    both = pd.concat([lo, hi], axis=1, join="inner")
    return both.max(axis=1)


def signal_history(key: str, data: Data) -> pd.Series:
    """The history claims and watch items replay: a macro figure dated by the day it was
    released (not its observation date), so a flip is dated when a reader could see it; every
    other key as `history` gives it."""
    e = data.entries[key]
    s = history(key, data, e)
    if e.family not in ("macro", "range"):
        return s
    when = _release_dates(data, e)
    if when is None or not len(s):
        return s
    when = when.reindex(s.index)
    keep = when.notna()
    out = pd.Series(s[keep].to_numpy(), index=pd.DatetimeIndex(when[keep].to_numpy(), name="date"), name=s.name)
    return out[~out.index.duplicated(keep="last")].sort_index(kind="stable")


def _gap_reasons(prices: pd.DataFrame, specs: list[catalog.Spec]) -> dict[str, dict[str, str]]:
    """Per column and spec: the missing sessions inside the window the spec's last value reads."""
    out: dict[str, dict[str, str]] = {a: {} for a in prices.columns}
    started = prices.notna().cummax()
    holes = prices.isna() & started
    if not holes.to_numpy().any():
        return out
    as_of = prices.index[-1]
    for spec in specs:
        if spec.window is None or spec.window == 1:
            continue
        window = holes.loc[as_of - pd.Timedelta(spec.window) + pd.Timedelta(days=1):] if isinstance(spec.window, str) \
            else holes.iloc[-spec.window:]
        for alias in window.columns[window.any()]:
            days = [d.date().isoformat() for d in window.index[window[alias]]]
            out[alias][spec.name] = (f"gap: no close on {', '.join(days[:3])}{' and more' if len(days) > 3 else ''}, "
                                     f"inside the {spec.window if isinstance(spec.window, int) else '52-week'}"
                                     f"{'-session' if isinstance(spec.window, int) else ''} window")
    return out


def _history_reasons(closes: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, dict[str, str]]:
    """Why a symbol metric is empty: no close on the as-of session, too few sessions, no base
    close for a horizon, or a gap in its window. Loops over rules, not symbols."""
    n = closes.notna().sum()
    first = closes.notna().idxmax()
    reasons: dict[str, dict[str, str]] = {alias: {} for alias in closes.columns}
    for alias in closes.columns[closes.iloc[-1].isna()]:
        reasons[alias]["*"] = f"no close on {_iso(as_of)} (last close {_iso(closes[alias].last_valid_index())})"
    for spec in catalog.SYMBOL:
        for alias in n.index[n < spec.min_sessions]:
            reasons[alias][spec.name] = f"too little history: {n[alias]} sessions, needs {spec.min_sessions}"
    bases = m.horizon_base_dates(as_of)
    for spec in catalog.SYMBOL:
        if spec.base is None:
            continue
        base = bases[spec.base]
        session = closes.index[closes.index <= base]
        for alias in first.index[first > base]:
            reasons[alias].setdefault(spec.name, f"history starts {_iso(first[alias])}, after the base date {_iso(base)}")
        if len(session):
            base_row = closes.loc[session[-1]]
            for alias in base_row.index[base_row.isna() & (first <= base)]:
                reasons[alias].setdefault(spec.name, f"gap: no close on the base session {_iso(session[-1])}")
    for spec in catalog.SYMBOL:
        if isinstance(spec.window, str):  # a calendar window ("364D"): the history must span its sessions
            inside = closes.index[closes.index > as_of - pd.Timedelta(spec.window)]
            for alias in first.index[first > inside[0]]:
                reasons[alias].setdefault(spec.name, f"history starts {_iso(first[alias])}, under 52 weeks")
    for alias, gaps in _gap_reasons(closes, catalog.SYMBOL).items():
        for name, why in gaps.items():
            reasons[alias].setdefault(name, why)
    return reasons


def _plain_column(values: pd.Series, unit: str) -> list:
    """One metric's last values across symbols as JSON-ready Python values (None for missing)."""
    if unit == "date":
        return [None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in values]
    if unit == "bool":
        return [None if pd.isna(v) else bool(v) for v in values]
    floats = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    ok = np.isfinite(floats)
    if unit == "sessions":
        return [int(v) if k else None for v, k in zip(floats.tolist(), ok.tolist())]
    return [v if k else None for v, k in zip(floats.tolist(), ok.tolist())]


def _table(prices: pd.DataFrame, family: str, specs: list[catalog.Spec],
           returns: pd.DataFrame | None = None) -> dict[str, dict[str, object]]:
    """{metric: {alias: last value}} for a vectorized family: the last row of each spec's daily
    series, computed for all columns at once (a return from `returns`, the return closes)."""
    if prices.empty:
        return {}
    out = {}
    for s in specs:
        last = formulas.function(family, s.name)(returns if s.basis and returns is not None else prices).iloc[-1]
        out[s.name] = dict(zip(prices.columns, _plain_column(pd.Series(last, index=prices.columns), s.unit)))
    return out


class Assembler:
    """Collects Metric entries under catalog keys."""

    def __init__(self):
        self.metrics: dict[str, Metric] = {}

    def put(self, entry: catalog.Entry, value, as_of, source: str, reason: str | None = None):
        value = _plain(value)
        if entry.spec.unit == "sessions" and isinstance(value, float):
            value = int(value)
        if value is None and reason is None:
            reason = "not computable from the available data"
        self.metrics[entry.key] = Metric(value if reason is None else None, entry.spec.unit, entry.label,
                                         _iso(as_of), source, reason, _basis(entry.basis))


def _last(series: pd.Series, as_of: pd.Timestamp):
    """The value on the as-of session (None if the series has none there)."""
    if as_of not in series.index:
        return None
    return series.loc[as_of]


def _last_dates(prices: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """Each column's last session with a value."""
    mask = prices.notna().to_numpy()
    pos = (len(prices) - 1 - np.argmax(mask[::-1], axis=0)).tolist()
    has = mask.any(axis=0).tolist()
    stamps = {i: prices.index[i] for i in set(pos)}
    return {c: stamps[i] for c, i, h in zip(prices.columns, pos, has) if h}


def _per_last_date(prices: pd.DataFrame, last: dict[str, pd.Timestamp], fn) -> dict:
    """`fn(frame cut at d, d)` for each group of columns whose last close is d, merged: a series
    that trails the as-of (within the staleness limit) is computed as of its own last close."""
    merged: dict = {}
    for d, sub in _groups(prices, last).items():
        for k, v in fn(sub, d).items():
            merged.setdefault(k, {}).update(v)
    return merged


def compute_metrics(data: Data) -> dict[str, Metric]:
    """Every catalog key for the universe, as of the last session of `data` (a series whose last
    close is older, within the staleness limit, as of that close: each metric carries its date)."""
    out = Assembler()
    universe = data.universe
    entries = data.entries
    closes = data.closes.dropna(axis=1, how="all")
    volumes = data.volumes.dropna(axis=1, how="all")
    have = set(closes.columns)
    last = _last_dates(closes)
    rets = data.return_closes[closes.columns]
    values = {"symbol": _per_last_date(closes, last,
                                       lambda c, d: _table(c, "symbol", catalog.SYMBOL, rets.loc[c.index, c.columns])),
              "volume": _per_last_date(volumes, last, lambda v, d: _table(v, "volume", catalog.VOLUME))}
    reasons = {"symbol": {}, "volume": {}}
    for family, prices in (("symbol", closes), ("volume", volumes)):
        for d, sub in _groups(prices, last).items():
            reasons[family] |= _history_reasons(sub, d) if family == "symbol" else _gap_reasons(sub, catalog.VOLUME)
    for key, e in entries.items():
        if e.family in ("symbol", "volume"):
            continue
        src = _source(e, data)
        if e.family == "macro" or e.family == "range":
            _put_macro(out, e, data, src)
        else:
            _put_priced(out, e, data, src, have)
    for family, specs, prices, aliases in (("symbol", catalog.SYMBOL, closes, [*universe.symbols, *universe.derived]),
                                           ("volume", catalog.VOLUME, volumes, list(universe.volume_symbols))):
        _put_table(out, data, family, specs, prices, aliases, values[family], reasons[family], last)
    return out.metrics


def _groups(prices: pd.DataFrame, last: dict[str, pd.Timestamp]) -> dict[pd.Timestamp, pd.DataFrame]:
    """The frame cut at each last-close date, with the columns that end there (usually one group:
    every series ends on the as-of session, and the frame is used as it is)."""
    by_date: dict[pd.Timestamp, list[str]] = {}
    for col in prices.columns:
        if col in last:
            by_date.setdefault(last[col], []).append(col)
    if len(by_date) == 1 and len(next(iter(by_date.values()))) == len(prices.columns):
        d = next(iter(by_date))
        return {d: prices.loc[:d] if d != prices.index[-1] else prices}
    return {d: prices.loc[:d, cols] for d, cols in by_date.items()}


def _put_table(out: Assembler, data: Data, family: str, specs, prices, aliases, table, reasons, last) -> None:
    """The symbol and volume families in bulk: one Metric per alias and spec, without per-key lookups."""
    counts = prices.notna().sum().to_dict()
    names = data.names
    days: dict[pd.Timestamp, str] = {}
    for alias in aliases:
        src = _symbol_source(alias, data)
        name = names[alias]
        r = reasons.get(alias, {})
        basis = data.bases.get(alias, "") if family == "symbol" else ""
        if family == "symbol":
            specs = catalog.symbol_specs(data.universe, alias)
        if alias not in prices.columns or alias not in last:
            why = data.missing.get(alias)
            reason = f"no data: {why}" if why else f"no {family} data for {alias}"
            for s in specs:
                out.metrics[f"{alias}.{s.name}"] = Metric(None, s.unit, catalog.label(s, name, basis), None, src, reason,
                                                          basis if s.basis else None)
            continue
        d = last[alias]
        day = days.get(d) or days.setdefault(d, _iso(d))
        n = int(counts[alias])
        none_that_day = pd.isna(prices.at[d, alias])  # volume: a session with a close but no volume
        for s in specs:
            value = table[s.name][alias]
            reason = (f"no {catalog.READS[family]} on {day}" if none_that_day else r.get("*") or r.get(s.name) or (
                f"too little history: {n} sessions, needs {s.min_sessions}" if n < s.min_sessions else None))
            if value is None and reason is None:
                reason = s.empty.format(day=day) if s.empty else "not computable from the available data"
            out.metrics[f"{alias}.{s.name}"] = Metric(None if reason else value, s.unit, catalog.label(s, name, basis),
                                                      day, src, reason, basis if s.basis else None)


def _symbol_source(alias: str, data: Data) -> str:
    u = data.universe
    if alias in u.derived:
        return data.sources.get(alias) or u.derived[alias].source(u)
    return data.sources.get(alias, f"none:{u.symbols[alias].ticker}")


def _source(e: catalog.Entry, data: Data) -> str:
    u = data.universe
    if e.family in ("symbol", "volume"):
        return _symbol_source(e.subject, data)
    if e.family == "macro":
        return data.sources.get(e.subject, f"none:{u.macro[e.subject].series}")
    if e.family == "pair":
        p = u.pairs[e.subject]
        return f"{data.sources.get(p.a, 'none')} vs {data.sources.get(p.b, 'none')}"
    if e.family == "sectors":
        return "computed: sector funds"
    if e.family == "breadth":
        return "computed: breadth basket"
    if e.family == "range":
        r = u.ranges[e.subject]
        return f"{data.sources.get(r.lo, 'none')} + {data.sources.get(r.hi, 'none')}"
    group, name = e.subject.split(".", 1)
    level = getattr(u, group)[name]
    if e.spec.static:
        return f"{level.source} ({level.date.isoformat()})" if level.source and level.date else "config: the site's levels"
    return data.sources.get(level.symbol, "none")


def _put_priced(out: Assembler, e: catalog.Entry, data: Data, src: str, have: set[str]) -> None:
    """Pairs, sectors, breadth, levels and targets: the value on the as-of session of the daily series."""
    u, as_of = data.universe, data.as_of
    if e.family in ("levels", "targets"):
        since = _effective(u, e.subject)
        if since is not None and pd.Timestamp(since) > as_of:
            what = "target" if e.family == "targets" else "level"
            out.put(e, None, as_of, src, f"not yet set: the {what} dates from {since.isoformat()}, "
                                         f"after {_iso(as_of)}")
            return
    if e.spec.static:
        group, name = e.subject.split(".", 1)
        level = getattr(u, group)[name]
        out.put(e, level.value, level.date or as_of, src)
        return
    needs = e.needs(u)
    missing = [a for a in needs if a not in have]
    if missing:
        out.put(e, None, as_of, src, "no data for " + ", ".join(data.names[a] for a in missing))
        return
    what, basket = e.basket(u)
    if basket and not any(a in have for a in basket):
        out.put(e, None, as_of, src, f"no {what} data")
        return
    if needs:
        # As of the last session its series share: one that trails (within the staleness limit)
        # dates the value, labelled on the metric, instead of emptying it.
        common = data.closes[needs].dropna()
        if common.empty:
            out.put(e, None, as_of, src, f"no common close for {', '.join(needs)}")
            return
        as_of = common.index[-1]
    value = _last(history(e.key, data, e), as_of)
    reason = None
    if _plain(value) is None and e.spec.empty:
        reason = e.spec.empty.format(day=_iso(as_of), **e.names(u))
    out.put(e, value, as_of, src, reason)


def _put_macro(out: Assembler, e: catalog.Entry, data: Data, src: str) -> None:
    """Macro metrics carry their own observation date."""
    s = history(e.key, data, e)
    subjects = [e.subject] if e.family == "macro" else [data.universe.ranges[e.subject].lo,
                                                       data.universe.ranges[e.subject].hi]
    missing = [a for a in subjects if not len(data.macro.get(a, ()))]
    if missing:
        why = data.missing.get(missing[0])
        reason = (f"no data: {why}" if why and e.family == "macro" else
                  f"no data for {', '.join(missing)}")
        out.put(e, None, None, src, reason)
        return
    raw = data.macro[subjects[0]]
    if not len(s) or (e.family == "macro" and _plain(s.iloc[-1]) is None):
        reason = e.spec.empty.format(observations=len(raw), year_before=_iso(raw.index[-1] - pd.DateOffset(years=1)),
                                     **e.names(data.universe))
        out.put(e, None, raw.index[-1], src, reason)
        return
    out.put(e, s.iloc[-1], s.index[-1], src)
    out.metrics[e.key].extra = _macro_fields(data, e, subjects[0], s.index[-1])


def _macro_fields(data: Data, e: catalog.Entry, alias: str, obs: pd.Timestamp) -> dict:
    """A macro metric's period ("Dec 2025", "week to Jan 10, 2026", "Q1 2025"), the day the
    figure was released, whether it is as published or the latest revision, and whether it is
    stale on the as-of date (its period ended more than a cadence plus the grace before)."""
    cfg = data.universe.macro[alias]
    when = _release_dates(data, e)
    released = when.get(obs) if when is not None else None
    stale = release.staleness(obs, cfg, data.as_of.date())
    out = {"period": release.period_text(obs, cfg.cadence), "cadence": cfg.cadence,
           "released": _iso(released), "vintage": data.vintage.get(alias), "stale": stale is not None}
    if stale:
        out["stale_reason"] = stale
    return out
