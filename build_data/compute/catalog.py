"""The metric catalog: every key pattern the snapshot can hold, with its unit, its label, its
definition, the window its last value reads and why it may be empty. Names only: no pandas, so
`build_data list`, the config checks and the methodology page read it at once.

The one function that computes each metric's daily series is in `compute.formulas`, under the
same family and name; the snapshot's values, the signals' histories and the charts all come
from that function.

Families:
- symbol: every symbol and derived series (`symbols:`, `derived:`), from its daily close;
- volume: the symbols in `volume_symbols`, from their daily volume;
- pair, sectors, breadth, levels, targets, macro, range: from the data and the subject the key
  names (the pair, the level, the macro alias, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from build_data.units import METRIC_UNITS, NATIVE

SLOPE_SESSIONS = 20
VOLUME_WINDOW = 63
# The 52-week window: exactly 52 weeks of calendar days ending at the session, so it holds
# one of each weekday 52 times (never the same weekday 53 weeks back).
WEEKS_52 = "364D"

# How a basis reads in a label: `{ret}` and `{note}` of a spec with `basis`. A pair whose two
# series count returns differently says so; a basket of mixed members too.
BASIS_WORDS = {
    "price": ("price return", ""),
    "total": ("total return", ""),
    "mixed": ("return", " (price vs total return)"),
    "mixed basket": ("return", " (price and total returns mixed)"),
    "": ("return", ""),
}
# The methodology page's reference: the label pattern and the sentence that says which basis.
BASIS_REFERENCE = "price/total return"
BASIS_RULE = ("Price return (quoted closes) for an index, total return (adjusted closes, dividends "
              "reinvested) for a fund; the label says which.")


@dataclass(frozen=True)
class Spec:
    name: str          # metric part of the key, e.g. "ret_ytd"
    unit: str          # one of build_data.units.METRIC_UNITS (or NATIVE: the macro series' own unit)
    label: str         # "{name} YTD return": {name} is the symbol's or series' display name
    definition: str    # one sentence for the methodology page
    min_sessions: int = 1
    # Sessions the last value reads (or "365D"): a missing session inside makes it empty, with the gap named.
    window: int | str | None = None
    # A return's horizon as the pages word it ("1 month"); for the tables' column heads.
    horizon: str | None = None
    # A calendar-offset return's base (a key of metrics.horizon_base_dates): empty when the
    # series has no close on, or starts after, that base date.
    base: str | None = None
    # Why the value is empty when its inputs are there but it is not: a template over the
    # entry's names ({a}, {b} for a pair's symbols, {symbol} for a level's, {day} the session).
    empty: str | None = None
    # The value is the config's own (a level's or a target's value), not read from a session:
    # dated by its source, never emptied by the data.
    static: bool = False
    # The value is (or compares) returns: a symbol's are read from its return closes (adjusted
    # for total return, quoted for price return), and the label names the basis: `{ret}` reads
    # "price return" or "total return", `{note}` flags a mix of the two (see `BASIS_WORDS`).
    basis: bool = False

    def __post_init__(self):
        if self.unit not in METRIC_UNITS and self.unit != NATIVE:
            raise ValueError(f"catalog: {self.name!r}: unknown unit {self.unit!r} (see build_data/units.py)")


# Per symbol or derived series (alias.metric), from the close.
SYMBOL = [
    Spec("close", "price", "{name} close", "Last completed session's closing price.", 1, window=1),
    Spec("ret_1d", "fraction", "{name} 1-day {ret}", "Close over the previous session's close, minus one.", 2,
         window=2, horizon="1 day", basis=True),
    Spec("ret_1w", "fraction", "{name} {ret} this week",
         "Close over the last close of the previous calendar week (Monday to Sunday), minus one.", 2,
         horizon="this week", base="ret_1w", basis=True),
    Spec("ret_20d", "fraction", "{name} 20-day {ret}", "Close over the close 20 sessions earlier, minus one.", 21,
         window=21, horizon="20 days", basis=True),
    Spec("ret_1m", "fraction", "{name} 1-month {ret}",
         "Close over the close of the last session on or before the same date one calendar month earlier, minus one.",
         2, horizon="1 month", base="ret_1m", basis=True),
    Spec("ret_3m", "fraction", "{name} 3-month {ret}", "As the 1-month return, three calendar months back.", 2,
         horizon="3 months", base="ret_3m", basis=True),
    Spec("ret_ytd", "fraction", "{name} YTD {ret}",
         "Close over the previous year's last close, minus one (the index providers' convention).", 2,
         horizon="YTD", base="ret_ytd", basis=True),
    Spec("ret_1y", "fraction", "{name} 1-year {ret}",
         "As the 1-month return, one calendar year back (a calendar year, not 52 weeks).", 2,
         horizon="1 year", base="ret_1y", basis=True),
    Spec("rsi_14", "index", "{name} RSI-14",
         "Wilder's 14-session relative strength index: gains and losses smoothed by an EMA with alpha 1/14, "
         "seeded by the simple mean of the first 14 changes.", 15, window=15),
    Spec("sma_50", "price", "{name} 50-day average", "Simple mean of the last 50 closes.", 50, window=50),
    Spec("sma_200", "price", "{name} 200-day average", "Simple mean of the last 200 closes.", 200, window=200),
    Spec("above_sma_50", "bool", "{name} above its 50-day average", "Whether the close is above the 50-day average.", 50,
         window=50),
    Spec("above_sma_200", "bool", "{name} above its 200-day average",
         "Whether the close is above the 200-day average.", 200, window=200),
    Spec("sma_50_slope", "fraction", "{name} 50-day average, 20-session change",
         "Change of the 50-day average over the last 20 sessions; positive means rising.", 50 + SLOPE_SESSIONS,
         window=50 + SLOPE_SESSIONS),
    Spec("sma_200_slope", "fraction", "{name} 200-day average, 20-session change",
         "Change of the 200-day average over the last 20 sessions; positive means rising.", 200 + SLOPE_SESSIONS,
         window=200 + SLOPE_SESSIONS),
    Spec("record_close", "price", "{name} record close", "Highest close in the available history.", 1),
    Spec("record_date", "date", "{name} record close date", "Session of the record close (the first, on ties).", 1),
    Spec("pct_from_record", "fraction", "{name} distance from record close", "Close over the record close, minus one.", 1),
    Spec("sessions_since_record", "sessions", "{name} sessions since record close",
         "Exchange sessions after the record close, counted on the exchange calendar (0 on a record day).", 1),
    Spec("drought_rank", "sessions", "{name} rank of the record drought",
         "1 + the number of earlier record droughts (the sessions between two record closes) longer than the "
         "current one, over the whole history; empty on a record day.", 2,
         empty="no drought: {day} closed at a record"),
    Spec("records_ytd", "sessions", "{name} record closes this year",
         "Sessions this year whose close beat every earlier close.", 2),
    Spec("high_52w", "price", "{name} 52-week closing high",
         "Highest close in the 52 weeks (364 calendar days) ending at the as-of date.", 2, window=WEEKS_52),
    Spec("low_52w", "price", "{name} 52-week closing low",
         "Lowest close in the 52 weeks (364 calendar days) ending at the as-of date.", 2, window=WEEKS_52),
    Spec("pct_from_high_52w", "fraction", "{name} distance from 52-week high",
         "Close over the 52-week closing high, minus one.", 2, window=WEEKS_52),
    Spec("drawdown", "fraction", "{name} drawdown", "Close over the running peak close, minus one (0 at a record).", 1),
    Spec("vol_20d", "fraction", "{name} 20-day volatility",
         "Sample standard deviation of the last 20 daily log price returns (quoted closes), times the square root of 252.", 21, window=21),
]

# A ratio series (config `derived: {x: {ratio: [a, b]}}`) is counted as a ratio, not a price.
RATIO_SYMBOL = [replace(s, unit="ratio") if s.unit == "price" else s for s in SYMBOL]


def symbol_specs(universe, alias: str) -> list[Spec]:
    """The per-symbol specs as they apply to `alias`: a ratio series' levels are ratios."""
    d = universe.derived.get(alias)
    return RATIO_SYMBOL if d is not None and d.kind == "ratio" else SYMBOL


