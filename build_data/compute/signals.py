"""Editorial signals: do the pages' claims still hold, and where does each watchlist item stand.

Thresholds come from config (universe.yml); pages and macros never compare numbers. A signal's
state is replayed over the daily history of its metrics, so it needs no memory of earlier builds:

  reading -> condition met (with hysteresis: once begun, a state lasts until the `clear` level
  fails) -> all/any of the conditions -> confirmed (a new state counts once it has held `confirm`
  sessions in a row) -> since, previous, pending and the flips of the change log.
"""
from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from build_data import formatting
from build_data.compute.catalog import keys_for
from build_data.compute.values import Metric
from build_data.config import Condition, Universe, WatchItem

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
WATCH_STATES = ("clear", "near", "triggered")  # coded 0, 1, 2 in state series
# The change log covers about three months of sessions.
CHANGE_WINDOW_SESSIONS = 63


def signal_keys(universe: Universe) -> set[str]:
    """Every metric key a claim or watch item reads (compound conditions included): the
    histories the signals need."""
    items = [*universe.claims.values(), *universe.watchlist.values()]
    return {c.metric for item in items for c in item.conditions}


# ------------------------------------------------------------------ from readings to states

def _readings(history: pd.Series | None) -> pd.Series:
    """A metric's daily readings as floats (yes/no as 1/0), missing sessions dropped."""
    if history is None:
        return pd.Series(dtype=float)
    return history.dropna().astype(float)


def _met(values: pd.Series, op: str, threshold: float | None) -> pd.Series:
    if op == "true":
        return values != 0
    if op == "false":
        return values == 0
    return OPS[op](values, threshold)


def condition_states(history: pd.Series | None, cond: Condition) -> pd.Series:
    """1.0 on the sessions where the condition is on, 0.0 where off.

    With `clear` (hysteresis) the state turns on at `op threshold` and off only when `op clear`
    fails: between the two it keeps the state it had (off before it first turned on)."""
    values = _readings(history)
    met = _met(values, cond.op, cond.threshold)
    if cond.clear is None:
        return met.astype(float)
    stays = _met(values, cond.op, cond.clear)
    latch = met.astype(float).where(met | ~stays)  # 1 met, 0 beyond the clear level, NaN in the band
    return latch.ffill().fillna(0.0)


def _combine(states: list[pd.Series], mode: str) -> pd.Series:
    """all/any of aligned 0/1 state series, in three-valued logic (a reading stands until the
    next one; unknown only when the known ones cannot decide)."""
    if len(states) == 1:
        return states[0]
    frame = pd.concat(states, axis=1).sort_index().ffill()
    known = frame.notna().all(axis=1)
    if mode == "all":
        low = frame.min(axis=1)
        return low.where((low == 0) | known).dropna()
    high = frame.max(axis=1)
    return high.where((high == 1) | known).dropna()


def _near_states(history: pd.Series | None, cond: Condition) -> pd.Series:
    """1.0 where the reading meets the threshold or lies within `near` of it."""
    values = _readings(history)
    close = _met(values, cond.op, cond.threshold)
    if cond.near is not None:
        close |= (values - cond.threshold).abs() <= cond.near
    return close.astype(float)


def raw_states(item, histories: dict[str, pd.Series | None]) -> pd.Series:
    """The unconfirmed daily state of a claim (1/0) or watch item (0 clear, 1 near, 2 triggered)."""
    on = _combine([condition_states(histories.get(c.metric), c) for c in item.conditions], item.mode)
    if not isinstance(item, WatchItem):
        return on
    near = _combine([_near_states(histories.get(c.metric), c) for c in item.conditions], item.mode)
    near = near.reindex(on.index).fillna(0.0)
    return pd.Series(np.where(on == 1, 2.0, np.where(near == 1, 1.0, 0.0)), index=on.index)


def _runs(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position where each session's run of equal states began, its length so far)."""
    pos = np.arange(len(raw))
    begins = np.r_[True, raw[1:] != raw[:-1]] if len(raw) else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(begins, pos, 0))
    return start, pos - start + 1


