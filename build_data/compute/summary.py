"""The home page's story: a short "this week" summary and the history notes the argument needs.

Written from the build's own history: the previous week's state is the same daily series read on
the previous week's last session, so it needs no earlier snapshot and a rebuild `--as-of` any
date tells that week's story. Every sentence comes from one of the templates below (each tested);
the numbers are catalog values (`X.ret_1w`, `X.records_ytd`, `X.drought_rank`, ...), never
computed here.
"""
from __future__ import annotations

import pandas as pd

from build_data import formatting as f
from build_data.compute.history import ranked

# A run this long is news on the home page (shorter ones come and go every week).
STREAK_NEWS = 5
FLAT = 0.0005  # a weekly move under 0.05% reads as "flat"


def previous_week_end(session_dates: pd.DatetimeIndex, as_of: pd.Timestamp) -> pd.Timestamp | None:
    """The last session of the calendar week (Monday to Sunday) before `as_of`'s."""
    monday = as_of.normalize() - pd.Timedelta(days=as_of.weekday())
    earlier = session_dates[session_dates < monday]
    return earlier[-1] if len(earlier) else None


def headline(universe) -> list[str]:
    """The series the story is about, then what it is compared with: the first pair's A and
    every B it is paired with ([rut, spx, ndx] on the default site)."""
    if not universe.pairs:
        return list(universe.symbols)[:1]
    main = next(iter(universe.pairs.values())).a
    return [main, *[p.b for p in universe.pairs.values() if p.a == main]]


# ------------------------------------------------------------------ templates

def _q(title: str) -> str:
    return f"\u201c{title}\u201d"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _move(ret: float) -> str:
    if abs(ret) < FLAT:
        return "was flat"
    return f"{'rose' if ret > 0 else 'fell'} {f.fmt_pct(abs(ret))}"


def moves_sentence(moves: list[tuple[str, float | None]], since: str) -> str | None:
    """ "Since the close of Jan 9, 2026, the Russell 2000 rose 2.0%, against +0.5% for the S&P 500
    and −0.3% for the Nasdaq-100." The first series is the subject; a series without a move is
    left out (None when the subject has none)."""
    (name, ret), others = moves[0], [(n, r) for n, r in moves[1:] if r is not None]
    if ret is None:
        return None
    text = f"Since the close of {f.fmt_date(since)}, the {name} {_move(ret)}"
    if others:
        text += ", against " + _and([f"{f.fmt_signed_pct(r)} for the {n}" for n, r in others])
    return text + "."


def sectors_sentence(leader: str | None, leader_ret: float | None, laggard: str | None,
                     laggard_ret: float | None) -> str | None:
    """ "Among the sector funds, Energy did best this week (+3.1%) and Utilities worst (−2.0%)." """
    if leader is None or laggard is None or leader_ret is None or laggard_ret is None or leader == laggard:
        return None
    return (f"Among the sector funds, {leader} did best this week ({f.fmt_signed_pct(leader_ret)}) and "
            f"{laggard} worst ({f.fmt_signed_pct(laggard_ret)}).")


def flips_sentence(flips: list[dict], last: dict | None = None) -> str:
    """The claims whose verdict changed this week, each with its page and date: "This week
    “Momentum is stretched” (bear case) began to hold on Sep 14, 2026." With none, the last change
    before, if any: "No claim changed its verdict this week; the last change was …"."""
    if not flips:
        if last is None:
            return "No claim changed its verdict this week."
        return (f"No claim changed its verdict this week; the last to change was {_q(last['title'])} "
                f"({last['page']} case), which {'began to hold' if last['to'] else 'stopped holding'} "
                f"on {f.fmt_date(last['date'])}.")
    parts = [f"{_q(c['title'])} ({c['page']} case) {'began to hold' if c['to'] else 'stopped holding'} "
             f"on {f.fmt_date(c['date'])}" for c in flips]
    return f"This week {_and(parts)}."


