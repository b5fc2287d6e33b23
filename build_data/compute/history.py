"""History that gives context: how often each signal fired over the whole history, and what
followed; how a streak or a record drought ranks, and since when the data it is ranked in starts.

Pure functions over the catalog's daily series: the signal's states come from `compute.signals`
(the same replay the badges show), the move that followed from the catalog's own 20-session
return (`X.ret_20d`, or a pair's `A_vs_B.ret_20d_spread`) read 20 sessions later. Nothing here
defines a market number of its own.
"""
from __future__ import annotations

import pandas as pd

from build_data import formatting as f
from build_data.compute import signals
from build_data.compute.formulas import RETURN_SESSIONS
from build_data.config import WatchItem

HORIZON = RETURN_SESSIONS  # sessions after the signal at which the move is read
# Below this many measured cases a rate is stated with a warning: too few to lean on.
FEW_CASES = 10


def onsets(states: pd.Series) -> pd.DatetimeIndex:
    """The sessions on which a state series turns on (0 -> nonzero). A series that starts on
    has no onset at its first session: nothing was seen to begin."""
    on = states.dropna().astype(float) > 0
    began = on & ~on.shift(1, fill_value=True)
    return on.index[began]


def forward(series: pd.Series, sessions: int = HORIZON) -> pd.Series:
    """A trailing `sessions`-session move read `sessions` sessions later: the move that followed
    each session (NaN for the last `sessions` sessions)."""
    return series.shift(-sessions)


def base_rate(states: pd.Series, moves_after: pd.Series) -> dict:
    """Over every onset of `states`: how many cases, how many have a move after them (the last
    ones may be too recent), how many of those were lower (move < 0), the share and the median
    move, the first session the states cover and the last onset."""
    known_states = states.dropna()
    on = onsets(states)
    moves = moves_after.reindex(on).dropna()
    lower = int((moves < 0).sum())
    return {"cases": len(on), "measured": len(moves), "lower": lower,
            "share_lower": lower / len(moves) if len(moves) else None,
            "median": float(moves.median()) if len(moves) else None,
            "start": known_states.index[0].date().isoformat() if len(known_states) else None,
            "last": on[-1].date().isoformat() if len(on) else None}


# ------------------------------------------------------------------ sentences (tested templates)

def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ranked(rank: int | None, noun: str, start: str) -> str:
    """ "the longest drought since Sep 1987", "the 3rd-longest drought since Sep 1987"."""
    if rank is None:
        raise ValueError("ranked(): no rank")
    which = "longest" if rank == 1 else f"{_ordinal(rank)}-longest"
    return f"the {which} {noun} since {f.fmt_month(start)}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{f.fmt_int(n)} times"


def base_rate_text(rate: dict, *, title: str, verb: str, subject: str, versus: str | None = None) -> str:
    """The base rate as the page states it, with the cases it rests on and the start of the data:
    "Since Sep 1987, “Momentum is stretched” has begun to hold 85 times. 20 sessions later the
    Russell 2000 was lower in 38 of 84 cases (45%), with a median move of +0.8%." `versus` (a
    pair's second series) reads the move as a gap: "had trailed the S&P 500", "a median gap of
    +0.4 pp"."""
    quoted = f"\u201c{title}\u201d"
    if rate["start"] is None:
        return f"There is no history to check {quoted} against."
    since = f"Since {f.fmt_month(rate['start'])}"
    if not rate["cases"]:
        return f"{since}, {quoted} has never {verb}: there is no earlier case to compare with."
    head = f"{since}, {quoted} has {verb} {_times(rate['cases'])}"
    if not rate["measured"]:
        return f"{head}, too recently for the {HORIZON} sessions after it to be known."
    if versus is None:
        what, median = f"{subject} was lower", f"a median move of {f.fmt_signed_pct(rate['median'])}"
    else:
        what, median = f"{subject} had trailed {versus}", f"a median gap of {f.fmt_pp(rate['median'])}"
    tail = (f"{HORIZON} sessions later {what} in {rate['lower']} of {rate['measured']} "
            f"case{'s' if rate['measured'] != 1 else ''} ({f.fmt_pct(rate['share_lower'], 0)}), with {median}.")
    recent = rate["cases"] - rate["measured"]
    text = f"{head}. {tail}"
    if recent:
        text += f" The latest {'case is' if recent == 1 else f'{recent} cases are'} too recent to count."
    if rate["measured"] < FEW_CASES:
        text += " Too few cases to lean on."
    return text


