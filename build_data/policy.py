"""The fail-closed verdict: may this snapshot be deployed? One place, driven by `publish:` in
universe.yml; the snapshot carries the answer and the scheduled workflow only reads it."""
from __future__ import annotations

import datetime as dt

from build_data import sessions
from build_data.config import Universe


def expected_session(universe: Universe, now, requested: dt.date | None, as_of: dt.date) -> dt.date:
    """The session a snapshot's data should reach: for a scheduled build, the last session
    completed by the wall clock `now` (settle period included); for an --as-of rebuild
    (`requested`), its own as-of session. A clock outside the calendar is a one-line BuildError."""
    if requested is not None:
        return as_of
    return sessions.last_completed_session(now, universe.calendar, universe.validation.settle_minutes)


def data_through(status: dict[str, dict], core: list[str], as_of: dt.date) -> dt.date:
    """The last session the data really reaches: the earliest end among the core series (any
    usable price series when there is no core), never after the as-of date."""
    ends = [status[a]["last"] for a in core if status.get(a, {}).get("last")]
    if not ends:
        ends = [s["last"] for s in status.values() if s.get("status") == "ok" and s.get("last")]
    if not ends:
        return as_of
    return min(min(dt.date.fromisoformat(e) for e in ends), as_of)


def verdict(*, universe: Universe, data_mode: str, as_of: dt.date, status: dict[str, dict],
            latest_session: dt.date) -> dict:
    """{"publishable": bool, "publishable_reason": one line} for a snapshot.

    `latest_session` is the session the data should reach (see `expected_session`): the last
    completed one by the wall clock, or the as-of session of an --as-of rebuild. The data's own
    end (the core series' last session) is measured against it, so `publish.max_stale_sessions`
    holds whatever the as-of date says.
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
    if as_of > latest_session:
        return no(f"the snapshot is as of {as_of}, after the last completed session {latest_session}: "
                  "the machine's clock is wrong")
    through = data_through(status, policy.core, as_of)
    behind = sessions.sessions_between(through, latest_session, universe.calendar)
    if behind > policy.max_stale_sessions:
        return no(f"the data ends {through}, {behind} sessions before {latest_session} "
                  f"(the limit is {policy.max_stale_sessions})")
    if policy.on_validation_failure == "block":
        failed = [a for a, s in status.items()
                  if s.get("status") == "rejected" or str(s.get("reason") or "").startswith("live data refused")]
        if failed:
            return no(f"data failed validation for {', '.join(failed)} (publish.on_validation_failure: block)")
    if data_mode == "cache":
        return {"publishable": True,
                "publishable_reason": f"cached data through {through}, labelled as such on the pages"}
    return {"publishable": True, "publishable_reason": f"{data_mode} data through {through}"}