def watch_sentence(changes: list[dict]) -> str | None:
    """ "On the watchlist, “RSI-14 above 70” went from near to triggered on Sep 14, 2026." """
    if not changes:
        return None
    parts = [f"{_q(c['title'])} went from {c['from']} to {c['to']} on {f.fmt_date(c['date'])}" for c in changes]
    return f"On the watchlist, {_and(parts)}."


def records_sentence(name: str, week: int, year: int) -> str | None:
    """ "The Russell 2000 closed at a record twice this week (7 record closes this year)." """
    if week <= 0:
        return None
    times = "once" if week == 1 else "twice" if week == 2 else f"{week} times"
    return (f"The {name} closed at a record {times} this week ({year} record "
            f"close{'s' if year != 1 else ''} this year).")


def drought_sentence(name: str, sessions: int, rank: int | None, start: str, record_date: str) -> str | None:
    """ "The Russell 2000 has gone 45 sessions without a record close since Nov 3, 2026, the
    12th-longest drought since Jan 1987." None on a record day."""
    if sessions <= 0 or rank is None:
        return None
    return (f"The {name} has gone {f.fmt_int(sessions)} session{'s' if sessions != 1 else ''} without a "
            f"record close since {f.fmt_date(record_date)}, {ranked(rank, 'drought', start)}.")


def _count(k: int) -> str:
    return "once" if k == 1 else "twice" if k == 2 else f"{k} times"


def others_records_sentence(counts: list[tuple[str, int]]) -> str | None:
    """ "This year the S&P 500 has closed at a record 12 times, and the Nasdaq-100 8 times." """
    if not counts:
        return None
    (n0, k0), rest = counts[0], counts[1:]
    parts = [f"the {n0} has closed at a record {_count(k0)}" if k0 else f"the {n0} has not closed at a record"]
    parts += [f"the {n} {_count(k)}" if k else f"the {n} not once" for n, k in rest]
    return "This year " + _and(parts) + "."


def streak_sentence(a: str, b: str, sessions: int, rank: int | None, start: str) -> str | None:
    """ "The Russell 2000 has beaten the S&P 500 for 14 sessions in a row, the longest run since
    Sep 1987." None for a run shorter than STREAK_NEWS."""
    if sessions < STREAK_NEWS or rank is None:
        return None
    return f"The {a} has beaten the {b} for {sessions} sessions in a row, {ranked(rank, 'run', start)}."


def longest_sentence(a: str, b: str, sessions: int, ended: str, start: str) -> str:
    """ "The longest run of the Russell 2000 ahead of the S&P 500 since Sep 1987 lasted 14 sessions,
    ending Jan 14, 2026." """
    return (f"The longest run of the {a} ahead of the {b} since {f.fmt_month(start)} lasted "
            f"{f.fmt_int(sessions)} session{'s' if sessions != 1 else ''}, ending {f.fmt_date(ended)}.")


def streak_ended_sentence(a: str, b: str, sessions: int, last_day: str) -> str:
    """ "The Russell 2000's 14-session run ahead of the S&P 500 ended after Sep 12, 2026." """
    return f"The {a}\u2019s {sessions}-session run ahead of the {b} ended after {f.fmt_date(last_day)}."


def level_sentence(name: str, label: str | list[str], above: bool, day: str) -> str:
    """ "The Russell 2000 closed above the 2,500 breakout on Sep 14, 2026." Levels crossed the same
    way on the same day share one sentence: "... below the 2,450 support and the 2,400 support ..." """
    labels = [label] if isinstance(label, str) else label
    return (f"The {name} closed {'above' if above else 'below'} "
            f"{_and([f'the {x}' for x in labels])} on {f.fmt_date(day)}.")


def target_sentence(name: str, label: str, day: str) -> str:
    """ "The Russell 2000 reached the 2,861 year-end target on Sep 14, 2026." """
    return f"The {name} reached the {label} on {f.fmt_date(day)}."