def confirmed_states(raw: pd.Series, confirm: int) -> pd.Series:
    """The state that counts on each session: a new state counts once it has held `confirm`
    sessions in a row (the first state of the history counts at once)."""
    start, length = _runs(raw.to_numpy())
    return raw.where((length == confirm) | (start == 0)).ffill()


def track(raw: pd.Series, confirm: int, label=lambda v: v) -> dict:
    """Replay a state series: {state, since, previous, pending, changes}. `changes` lists every
    confirmed change as (first session of its run, from, to), oldest first; `label` turns a
    coded state into what the snapshot shows."""
    if raw.empty:
        return {"state": None, "since": None, "previous": None, "pending": None, "changes": []}
    values = raw.to_numpy()
    start, length = _runs(values)
    confirmed = confirmed_states(raw, confirm).to_numpy()
    at = np.flatnonzero(confirmed[1:] != confirmed[:-1]) + 1  # sessions where a change is confirmed
    dates = raw.index[start[at]]
    changes = [(d, label(a), label(b)) for d, a, b in zip(dates, confirmed[at - 1], confirmed[at])]
    since, previous = (changes[-1][0], changes[-1][1]) if changes else (raw.index[0], None)
    pending = None
    if values[-1] != confirmed[-1]:
        pending = {"to": label(values[-1]), "sessions": int(length[-1]), "needs": confirm}
    return {"state": label(confirmed[-1]), "since": since.date().isoformat(), "previous": previous,
            "pending": pending, "changes": changes}


def _flips(changes: list[tuple], window_start: pd.Timestamp, history: pd.Series | None = None) -> list[dict]:
    """The changes on or after `window_start`: [{date, from, to}], oldest first; with the metric's
    `history`, each also has `value`, the reading on its date (None where there is none)."""
    out = [{"date": d.date().isoformat(), "from": a, "to": b} for d, a, b in changes if d >= window_start]
    if history is not None:
        readings = history.dropna()
        for flip in out:
            value = readings.get(pd.Timestamp(flip["date"]))
            flip["value"] = None if value is None else float(value)
    return out


def window_start(as_of: pd.Timestamp, session_dates: pd.DatetimeIndex) -> pd.Timestamp:
    """First session of the change log's window."""
    return session_dates[session_dates <= as_of][-CHANGE_WINDOW_SESSIONS:][0]


# ------------------------------------------------------------------ claims and watch items

def _current(cond: Condition, metrics: dict[str, Metric]) -> tuple[float | None, str | None]:
    """(whether the condition is met by the current value, as 1.0/0.0 or None; why not known)."""
    met = metrics.get(cond.metric)
    if met is None:
        return None, f"{cond.metric}: no such metric in this build"
    if met.value is None or not isinstance(met.value, (int, float, bool, np.bool_, np.number)):
        return None, met.reason or f"{cond.metric}: no value"
    return float(_met(pd.Series([float(met.value)]), cond.op, cond.threshold).iloc[0]), None


def _evaluate(item, metrics: dict[str, Metric], histories: dict[str, pd.Series | None],
              label) -> tuple[dict, str | None]:
    """The tracked state of a claim or watch item, and why it cannot be checked (None if it can).

    The state is the last of the replayed history; a condition whose metric has no current value
    makes the item unknown (for `all`/`any`, unless the known conditions decide it)."""
    conds = item.conditions
    now = [_current(c, metrics) for c in conds]
    known = [m for m, _ in now if m is not None]
    decided = (len(known) == len(now) or (item.mode == "all" and 0.0 in known)
               or (item.mode == "any" and 1.0 in known))
    if not decided:
        reasons = [f"{c.metric}: {why}" if len(conds) > 1 else why for c, (m, why) in zip(conds, now) if m is None]
        history = track(raw_states(item, histories), item.confirm, label)
        return {**history, "state": None, "since": None, "previous": None, "pending": None}, "; ".join(reasons)
    if all(histories.get(c.metric) is not None for c in conds):
        history = track(raw_states(item, histories), item.confirm, label)
        if history["state"] is not None:
            return history, None
    # No history to replay: the current reading alone, with no since and no flips.
    current = raw_states(item, {c.metric: pd.Series([getattr(metrics.get(c.metric), "value", None)], dtype=object)
                                for c in conds})
    return {"state": label(current.iloc[-1]) if len(current) else None, "since": None, "previous": None,
            "pending": None, "changes": []}, None


