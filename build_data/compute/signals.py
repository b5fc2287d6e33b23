"""Editorial signals: do the pages' claims still hold, and where does each watchlist item stand.

Thresholds come from config (universe.yml); pages and macros never compare numbers. A signal's
history (when it last flipped) comes from its metric's daily series in the catalog, so it needs
no memory of earlier builds.
"""
from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from build_data.compute.values import Metric
from build_data.config import Universe

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
# The change log covers about three months of sessions.
CHANGE_WINDOW_SESSIONS = 63


def _compare(value, op: str, threshold):
    if value is None:
        return None
    if op == "true":
        return bool(value)
    if op == "false":
        return not bool(value)
    return bool(OPS[op](value, threshold))


def _as_number(value):
    return float(value) if isinstance(value, (int, float, bool, np.bool_)) else None


def _since(history: pd.Series | None, states: pd.Series | None) -> tuple[str | None, str | None]:
    """(date the current state began, previous state) from a state series."""
    if history is None or states is None or states.empty:
        return None, None
    changed = states.ne(states.shift(1))
    starts = states.index[changed]
    if len(starts) < 2:
        return None, None  # the state held over the whole history
    prev = states.loc[: starts[-1]].iloc[-2]
    return starts[-1].date().isoformat(), str(prev)


def _flips(states: pd.Series | None, window_start: pd.Timestamp) -> list[dict]:
    """Every change of state on or after `window_start`: [{date, from, to}], oldest first."""
    if states is None or len(states) < 2:
        return []
    prev = states.shift(1)
    changed = states.ne(prev) & prev.notna() & (states.index >= window_start)
    plain = lambda v: v.item() if hasattr(v, "item") else v  # numpy scalars -> JSON-ready values
    return [{"date": d.date().isoformat(), "from": plain(prev[d]), "to": plain(states[d])}
            for d in states.index[changed]]


def window_start(as_of: pd.Timestamp, session_dates: pd.DatetimeIndex) -> pd.Timestamp:
    """First session of the change log's window."""
    return session_dates[session_dates <= as_of][-CHANGE_WINDOW_SESSIONS:][0]


def evaluate_claims(universe: Universe, metrics: dict[str, Metric], histories: dict[str, pd.Series | None],
                    start: pd.Timestamp) -> dict:
    out = {}
    for cid, claim in universe.claims.items():
        met = metrics[claim.metric]
        holds = _compare(met.value, claim.op, claim.threshold)
        hist = histories.get(claim.metric)
        states = None
        if hist is not None:
            h = hist.dropna()
            states = h.map(lambda v: _compare(v, claim.op, claim.threshold))
        since, _ = _since(hist, states)
        out[cid] = {"page": claim.page, "title": claim.title, "metric": claim.metric, "op": claim.op,
                    "threshold": claim.threshold, "value": met.value, "unit": met.unit,
                    "holds": holds, "since": since, "flips": _flips(states, start),
                    "text": claim.holds if holds else claim.fails,
                    "reason": met.reason if holds is None else None}
    return out


def _watch_status(value, item) -> str:
    if value is None:
        return "unknown"
    if OPS[item.op](value, item.threshold):
        return "triggered"
    if abs(value - item.threshold) <= item.near:
        return "near"
    return "clear"


def evaluate_watchlist(universe: Universe, metrics: dict[str, Metric], histories: dict[str, pd.Series | None],
                       start: pd.Timestamp) -> dict:
    out = {}
    for wid, item in universe.watchlist.items():
        met = metrics[item.metric]
        value = _as_number(met.value)
        status = _watch_status(value, item)
        hist = histories.get(item.metric)
        states = hist.dropna().astype(float).map(lambda v: _watch_status(v, item)) if hist is not None else None
        since, previous = _since(hist, states)
        out[wid] = {"kind": item.kind, "title": item.title, "metric": item.metric, "op": item.op,
                    "threshold": item.threshold, "near": item.near, "value": met.value, "unit": met.unit,
                    "status": status, "since": since, "previous": previous, "why": item.why,
                    "flips": _flips(states, start),
                    "reason": met.reason if status == "unknown" else None}
    return out


def recent_changes(claims: dict, watchlist: dict) -> list[dict]:
    """Every signal flip in the change log's window, newest first."""
    changes = []
    for cid, c in claims.items():
        for f in c["flips"]:
            verdict = "now holds" if f["to"] else "no longer holds"
            changes.append({"date": f["date"], "key": c["metric"], "kind": "claim", "id": cid,
                            "text": f"{c['title']}: {verdict}"})
    for wid, w in watchlist.items():
        for f in w["flips"]:
            changes.append({"date": f["date"], "key": w["metric"], "kind": "watch", "id": wid,
                            "text": f"{w['title']}: {f['from']} → {f['to']}"})
    return sorted(changes, key=lambda c: (c["date"], c["id"]), reverse=True)