# ------------------------------------------------------------------ from the build's data

def _value(metrics: dict, key: str):
    m = metrics.get(key)
    return None if m is None else m.value


def _iso(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


def _start(series: pd.Series) -> str | None:
    known = series.dropna()
    return _iso(known.index[0]) if len(known) else None


def history_notes(data, metrics: dict) -> dict[str, dict]:
    """The history figures the argument needs, each with its sentence: the subject's record
    drought and its rank ("<alias>.drought"), each headline series' records this year
    ("records_ytd"), and every pair's current run with its rank ("<pair>.streak"). A note whose
    figure is missing (a record day, no current run) says so instead."""
    names, out = data.names, {}
    main, *others = [a for a in headline(data.universe) if a in data.closes.columns] or [None]
    if main is not None:
        sessions, rank = _value(metrics, f"{main}.sessions_since_record"), _value(metrics, f"{main}.drought_rank")
        start = _start(data.closes[main])
        text = None
        if sessions is not None and start is not None:
            text = drought_sentence(names[main], sessions, rank, start, _value(metrics, f"{main}.record_date"))
            if text is None and sessions == 0:
                text = f"The {names[main]} closed at a record on {f.fmt_date(metrics[f'{main}.close'].as_of)}."
        out[f"{main}.drought"] = {"sessions": sessions, "rank": rank, "start": start,
                                  "text": text or f"The {names[main]}\u2019s record drought is not known in this build."}
        counts = [(names[a], _value(metrics, f"{a}.records_ytd")) for a in others]
        counts = [(n, int(k)) for n, k in counts if k is not None]
        out["records_ytd"] = {"counts": dict(counts), "text": others_records_sentence(counts)}
    for pair, p in data.universe.pairs.items():
        streak, rank = _value(metrics, f"{pair}.outperf_streak"), _value(metrics, f"{pair}.outperf_streak_rank")
        start = _start(data.history(f"{pair}.outperf_streak"))
        a, b = names[p.a], names[p.b]
        if streak is None or start is None:
            text = None
        elif streak == 0 or rank is None:
            text = f"The {a} did not beat the {b} in the last session: there is no current run."
        elif streak < STREAK_NEWS:
            text = f"The {a} has beaten the {b} for {streak} session{'s' if streak != 1 else ''} in a row."
        else:
            which = ranked(rank, "run", start)
            text = f"The {a} has beaten the {b} for {streak} session{'s' if streak != 1 else ''} in a row, {which}."
        out[f"{pair}.streak"] = {"sessions": streak, "rank": rank, "start": start, "text": text}
        longest, ended = _value(metrics, f"{pair}.longest_outperf_streak"), _value(metrics, f"{pair}.longest_outperf_streak_date")
        out[f"{pair}.longest"] = {"sessions": longest, "date": ended, "start": start,
                                  "text": longest_sentence(a, b, longest, ended, start)
                                  if longest and ended and start else None}
    return out


def _at(series: pd.Series, day: pd.Timestamp):
    if day not in series.index:
        return None
    v = series.loc[day]
    return None if pd.isna(v) else v


def week_summary(data, metrics: dict, claims: dict, watchlist: dict) -> dict:
    """The "this week" summary: {as_of, since (the previous week's last session), sentences}.
    The flips, the week's moves, then the events the numbers made (records, levels and targets
    crossed, runs that ended), then the record drought."""
    as_of, sessions = data.as_of, data.closes.index
    prev = previous_week_end(sessions, as_of)
    out = {"as_of": _iso(as_of), "since": None if prev is None else _iso(prev), "sentences": []}
    if prev is None:
        return out
    say = out["sentences"]
    names = data.names
    heads = [a for a in headline(data.universe) if a in data.closes.columns]

    def add(kind, text):
        if text:
            say.append({"kind": kind, "text": text})

    # The week's moves.
    if heads:
        add("moves", moves_sentence([(names[a], _value(metrics, f"{a}.ret_1w")) for a in heads], out["since"]))
    rets = [(names[a], _value(metrics, f"{a}.ret_1w")) for a in data.universe.sectors]
    rets = [(n, r) for n, r in rets if r is not None]
    if len(rets) >= 2:
        lead, lag = max(rets, key=lambda x: x[1]), min(rets, key=lambda x: x[1])
        add("sectors", sectors_sentence(lead[0], lead[1], lag[0], lag[1]))
    # What changed in the argument.
    week = [{"title": c["title"], "page": c["page"], "to": fl["to"], "date": fl["date"]}
            for c in claims.values() for fl in c.get("flips", []) if fl["date"] > out["since"]]
    earlier = [{"title": c["title"], "page": c["page"], "to": fl["to"], "date": fl["date"]}
               for c in claims.values() for fl in c.get("flips", []) if fl["date"] <= out["since"]]
    add("flips", flips_sentence(sorted(week, key=lambda c: c["date"]),
                                max(earlier, key=lambda c: c["date"]) if earlier else None))
    add("watch", watch_sentence(sorted(
        [{"title": w["title"], "from": fl["from"], "to": fl["to"], "date": fl["date"]}
         for w in watchlist.values() for fl in w.get("flips", []) if fl["date"] > out["since"]],
        key=lambda c: c["date"])))
    # Events the numbers made this week.
    in_week = sessions[(sessions > prev) & (sessions <= as_of)]
    for a in heads[:1]:
        records = data.history(f"{a}.records_ytd")
        now, before = _at(records, as_of), _at(records, prev)
        if now is not None:
            add("records", records_sentence(names[a], int(now - (before if prev.year == as_of.year and before
                                                                 is not None else 0)), int(now)))
    crossed: dict[tuple, list[str]] = {}  # (symbol, side, day) -> the levels crossed together
    for kind in ("levels", "targets"):
        for name, level in getattr(data.universe, kind).items():
            if level.symbol not in data.closes.columns:
                continue
            if level.effective_from is not None and pd.Timestamp(level.effective_from) > as_of:
                continue  # not set yet at this date
            close = data.closes[level.symbol]
            above = (close > level.value).where(close.notna()).reindex([prev, *in_week]).dropna()
            if len(above) < 2 or bool(above.iloc[0]) == bool(above.iloc[-1]):
                continue  # the same side as a week ago (back and forth in between is no news)
            now = bool(above.iloc[-1])
            switched = above.ne(above.shift()).iloc[1:]
            day = _iso(switched[switched].index[-1])  # the last crossing to the side it ends on
            if kind == "levels":
                crossed.setdefault((level.symbol, now, day), []).append(level.label)
            elif now:
                add("targets", target_sentence(names[level.symbol], level.label, day))
    for (symbol, now, day), labels in crossed.items():
        add("levels", level_sentence(names[symbol], labels, now, day))
    for pair, p in data.universe.pairs.items():
        if p.a not in heads[:1]:
            continue
        streak = data.history(f"{pair}.outperf_streak")
        days = [prev, *in_week]
        for before, day in zip(days, days[1:]):
            run = _at(streak, before)
            if run is not None and run >= STREAK_NEWS and _at(streak, day) == 0:
                add("streak", streak_ended_sentence(names[p.a], names[p.b], int(run), _iso(before)))
    # The history the argument needs.
    notes = history_notes(data, metrics)
    if heads:
        d = notes.get(f"{heads[0]}.drought", {})
        if d.get("sessions"):
            add("drought", d["text"])
        for pair, p in data.universe.pairs.items():
            s = notes.get(f"{pair}.streak", {})
            if p.a == heads[0] and s.get("sessions") and s.get("rank") is not None:
                add("streak", streak_sentence(names[p.a], names[p.b], s["sessions"], s["rank"], s["start"]))
    return out