# Volume-based, for the symbols listed in config `volume_symbols` (IWM by default: index volume is meaningless).
VOLUME = [
    Spec("volume", "count", "{name} volume", "Shares traded in the last completed session.", 1, window=1),
    Spec("volume_avg_63", "count", "{name} 63-session average volume", "Mean shares traded over the last 63 sessions.",
         VOLUME_WINDOW, window=VOLUME_WINDOW),
    Spec("volume_ratio", "ratio", "{name} volume vs 3-month average",
         "Last session's volume over the 63-session average.", VOLUME_WINDOW, window=VOLUME_WINDOW),
]

# Per pair (a_vs_b.metric).
PAIR = [
    Spec("ret_ytd_spread", "fraction", "{name}: YTD {ret} gap{note}",
         "A's YTD return minus B's (in percentage points).", 2, horizon="YTD", basis=True),
    Spec("ret_3m_spread", "fraction", "{name}: 3-month {ret} gap{note}", "A's 3-month return minus B's.", 2,
         horizon="3 months", basis=True),
    Spec("ret_1m_spread", "fraction", "{name}: 1-month {ret} gap{note}", "A's 1-month return minus B's.", 2,
         horizon="1 month", basis=True),
    Spec("ret_20d_spread", "fraction", "{name}: 20-day {ret} gap{note}", "A's 20-day return minus B's.", 21,
         horizon="20 days", basis=True),
    Spec("outperf_streak", "sessions", "{name}: outperformance streak{note}",
         "Consecutive sessions, ending at the as-of date, in which A's daily return beat B's.", 2, basis=True),
    Spec("longest_outperf_streak", "sessions", "{name}: longest outperformance streak{note}",
         "Longest such run in the history both series share.", 2, basis=True),
    Spec("longest_outperf_streak_date", "date", "{name}: end of the longest streak{note}",
         "Last session of the longest run (the latest, on ties).", 2, basis=True),
    Spec("outperf_streak_rank", "sessions", "{name}: rank of the current streak{note}",
         "1 + the number of earlier runs longer than the current one; empty when there is no current run.", 2,
         empty="no current streak: {a} did not beat {b} on {day}", basis=True),
    Spec("ratio", "ratio", "{name}: relative strength ratio", "A's close over B's close.", 1),
]