def _shape(item, metrics: dict[str, Metric]) -> dict:
    """The fields the pages read: the first condition stands for the item; compound items add
    every condition with its current value."""
    first = item.conditions[0]
    met = metrics.get(first.metric)
    out = {"metric": first.metric, "op": first.op, "threshold": first.threshold, "clear": first.clear,
           "confirm": item.confirm, "value": met.value if met else None, "unit": met.unit if met else None}
    if item.metric is None:
        out["mode"] = item.mode
        out["conditions"] = [{"metric": c.metric, "op": c.op, "threshold": c.threshold, "clear": c.clear,
                              "value": metrics[c.metric].value if c.metric in metrics else None,
                              "unit": metrics[c.metric].unit if c.metric in metrics else None}
                             for c in item.conditions]
    return out


def threshold_texts(item, units: dict[str, str]) -> dict[str, str | None]:
    """{threshold, clear}: the item's numbers as its texts show them, in its metric's unit and
    display format (None where it has none; a compound item has no single threshold)."""
    first = item.conditions[0]
    unit, fmt = units[first.metric], formatting.display_format(first.metric)
    single = item.metric is not None
    return {name: formatting.format_threshold(value, unit, fmt) if single and value is not None else None
            for name, value in (("threshold", first.threshold), ("clear", first.clear))}


def _fill(text: str, numbers: dict[str, str | None]) -> str:
    """A config text with its {threshold} and {clear} replaced (config checked that they exist)."""
    return text.format(**{k: v or "" for k, v in numbers.items()})


def _single_history(item, histories: dict[str, pd.Series | None]) -> pd.Series | None:
    """The history of a single-condition item's metric (its readings date its flips' values)."""
    return histories.get(item.metric) if item.metric is not None else None


def _units(universe: Universe, items, metrics: dict[str, Metric]) -> dict[str, str]:
    """The unit of each key the items' conditions read: the metric's own (the catalog's, which
    every metric carries), without listing the whole catalog again when the metrics have them."""
    keys = {c.metric for item in items.values() for c in item.conditions}
    if all(k in metrics for k in keys):
        return {k: metrics[k].unit for k in keys}
    return {key: spec.unit for key, spec in keys_for(universe).items()}


def evaluate_claims(universe: Universe, metrics: dict[str, Metric], histories: dict[str, pd.Series | None],
                    start: pd.Timestamp) -> dict:
    out = {}
    units = _units(universe, universe.claims, metrics) if universe.claims else {}
    for cid, claim in universe.claims.items():
        t, reason = _evaluate(claim, metrics, histories, bool)
        holds = t["state"]
        numbers = threshold_texts(claim, units)
        out[cid] = {"page": claim.page, "title": _fill(claim.title, numbers), **_shape(claim, metrics),
                    "threshold_text": numbers["threshold"], "clear_text": numbers["clear"],
                    "holds": holds, "since": t["since"], "previous": t["previous"], "pending": t["pending"],
                    "flips": _flips(t["changes"], start, _single_history(claim, histories)),
                    "text": _fill(claim.holds if holds else claim.fails, numbers), "reason": reason}
    return out


def _status(code) -> str:
    return WATCH_STATES[int(code)]


