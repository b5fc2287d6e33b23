"""The snapshot contract (metrics.json): assembly and serialization.

Values stay unrounded in memory; JSON rounds floats to 10 significant digits, keys sorted.
"""
from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

from build_data import schema
from build_data.compute import catalog
from build_data.config import Facts, Universe
from build_data.formatting import display_format
from build_data.publish import contract
from build_data.publish.contract import SCHEMA


def facts_entries(facts: Facts, as_of: dt.date) -> dict:
    """Each sourced fact with its age on the as-of date, and whether it has expired."""
    out = {}
    for key, f in facts.facts.items():
        if as_of < f.effective_from:  # not public yet on the as-of date: absent, with the reason
            out[key] = {"text": f.text, "value": None, "unit": f.unit, "source": f.source, "date": f.date.isoformat(),
                        "age_days": None, "max_age_days": f.max_age_days, "expired": False, "url": f.url,
                        "absent": True, "effective": f.effective_from.isoformat(),
                        "reason": f"not yet published: dated {f.effective_from.isoformat()}, after {as_of.isoformat()}"}
            continue
        age = (as_of - f.date).days
        # A text fact (a quote, a stance) is its own value.
        value = f.text if f.unit == "text" and f.value is None else f.value
        # Rebuilt as of a day before the fact was published (an archived week): it shows with its
        # date and no age, rather than a negative one.
        out[key] = {"text": f.text, "value": value, "unit": f.unit, "source": f.source,
                    "date": f.date.isoformat(), "age_days": age if age >= 0 else None,
                    "max_age_days": f.max_age_days, "expired": age > f.max_age_days, "url": f.url,
                    "decimals": f.decimals}
    return out


def assemble(*, universe: Universe, facts: Facts, gathered, metrics: dict, claims: dict, watchlist: dict,
             changes: list, charts: dict, built_at: pd.Timestamp, story: dict | None = None,
             marks: dict | None = None, calendar: list | None = None) -> dict:
    """The snapshot. `story` holds the home page's "this week" summary, the history notes and the
    signals' base rates (compute.summary, compute.history); `marks` each level's and target's events
    (compute's `build.marks`); `calendar` the scheduled events from the change log's window on."""
    as_of = gathered.as_of
    marks = marks or {"levels": {}, "targets": {}}
    return {
        "schema": SCHEMA,
        "as_of": as_of.isoformat(),
        "built_at": built_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data_mode": gathered.data_mode,
        "mode_note": gathered.mode_note,
        "metrics": {k: v.to_json() for k, v in metrics.items()},
        "claims": {cid: {**c, "fmt": display_format(c["metric"])} for cid, c in claims.items()},
        "watchlist": {wid: {**w, "fmt": display_format(w["metric"])} for wid, w in watchlist.items()},
        "changes": changes,
        "facts": facts_entries(facts, as_of),
        "series_status": gathered.status,
        "charts": charts,
        "sectors": [{"alias": a, "name": universe.symbols[a].name, "ticker": universe.symbols[a].ticker}
                    for a in universe.sectors],
        # Each level with the keys of its companion metrics, so pages need no key conventions.
        # Each level with the keys of its companion metrics, so pages need no key conventions, and
        # since when the close has been on its side of it (the first session of the crossing).
        "levels": [{"key": f"levels.{k}", "label": v.label, "distance_key": f"levels.{k}_distance",
                    "above_key": f"levels.{k}_above", "id": k,
                    **_level_fields(marks["levels"].get(k))} for k, v in universe.levels.items()],
        # Each target with the session it was first reached since it was set, and that close.
        "targets": [{"key": f"targets.{k}", "label": v.label, "source": v.source, "move_key": f"targets.{k}_move",
                     "date": v.date.isoformat() if v.date else None, "id": k,
                     **_target_fields(marks["targets"].get(k))} for k, v in universe.targets.items()],
        "calendar": list(calendar or []),
        "catalog": catalog.reference_rows(),
        "config_reference": schema.reference_rows(),
        "tally": tally(claims),
        "revisions": list(getattr(gathered, "revisions", [])),
        **{k: v for k, v in (story or {}).items() if k in ("summary", "history_notes", "base_rates")},
    }


def _level_fields(mark: dict | None) -> dict:
    mark = mark or {}
    return {"side": mark.get("side"), "since": mark.get("since"), "since_close": mark.get("close")}


def _target_fields(mark: dict | None) -> dict:
    mark = mark or {}
    return {k: mark.get(k) for k in ("direction", "reached_on", "reached_close", "beyond")}


def tally(claims: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Per claim group (`page:` in config), how many claims hold, no longer hold, and can't be checked."""
    out: dict[str, dict[str, int]] = {}
    for c in claims.values():
        counts = out.setdefault(c["page"], {"holds": 0, "fails": 0, "unknown": 0})
        counts[{True: "holds", False: "fails", None: "unknown"}[c["holds"]]] += 1
    return out


# An absolute file path (POSIX, home-relative or Windows) that is not part of a URL.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])(?:~|[A-Za-z]:)?[/\\](?:[\w.@+^-]+[/\\])+[\w.@+^-]*")


def without_machine_paths(text: str) -> str:
    """A published text with any absolute path cut to its last two parts ("prices/IWM.csv"):
    the site never shows the build machine's folders (a CI runner's home, a temp folder)."""
    return ABSOLUTE_PATH.sub(lambda m: "/".join(re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-2:]), text)


def _round(obj):
    if isinstance(obj, str):
        return without_machine_paths(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("non-finite number in the snapshot")  # compute must have turned it into null
        return float(f"{obj:.10g}")
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    return obj


def to_dict(snapshot: dict) -> dict:
    """metrics.json's content before its check against the contract: rounded, without machine
    paths (`render.publish` takes it and checks it once, with the drawn charts' sizes)."""
    return _round(snapshot)


def to_json(snapshot: dict) -> str:
    """metrics.json text: rounded, without machine paths, checked against the contract."""
    return contract.dumps(to_dict(snapshot))
