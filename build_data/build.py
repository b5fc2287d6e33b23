"""The whole pipeline, in order: fetch -> validate -> compute -> assemble. Writes nothing;
`publish.render` writes what this returns."""
from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import time

import pandas as pd

from build_data import config, sessions
from build_data.compute import charts as charts_mod
from build_data.compute import history as history_mod
from build_data.compute import events, keys, signals, summary, values
from build_data.fetch.gather import Gathered, Options, gather, stderr_log
from build_data import policy
from build_data.publish import render, snapshot


def build(opts: Options, universe: config.Universe, facts: config.Facts, log=stderr_log):
    """Gather, compute and assemble; returns (snapshot dict, charts). Writes nothing."""
    keys.check_signals(universe)  # however the universe was made: its claims name real keys
    t0 = time.perf_counter()
    got = gather(opts, universe, log)
    log(f"data: {got.data_mode}, as of {got.as_of} ({time.perf_counter() - t0:.1f}s)")
    data = frame(got, universe)
    # The per-series frames are on the session calendar now: nothing after this reads them, and a
    # large universe's copies would otherwise stay in memory through compute and publishing.
    got = dataclasses.replace(got, prices={})
    release_memory()
    t1 = time.perf_counter()
    metrics, claims, watch, changes = compute(data)
    chart_list = charts_mod.build_charts(data, metrics)
    story = {"summary": summary.week_summary(data, metrics, claims, watch),
             "history_notes": summary.history_notes(data, metrics),
             "base_rates": history_mod.base_rates(data, claims, watch)}
    log(f"compute: {len(metrics)} metrics, {len(chart_list)} charts ({time.perf_counter() - t1:.1f}s)")
    snap = snapshot.assemble(universe=universe, facts=facts, gathered=got, metrics=metrics, claims=claims,
                             watchlist=watch, changes=changes, charts=render.chart_entries(chart_list, universe=universe),
                             built_at=opts.now, story=story,
                             marks=marks(data), calendar=calendar(data))
    snap |= policy.verdict(universe=universe, data_mode=got.data_mode, as_of=got.as_of, status=got.status,
                           latest_session=policy.expected_session(universe, opts.now, opts.as_of, got.as_of))
    log(f"publishable: {'yes' if snap['publishable'] else 'no'}: {snap['publishable_reason']}")
    return snap, chart_list


def release_memory() -> None:
    """Hand memory freed by the data stage back to the system. A large universe's thousands of
    small frames are freed into the C heap, which glibc keeps (the process's footprint stays at
    its high-water mark) unless asked to trim it; elsewhere this only collects garbage."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return
    trim(0)


def compute(data: values.Data):
    """Every metric as of the last session, then the claims and watch items from their metrics'
    daily histories: (metrics, claims, watchlist, recent changes)."""
    universe = data.universe
    metrics = values.compute_metrics(data)
    keys = signals.signal_keys(universe)
    histories = {k: values.signal_history(k, data) for k in keys}  # macro figures by release date
    histories |= {k: values.history(k, data) for k in events.streak_keys(universe)}
    start = signals.window_start(data.as_of, data.closes.index)
    claims = signals.evaluate_claims(universe, metrics, histories, start)
    watch = signals.evaluate_watchlist(universe, metrics, histories, start)
    for wid, w in watch.items():
        w["next"] = events.next_event(universe, universe.watchlist[wid].next, data.as_of.date())
    m = marks(data)
    # A level a claim or watch item reads already has its entries, with the close, from their flips.
    watched = {c.metric for item in [*universe.claims.values(), *universe.watchlist.values()] for c in item.conditions}
    crossings = {name: mark for name, mark in m["levels"].items()
                 if not any(k.startswith(f"levels.{name}_") for k in watched)}
    happened = (events.level_events(universe, crossings, start) + events.target_events(universe, m["targets"], start)
                + events.record_events(universe, data.closes, start) + events.streak_events(universe, histories, start))
    labels = {k: v.label for k, v in metrics.items()}
    units = {k: v.unit for k, v in metrics.items()}
    return metrics, claims, watch, signals.recent_changes(claims, watch, labels, units, happened,
                                                          events.subjects(universe))


def marks(data: values.Data) -> dict:
    """Each level's side of the close and since when, each target's first reach: computed once."""
    u = data.universe
    return data.memo(("marks",), lambda: {
        "levels": {name: events.level_mark(u, data.closes, name) for name in u.levels},
        "targets": {name: events.target_mark(u, data.closes, name, data.as_of) for name in u.targets}})


def calendar(data: values.Data) -> list[dict]:
    """The scheduled events from the change log's window on, past ones marked."""
    start = signals.window_start(data.as_of, data.closes.index)
    return events.calendar(data.universe, data.as_of.date(), start.date())


def frame(got: Gathered, universe: config.Universe) -> values.Data:
    """Every series on one calendar: a row per exchange session up to the as-of, whatever dates
    the data holds, so no series can add, remove or move another series' rows."""
    first = min((f.index[0].date() for f in got.prices.values()), default=got.as_of)
    session_dates = sessions.sessions(min(first, got.as_of), got.as_of, universe.calendar)
    # A column for every configured symbol: one with no data is all NaN, never a missing column.
    empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date"))
    closes = values.on_sessions({a: got.prices[a]["close"] if a in got.prices else empty for a in universe.symbols},
                                session_dates)
    volumes = values.on_sessions({a: got.prices[a]["volume"] if a in got.prices else empty
                                  for a in universe.volume_symbols}, session_dates)
    # Adjusted closes, for the symbols whose returns count total return (a fund, by default).
    adjusted = values.on_sessions({a: got.prices[a]["adj_close"] for a, s in universe.symbols.items()
                                   if s.return_basis == "total" and a in got.prices}, session_dates)
    return values.Data(closes, volumes, got.macro, universe, got.sources, got.missing, adj_closes=adjusted,
                       released=got.macro_released, vintage=got.macro_vintage)
