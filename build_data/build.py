"""The whole pipeline, in order: fetch -> validate -> compute -> assemble. Writes nothing;
`publish.render` writes what this returns."""
from __future__ import annotations

import time

import pandas as pd

from build_data import config, sessions
from build_data.compute import charts as charts_mod
from build_data.compute import signals
from build_data.compute.values import Inputs, compute_metrics
from build_data.fetch.gather import Options, gather, stderr_log
from build_data.publish import policy, render, snapshot


def build(opts: Options, universe: config.Universe, facts: config.Facts, log=stderr_log):
    """Gather, compute and assemble; returns (snapshot dict, charts). Writes nothing."""
    t0 = time.perf_counter()
    got = gather(opts, universe, log)
    log(f"data: {got.data_mode}, as of {got.as_of} ({time.perf_counter() - t0:.1f}s)")
    as_of = pd.Timestamp(got.as_of)
    closes = pd.DataFrame({a: f["close"] for a, f in got.prices.items()})
    volumes = pd.DataFrame({a: f["volume"] for a, f in got.prices.items() if a in universe.volume_symbols})
    inputs = Inputs(closes, volumes, got.macro, got.sources, got.missing)
    first = min((f.index[0].date() for f in got.prices.values()), default=got.as_of)
    session_dates = sessions.sessions(min(first, got.as_of), got.as_of, universe.calendar)
    t1 = time.perf_counter()
    metrics = compute_metrics(inputs, universe, as_of, session_dates)
    keys = {c.metric for c in universe.claims.values()} | {w.metric for w in universe.watchlist.values()}
    histories = {k: signals.metric_history(k, closes, volumes, got.macro, universe) for k in keys}
    start = signals.window_start(as_of, session_dates)
    claims = signals.evaluate_claims(universe, metrics, histories, start)
    watch = signals.evaluate_watchlist(universe, metrics, histories, start)
    changes = signals.recent_changes(claims, watch)
    chart_list = charts_mod.build_charts(closes=closes, volumes=volumes, macro=got.macro, metrics=metrics,
                                         universe=universe, as_of=as_of)
    log(f"compute: {len(metrics)} metrics, {len(chart_list)} charts ({time.perf_counter() - t1:.1f}s)")
    snap = snapshot.assemble(universe=universe, facts=facts, gathered=got, metrics=metrics, claims=claims,
                             watchlist=watch, changes=changes, charts=render.chart_entries(chart_list),
                             built_at=opts.now)
    latest = sessions.last_completed_session(opts.now, universe.calendar)
    snap |= policy.verdict(universe=universe, data_mode=got.data_mode, as_of=got.as_of, status=got.status,
                           latest_session=min(opts.as_of, latest) if opts.as_of else latest)
    log(f"publishable: {'yes' if snap['publishable'] else 'no'}: {snap['publishable_reason']}")
    for key, fact in snap["facts"].items():
        if fact["expired"]:
            log(f"  warning: fact {key!r} is {fact['age_days']} days old, past its {fact['max_age_days']}-day limit")
    return snap, chart_list
