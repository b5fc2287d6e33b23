"""The fail-closed verdict: may this snapshot be deployed? One place, driven by `publish:` in
universe.yml; the snapshot carries the answer and the scheduled workflow only reads it."""
from __future__ import annotations

import datetime as dt

from build_data import sessions
from build_data.config import Universe


def verdict(*, universe: Universe, data_mode: str, as_of: dt.date, status: dict[str, dict],
            latest_session: dt.date) -> dict:
    """{"publishable": bool, "publishable_reason": one line} for a snapshot.

    `latest_session` is the session the data should reach: the last completed one, or the
    requested date of an --as-of rebuild.
    """
    policy = universe.publish

    def no(reason: str) -> dict:
        return {"publishable": False, "publishable_reason": reason}

    if data_mode == "sample" and not policy.allow_sample:
        return no("the data is the built-in sample, not market data")
    for alias in policy.core:
        entry = status.get(alias, {})
        if entry.get("status") != "ok":
            return no(f"core series {alias} has no usable data ({entry.get('reason') or 'missing'})")
    behind = sessions.sessions_between(as_of, latest_session, universe.calendar)
    if behind > policy.max_stale_sessions:
        return no(f"the data ends {as_of}, {behind} sessions before {latest_session} "
                  f"(the limit is {policy.max_stale_sessions})")
    if policy.on_validation_failure == "block":
        failed = [a for a, s in status.items()
                  if s.get("status") == "rejected" or str(s.get("reason") or "").startswith("live data refused")]
        if failed:
            return no(f"data failed validation for {', '.join(failed)} (publish.on_validation_failure: block)")
    if data_mode == "cache":
        return {"publishable": True,
                "publishable_reason": f"cached data through {as_of}, labelled as such on the pages"}
    return {"publishable": True, "publishable_reason": f"{data_mode} data through {as_of}"}