SECTOR_HORIZONS = (("1d", "1-day"), ("1m", "1-month"), ("ytd", "YTD"))
SECTORS = [
    Spec(f"{kind}_{h}", unit, label, f"{defn} {hl} return among the sector funds.", 2,
         empty=f"no sector has a {h} return", basis=True)
    for h, hl in SECTOR_HORIZONS
    for kind, unit, label, defn in (
        ("leader", "label", f"Sector leader, {hl} {{ret}}{{note}}", "Sector with the highest"),
        ("leader_ret", "fraction", f"Sector leader's {hl} {{ret}}{{note}}", "Return of the sector with the highest"),
        ("laggard", "label", f"Sector laggard, {hl} {{ret}}{{note}}", "Sector with the lowest"),
        ("laggard_ret", "fraction", f"Sector laggard's {hl} {{ret}}{{note}}", "Return of the sector with the lowest"))
] + [Spec("positive_ytd", "fraction", "Share of sectors up this year ({ret}){note}",
          "Fraction of sector funds with a positive YTD return.", 2, empty="no sector has a ytd return", basis=True)]

BREADTH = [
    Spec("dispersion_1m", "fraction", "Dispersion of 1-month {ret}s{note}",
         "Cross-sectional standard deviation (population) of 1-month returns across the breadth basket.", 2,
         empty="fewer than two basket members have a 1-month return", basis=True),
]

LEVEL = [
    Spec("", "price", "{name}", "The author's level, from config.", 1, static=True),
    Spec("_distance", "fraction", "{name}: distance", "Close over the level, minus one.", 1,
         empty="no close for {symbol} on {day}"),
    Spec("_above", "bool", "{name}: close above", "Whether the close is above the level.", 1,
         empty="no close for {symbol} on {day}"),
]
TARGET = [
    Spec("", "price", "{name}", "An analyst target: a sourced fact with its date.", 1, static=True),
    Spec("_move", "fraction", "{name}: implied move", "Target over the close, minus one: the move it implies.", 1,
         empty="no close for {symbol} on {day}"),
]

MACRO = [
    Spec("latest", NATIVE, "{name}, latest", "Latest observation, in the series' own unit, with its observation date.",
         1, empty="too little history: {observations} observations, needs 1"),
]
# Derived macro metrics, switched on per series in config (`derived: [avg_4w]`).
MACRO_DERIVED = {
    "avg_4w": Spec("avg_4w", "count", "{name}, 4-week average", "Mean of the last four weekly observations.", 4,
                   empty="too little history: {observations} observations, needs 4"),
    "yoy": Spec("yoy", "fraction", "{name}, year over year",
                "Latest observation over the one twelve months earlier (matched by date), minus one.", 13,
                empty="no observation for {year_before}"),
}