def evaluate_watchlist(universe: Universe, metrics: dict[str, Metric], histories: dict[str, pd.Series | None],
                       start: pd.Timestamp) -> dict:
    out = {}
    units = _units(universe, universe.watchlist, metrics) if universe.watchlist else {}
    for wid, item in universe.watchlist.items():
        t, reason = _evaluate(item, metrics, histories, _status)
        shape = _shape(item, metrics)
        numbers = threshold_texts(item, units)
        out[wid] = {"kind": item.kind, "title": _fill(item.title, numbers), **shape, "near": item.conditions[0].near,
                    "threshold_text": numbers["threshold"], "clear_text": numbers["clear"],
                    "status": t["state"] or "unknown", "since": t["since"], "previous": t["previous"],
                    "pending": t["pending"], "why": _fill(item.why, numbers),
                    "flips": _flips(t["changes"], start, _single_history(item, histories)),
                    "reason": reason}
    return out


# ------------------------------------------------------------------ the change log

# What a flip did, by the condition's op: the state turned on (the threshold crossed), or off
# (the clear level, else the threshold, crossed back).
_ON = {">": "crossed above {threshold}", ">=": "crossed above {threshold}", "<": "crossed below {threshold}",
       "<=": "crossed below {threshold}", "==": "reached {threshold}"}
_OFF = {">": "fell back below {level}", ">=": "fell back below {level}", "<": "rose back above {level}",
        "<=": "rose back above {level}", "==": "moved off {level}"}
WATCH_VERDICTS = {"triggered": "triggered", "near": "is near its threshold", "clear": "is clear"}


def _value_text(value, unit: str | None, metric: str) -> str | None:
    if value is None or unit is None:
        return None
    try:
        return formatting.format_value(value, unit, formatting.display_format(metric))
    except (TypeError, ValueError):
        return None


def _what_happened(item: dict, label: str, on: bool | None, near: bool = False) -> str | None:
    """"Russell 2000 RSI-14 crossed above 70": what the metric did at a flip, for a single
    numeric condition (None for yes/no and compound items: their verdict says it all)."""
    op = item.get("op")
    if item.get("conditions") or op not in _ON or item.get("threshold_text") is None:
        return None
    threshold, clear = item["threshold_text"], item.get("clear_text")
    if near:
        return f"{label} came close to {threshold}"
    if on:
        return f"{label} {_ON[op].format(threshold=threshold)}"
    if on is False:
        return f"{label} {_OFF[op].format(level=clear or threshold)}"
    return None


def _at_level(item: dict, f: dict, subjects: dict, near: str | None = None) -> tuple[str, float] | None:
    """For a level's or target's distance metric: (what the close did, the close), e.g.
    ("Russell 2000 closed above the 2,861 year-end target", 2870.1); None for other metrics."""
    metric, value = item["metric"], f.get("value")
    subject = subjects.get(_subject(metric))
    if subject is None or value is None or not metric.endswith(("_distance", "_move")):
        return None
    # X_distance is close / level - 1; X_move is level / close - 1.
    close = subject["value"] * (1 + value) if metric.endswith("_distance") else subject["value"] / (1 + value)
    if near == "near":
        return f"{subject['who']} came close to the {subject['label']}", close
    if near == "away":
        return f"{subject['who']} moved away from the {subject['label']}", close
    return f"{subject['who']} closed {'above' if close > subject['value'] else 'below'} the {subject['label']}", close


def _entry(kind: str, id: str, item: dict, f: dict, on: bool | None, near: str | None, outcome: str,
           labels: dict, units: dict, subjects: dict) -> dict:
    metric = item["metric"]
    label = labels.get(metric) or metric
    event, value, value_text = None, f.get("value"), _value_text(f.get("value"), units.get(metric), metric)
    level = _at_level(item, f, subjects, near)
    if level is not None:
        event, value = level
        value_text = formatting.format_value(value, "price")
    elif near == "near":
        event = _what_happened(item, label, None, near=True)
    elif near == "away" and item.get("threshold_text"):
        event = f"{label} moved away from {item['threshold_text']}"
    else:
        event = _what_happened(item, label, on)
    return {"date": f["date"], "kind": kind, "id": id, "key": metric, "anchor": f"{kind}-{id}", "event": event,
            "value": value, "value_text": value_text, "outcome": outcome}