# ------------------------------------------------------------------ per signal

def _subject(data, metric: str) -> tuple[str, str | None] | None:
    """The series whose move follows a signal on `metric`: (symbol alias, None) or (a, b) for a
    pair; None for a metric on no price series (macro, sector baskets)."""
    e = data.entries.get(metric)
    if e is None:
        return None
    if e.family in ("symbol", "volume"):
        return e.subject, None
    if e.family == "pair":
        p = data.universe.pairs[e.subject]
        return p.a, p.b
    if e.family in ("levels", "targets"):
        group, name = e.subject.split(".", 1)
        return getattr(data.universe, group)[name].symbol, None
    return None


def _moves_after(data, subject: tuple[str, str | None]) -> pd.Series:
    a, b = subject
    if b is None:
        return forward(data.history(f"{a}.ret_{HORIZON}d"))
    pair = next(name for name, p in data.universe.pairs.items() if (p.a, p.b) == (a, b))
    return forward(data.history(f"{pair}.ret_{HORIZON}d_spread"))


def unavailable_text(title: str, why: str) -> str:
    """The neutral line shown instead of a base rate that cannot be computed."""
    return f"No base rate for \u201c{title}\u201d in this build: {why}."


def base_rates(data, claims: dict, watchlist: dict) -> dict[str, dict]:
    """The base rate of every claim and watch item, keyed by its id: the counts (see
    `base_rate`), the series it is read on, and the sentence. An item on no price series (a
    macro release, a sector basket) or without data gets a neutral sentence saying why, and
    `reason`."""
    from build_data.compute.values import history

    out: dict[str, dict] = {}
    universe = data.universe
    items = [("watch", wid, item, watchlist.get(wid, {})) for wid, item in universe.watchlist.items()]
    items += [("claim", cid, item, claims.get(cid, {})) for cid, item in universe.claims.items()]
    for kind, iid, item, shown in items:
        title = shown.get("title") or item.title
        subject = _subject(data, item.conditions[0].metric)
        empty = {"kind": kind, "title": title, "series": "", "versus": None, "horizon": HORIZON, "cases": 0,
                 "measured": 0, "lower": 0, "share_lower": None, "median": None, "start": None, "last": None}
        if subject is None:
            why = "it rests on a series that is not a price, so there is no move after it to measure"
            out[iid] = {**empty, "reason": why, "text": unavailable_text(title, why)}
            continue
        a, b = subject
        if any(s is not None and (s not in data.closes.columns or data.closes[s].isna().all()) for s in (a, b)):
            gone = next(s for s in (a, b) if s is not None and (s not in data.closes.columns or data.closes[s].isna().all()))
            why = f"there is no price data for the {data.names.get(gone, gone)}"
            out[iid] = {**empty, "series": a, "versus": b, "reason": why, "text": unavailable_text(title, why)}
            continue
        histories = {c.metric: history(c.metric, data) for c in item.conditions}
        raw = signals.raw_states(item, histories)
        if raw.empty:
            why = "its metric has no reading in the available history"
            out[iid] = {**empty, "series": a, "versus": b, "reason": why, "text": unavailable_text(title, why)}
            continue
        states = signals.confirmed_states(raw, item.confirm)
        if isinstance(item, WatchItem):
            states = (states == 2).astype(float)
        rate = base_rate(states, _moves_after(data, subject))
        out[iid] = {"kind": kind, "title": title, "series": a, "versus": b, "horizon": HORIZON, **rate,
                    "text": base_rate_text(rate, title=title, verb="triggered" if kind == "watch" else "begun to hold",
                                           subject=f"the {data.names[a]}",
                                           versus=f"the {data.names[b]}" if b else None)}
    return out