RANGE = Spec("range", "percent_range", "{name}", "Lower and upper bounds of a range published as two series.", 1,
             empty="no common observation of {lo} and {hi}")

# Every family's specs, by the name the formulas module uses.
FAMILIES: dict[str, list[Spec]] = {
    "symbol": SYMBOL, "volume": VOLUME, "pair": PAIR, "sectors": SECTORS, "breadth": BREADTH,
    "levels": LEVEL, "targets": TARGET, "macro": [*MACRO, *MACRO_DERIVED.values()], "range": [RANGE],
}


def series_label(universe, alias: str) -> str:
    """A symbol's or derived series' full name."""
    item = universe.symbols.get(alias) or universe.derived[alias]
    return item.name


def short_label(universe, alias: str) -> str:
    """A symbol's or derived series' short name (its name when it has none): for labels naming two series."""
    item = universe.symbols.get(alias) or universe.derived[alias]
    return item.short or item.name


# What the vectorized families are read from: "no volume on 2026-01-15".
READS = {"symbol": "close", "volume": "volume"}


def label(spec: Spec, name: str, basis: str = "") -> str:
    """A spec's label for one subject: `{ret}` and `{note}` say the basis of a return."""
    if not spec.basis:
        return spec.label.format(name=name)
    ret, note = BASIS_WORDS[basis]
    return spec.label.format(name=name, ret=ret, note=note)


def default_bases(universe) -> dict[str, str]:
    """What each symbol's and derived series' returns count, from config alone: a symbol's
    `return_basis`; a derived series is computed from its legs' quoted closes (price)."""
    return {a: s.return_basis for a, s in universe.symbols.items()} | {a: "price" for a in universe.derived}


def combined(bases: list[str], *, basket: bool = False) -> str:
    """One basis for several series: theirs when they agree, else a mix."""
    kinds = set(bases)
    if len(kinds) == 1:
        return kinds.pop()
    return "" if not kinds else ("mixed basket" if basket else "mixed")


class Entry(NamedTuple):
    """One key of a universe: its spec, its family and the subject its functions take."""
    key: str
    spec: Spec
    family: str        # symbol | volume | pair | sectors | breadth | levels | targets | macro | range
    subject: str       # alias, pair name, "levels.breakout", macro alias, range name
    name: str          # display name for the label
    basis: str = ""    # a return's basis: price | total | mixed | "mixed basket" ("" when not a return)

    @property
    def label(self) -> str:
        return label(self.spec, self.name, self.basis)

    def inputs(self, universe) -> set[str]:
        """The series (symbol or macro aliases, as fetched) this key is computed from: a derived
        series stands for its two legs."""
        if self.family in ("symbol", "volume", "macro"):
            return set(_legs(universe, self.subject)) if self.family == "symbol" else {self.subject}
        if self.family == "pair":
            p = universe.pairs[self.subject]
            return set(_legs(universe, p.a)) | set(_legs(universe, p.b))
        if self.family == "sectors":
            return set(universe.sectors)
        if self.family == "breadth":
            return set(universe.breadth_basket)
        if self.family == "range":
            r = universe.ranges[self.subject]
            return {r.lo, r.hi}
        return set(_legs(universe, _level(universe, self.subject).symbol))  # levels, targets

    def needs(self, universe) -> list[str]:
        """The series (symbol or derived aliases) that must all have a close for the value to exist;
        a basket (sectors, breadth) needs only some of its members."""
        if self.family == "pair":
            p = universe.pairs[self.subject]
            return [p.a, p.b]
        if self.family in ("levels", "targets"):
            return [_level(universe, self.subject).symbol]
        if self.family in ("symbol", "volume"):
            return [self.subject]
        return []

    def basket(self, universe) -> tuple[str, list[str]]:
        """A basket family's name and members, at least one of which must have data: ("", [])
        for the others."""
        if self.family == "sectors":
            return "sector", list(universe.sectors)
        if self.family == "breadth":
            return "breadth basket", list(universe.breadth_basket)
        return "", []

    def names(self, universe) -> dict[str, str]:
        """The names the spec's `empty` template may use."""
        if self.family == "pair":
            p = universe.pairs[self.subject]
            return {"a": short_label(universe, p.a), "b": short_label(universe, p.b)}
        if self.family in ("levels", "targets"):
            return {"symbol": series_label(universe, _level(universe, self.subject).symbol)}
        if self.family == "range":
            r = universe.ranges[self.subject]
            return {"lo": r.lo, "hi": r.hi}
        return {}


