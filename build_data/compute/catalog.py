"""The metric catalog: every key pattern the snapshot can hold, with its unit and definition.

`build_data list`, the methodology page's metric reference and the labels in metrics.json all
come from here, so they cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    name: str          # metric part of the key, e.g. "ret_ytd"
    unit: str          # fraction | percent | percent_range | price | index | count | ratio | sessions | date | bool | label
    label: str         # "{name} YTD return": {name} is the symbol's or series' display name
    definition: str    # one sentence for the methodology page
    min_sessions: int = 1


# Per symbol (alias.metric), from the close price.
SYMBOL = [
    Spec("close", "price", "{name} close", "Last completed session's closing price.", 1),
    Spec("ret_1d", "fraction", "{name} 1-day return", "Close over the previous session's close, minus one.", 2),
    Spec("ret_1m", "fraction", "{name} 1-month return",
         "Close over the last close on or before the same date one calendar month earlier, minus one.", 2),
    Spec("ret_3m", "fraction", "{name} 3-month return", "As the 1-month return, three calendar months back.", 2),
    Spec("ret_ytd", "fraction", "{name} YTD return",
         "Close over the previous year's last close, minus one (the index providers' convention).", 2),
    Spec("ret_1y", "fraction", "{name} 1-year return", "As the 1-month return, one calendar year back.", 2),
    Spec("rsi_14", "index", "{name} RSI-14",
         "Wilder's 14-session relative strength index: gains and losses smoothed by an EMA with alpha 1/14, "
         "seeded by the simple mean of the first 14 changes.", 15),
    Spec("sma_50", "price", "{name} 50-day average", "Simple mean of the last 50 closes.", 50),
    Spec("sma_200", "price", "{name} 200-day average", "Simple mean of the last 200 closes.", 200),
    Spec("above_sma_50", "bool", "{name} above its 50-day average", "Whether the close is above the 50-day average.", 50),
    Spec("above_sma_200", "bool", "{name} above its 200-day average", "Whether the close is above the 200-day average.", 200),
    Spec("sma_50_slope", "fraction", "{name} 50-day average, 20-session change",
         "Change of the 50-day average over the last 20 sessions; positive means rising.", 70),
    Spec("sma_200_slope", "fraction", "{name} 200-day average, 20-session change",
         "Change of the 200-day average over the last 20 sessions; positive means rising.", 220),
    Spec("record_close", "price", "{name} record close", "Highest close in the available history.", 1),
    Spec("record_date", "date", "{name} record close date", "Session of the record close (the first, on ties).", 1),
    Spec("pct_from_record", "fraction", "{name} distance from record close", "Close over the record close, minus one.", 1),
    Spec("sessions_since_record", "sessions", "{name} sessions since record close",
         "Exchange sessions after the record close, counted on the NYSE calendar (0 on a record day).", 1),
    Spec("records_ytd", "sessions", "{name} record closes this year",
         "Sessions this year whose close beat every earlier close.", 2),
    Spec("high_52w", "price", "{name} 52-week closing high", "Highest close in the 52 weeks to the as-of date.", 2),
    Spec("low_52w", "price", "{name} 52-week closing low", "Lowest close in the 52 weeks to the as-of date.", 2),
    Spec("pct_from_high_52w", "fraction", "{name} distance from 52-week high", "Close over the 52-week closing high, minus one.", 2),
    Spec("drawdown", "fraction", "{name} drawdown", "Close over the running peak close, minus one (0 at a record).", 1),
    Spec("vol_20d", "fraction", "{name} 20-day volatility",
         "Sample standard deviation of the last 20 daily log returns, times the square root of 252.", 21),
]

# Volume-based, for the symbols listed in config `volume_symbols` (IWM by default: index volume is meaningless).
VOLUME = [
    Spec("volume", "count", "{name} volume", "Shares traded in the last completed session.", 1),
    Spec("volume_avg_63", "count", "{name} 63-session average volume", "Mean shares traded over the last 63 sessions.", 63),
    Spec("volume_ratio", "ratio", "{name} volume vs 3-month average", "Last session's volume over the 63-session average.", 63),
]

# Per pair (a_vs_b.metric).
PAIR = [
    Spec("ret_ytd_spread", "fraction", "{name}: YTD return gap", "A's YTD return minus B's (in percentage points).", 2),
    Spec("ret_3m_spread", "fraction", "{name}: 3-month return gap", "A's 3-month return minus B's.", 2),
    Spec("ret_1m_spread", "fraction", "{name}: 1-month return gap", "A's 1-month return minus B's.", 2),
    Spec("outperf_streak", "sessions", "{name}: outperformance streak",
         "Consecutive sessions, ending at the as-of date, in which A's daily return beat B's.", 2),
    Spec("longest_outperf_streak", "sessions", "{name}: longest outperformance streak",
         "Longest such run in the history both series share.", 2),
    Spec("longest_outperf_streak_date", "date", "{name}: end of the longest streak",
         "Last session of the longest run (the latest, on ties).", 2),
    Spec("outperf_streak_rank", "sessions", "{name}: rank of the current streak",
         "1 + the number of earlier runs longer than the current one; empty when there is no current run.", 2),
    Spec("ratio", "ratio", "{name}: relative strength ratio", "A's close over B's close.", 1),
]

SECTORS = [
    Spec(f"{kind}_{h}", unit, f"Sector {word}, {hl}", f"{defn} {hl} return among the sector funds.", 2)
    for h, hl in (("1d", "1-day"), ("1m", "1-month"), ("ytd", "YTD"))
    for kind, unit, word, defn in (("leader", "label", "leader", "Sector with the highest"),
                                   ("leader_ret", "fraction", "leader's return", "Return of the sector with the highest"),
                                   ("laggard", "label", "laggard", "Sector with the lowest"),
                                   ("laggard_ret", "fraction", "laggard's return", "Return of the sector with the lowest"))
] + [Spec("positive_ytd", "fraction", "Share of sectors up this year", "Fraction of sector funds with a positive YTD return.", 2)]

BREADTH = [
    Spec("dispersion_1m", "fraction", "Dispersion of 1-month returns",
         "Cross-sectional standard deviation (population) of 1-month returns across the breadth basket.", 2),
]

LEVEL = [
    Spec("", "price", "{name}", "The author's level, from config.", 1),
    Spec("_distance", "fraction", "{name}: distance", "Close over the level, minus one.", 1),
    Spec("_above", "bool", "{name}: close above", "Whether the close is above the level.", 1),
]
TARGET = [
    Spec("", "price", "{name}", "An analyst target: a sourced fact with its date.", 1),
    Spec("_move", "fraction", "{name}: implied move", "Target over the close, minus one: the move it implies.", 1),
]

MACRO = [
    Spec("latest", "native", "{name}, latest", "Latest observation, in the series' own unit, with its observation date.", 1),
]
MACRO_EXTRA = [
    ("claims", Spec("avg_4w", "count", "Initial jobless claims, 4-week average", "Mean of the last four weekly observations.", 4)),
    ("cpi", Spec("yoy", "fraction", "CPI inflation, year over year", "Latest CPI over the CPI twelve months earlier, minus one.", 13)),
    ("fed", Spec("range", "percent_range", "Fed funds target range", "Lower and upper bounds of the target range.", 1)),
]


def reference_rows() -> list[dict[str, str]]:
    """One row per key pattern, for the methodology page and `build_data list --patterns`."""
    rows = []
    for group, pattern, specs in (("symbol", "X.{m}", SYMBOL), ("volume", "X.{m}", VOLUME),
                                  ("pair", "A_vs_B.{m}", PAIR), ("sectors", "sectors.{m}", SECTORS),
                                  ("breadth", "breadth.{m}", BREADTH), ("levels", "levels.NAME{m}", LEVEL),
                                  ("targets", "targets.NAME{m}", TARGET), ("macro", "SERIES.{m}", MACRO)):
        rows += [{"group": group, "pattern": pattern.format(m=s.name), "unit": s.unit, "label": s.label,
                  "definition": s.definition, "min_sessions": str(s.min_sessions)} for s in specs]
    rows += [{"group": "macro", "pattern": f"{alias}.{s.name}", "unit": s.unit, "label": s.label,
              "definition": s.definition, "min_sessions": str(s.min_sessions)} for alias, s in MACRO_EXTRA]
    return rows