def _claim_entry(cid: str, c: dict, f: dict, labels: dict, units: dict, subjects: dict) -> dict:
    outcome = f"“{c['title']}” {'now holds' if f['to'] else 'no longer holds'}"
    return _entry("claim", cid, c, f, bool(f["to"]), None, outcome, labels, units, subjects)


def _watch_entry(wid: str, w: dict, f: dict, labels: dict, units: dict, subjects: dict) -> dict:
    to, was = f["to"], f["from"]
    on = True if to == "triggered" else False if was == "triggered" else None
    near = "near" if (to, was) == ("near", "clear") else "away" if (to, was) == ("clear", "near") else None
    outcome = f"watch item “{w['title']}” {WATCH_VERDICTS[to]}"
    return _entry("watch", wid, w, f, on, near, outcome, labels, units, subjects)


def _subject(key: str) -> str:
    """What an entry is about: its metric key, or for a level's or target's metrics the level."""
    if key.startswith(("levels.", "targets.")):
        for suffix in ("_above", "_distance", "_move"):
            if key.endswith(suffix):
                return key[: -len(suffix)]
    return key


def _merged(group: list[dict]) -> dict:
    """One entry for everything that happened to one subject on one session: the sentence of the
    first that says what the value did (a level or target event, a claim, a watch item), then
    every claim's and watch item's verdict; each item stays linked."""
    rank = {"target": 0, "level": 0, "record": 0, "streak": 0, "claim": 1, "watch": 2}
    group = sorted(group, key=lambda e: (rank[e["kind"]], e["id"]))
    lead = next((e for e in group if e.get("event")), group[0])
    outcomes = [e["outcome"] for e in group if e.get("outcome")]
    event = lead.get("event")
    if event and lead.get("value_text") and lead["kind"] in ("claim", "watch"):
        event = f"{event} ({lead['value_text']})"
    text = "; ".join(outcomes) if not event else event + (": " + "; ".join(outcomes) if outcomes else "")
    if text.startswith("watch item"):
        text = "W" + text[1:]
    first = group[0]
    return {"date": first["date"], "kind": first["kind"], "id": first["id"], "key": lead["key"], "text": text,
            "value": lead.get("value"), "value_text": lead.get("value_text"), "anchor": first["anchor"],
            "items": [{"kind": e["kind"], "id": e["id"], "anchor": e["anchor"]} for e in group]}


def recent_changes(claims: dict, watchlist: dict, labels: dict[str, str] | None = None,
                   units: dict[str, str] | None = None, events: list[dict] = (),
                   subjects: dict[str, dict] | None = None) -> list[dict]:
    """The change log, newest first: one entry per event. Every claim and watch item flip in the
    window, with the number events (`events`: levels, targets, records, streaks); those on the
    same session about the same metric (or level) are merged into one entry, whose text says what
    the value did and what each claim and watch item made of it:
    "Russell 2000 RSI-14 crossed above 70 (71.5): “Momentum is stretched” now holds; watch item
    “RSI-14 above 70” triggered". `labels` and `units`: each metric key's label and unit;
    `subjects`: each level and target ("levels.breakout") as {who, label, value}, so a flip of its
    distance metric reads as what the close did ("Russell 2000 closed below the 2,450 support")."""
    labels, units, subjects = labels or {}, units or {}, subjects or {}
    entries = [_claim_entry(cid, c, f, labels, units, subjects) for cid, c in claims.items() for f in c["flips"]]
    entries += [_watch_entry(wid, w, f, labels, units, subjects) for wid, w in watchlist.items() for f in w["flips"]]
    entries += list(events)
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        groups.setdefault((e["date"], _subject(e["key"])), []).append(e)
    merged = [_merged(g) for g in groups.values()]
    return sorted(merged, key=lambda c: (c["date"], c["kind"], c["id"]), reverse=True)