def _level(universe, subject: str):
    group, name = subject.split(".", 1)
    return getattr(universe, group)[name]


def _legs(universe, alias: str) -> tuple[str, ...]:
    d = universe.derived.get(alias)
    return d.legs if d is not None else (alias,)


def entries(universe, bases: dict[str, str] | None = None) -> dict[str, Entry]:
    """Every metric key of a universe, with what computes it. Needs no data: the config checks,
    `list` and the catalog tests read it. `bases` (alias -> price | total) is what the data
    gives each series' returns; by default what the config asks (`default_bases`)."""
    out: dict[str, Entry] = {}
    bases = default_bases(universe) | (bases or {})

    def add(family, subject, specs, prefix, name, basis=""):
        for s in specs:
            out[f"{prefix}{s.name}"] = Entry(f"{prefix}{s.name}", s, family, subject, name,
                                             basis if s.basis else "")

    for alias in [*universe.symbols, *universe.derived]:
        add("symbol", alias, symbol_specs(universe, alias), f"{alias}.", series_label(universe, alias), bases[alias])
    for alias in universe.volume_symbols:
        add("volume", alias, VOLUME, f"{alias}.", series_label(universe, alias))
    for pair, p in universe.pairs.items():
        add("pair", pair, PAIR, f"{pair}.", f"{short_label(universe, p.a)} vs {short_label(universe, p.b)}",
            combined([bases[p.a], bases[p.b]]))
    if universe.sectors:  # a site without sector funds has no sector keys (not a row of empty ones)
        add("sectors", "sectors", SECTORS, "sectors.", "", combined([bases[a] for a in universe.sectors], basket=True))
    if universe.breadth_basket:
        add("breadth", "breadth", BREADTH, "breadth.", "",
            combined([bases[a] for a in universe.breadth_basket], basket=True))
    for group, specs in (("levels", LEVEL), ("targets", TARGET)):
        for name, level in getattr(universe, group).items():
            add(group, f"{group}.{name}", specs, f"{group}.{name}", level.label)
    for alias, cfg in universe.macro.items():
        latest = MACRO[0]
        own_unit = Spec(latest.name, cfg.unit, latest.label, latest.definition, latest.min_sessions,
                        empty=latest.empty)
        add("macro", alias, [own_unit], f"{alias}.", cfg.name)
        add("macro", alias, [MACRO_DERIVED[d] for d in cfg.derived], f"{alias}.", cfg.name)
    for name, cfg in universe.ranges.items():
        add("range", name, [RANGE], f"{name}.", cfg.name)
    return out


def keys_for(universe) -> dict[str, Spec]:
    """Every metric key a universe's snapshot holds, with its spec (macro `latest` in the series' own unit)."""
    return {k: e.spec for k, e in entries(universe).items()}


def reference_rows() -> list[dict[str, str]]:
    """One row per key pattern, for the methodology page and `build_data list --patterns`; a
    return's row carries its horizon as the pages word it ("1 month")."""
    rows = []
    for group, pattern, specs in (("symbol", "X.{m}", SYMBOL), ("volume", "X.{m}", VOLUME),
                                  ("pair", "A_vs_B.{m}", PAIR), ("sectors", "sectors.{m}", SECTORS),
                                  ("breadth", "breadth.{m}", BREADTH), ("levels", "levels.NAME{m}", LEVEL),
                                  ("targets", "targets.NAME{m}", TARGET), ("macro", "SERIES.{m}", MACRO),
                                  ("macro", "SERIES.{m}", list(MACRO_DERIVED.values())),
                                  ("range", "RANGE.{m}", [RANGE])):
        rows += [{"group": group, "pattern": pattern.format(m=s.name), "unit": s.unit,
                  "label": s.label.format(name="{name}", ret=BASIS_REFERENCE, note="") if s.basis else s.label,
                  "definition": f"{s.definition} {_BASIS_RULES[group]}" if s.basis else s.definition,
                  "min_sessions": str(s.min_sessions),
                  **({"horizon": s.horizon} if s.horizon else {})} for s in specs]
    return rows


_BASIS_RULES = {
    "symbol": BASIS_RULE,
    "pair": "Each series on its own basis: two indexes compare price returns, two funds total returns; "
            "a pair of one of each is labelled \"(price vs total return)\".",
    "sectors": "Total returns where the funds' source has adjusted closes; the label says which.",
    "breadth": "Total returns where the funds' source has adjusted closes; the label says which.",
}
