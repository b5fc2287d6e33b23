"""Gather validated series for a build: live -> cache -> sample, and say which was used.

This module decides the data mode and each series' status; it does not compute metrics.
"""
from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from build_data import sessions
from build_data import release
from build_data.fetch import cache, validate
from build_data.config import Universe
from build_data.errors import BuildError, CacheError, Offline, SourceError, ValidationError
from build_data.fetch.sources import csv as csv_source
from build_data.fetch.sources import sample as sample_source

Log = Callable[[str], None]
# FRED revises recent observations: each incremental fetch re-reads this much of the cached tail.
FRED_OVERLAP_DAYS = 400
# Each incremental price fetch re-reads two weeks (about ten sessions) of the cached tail, so a
# correction is seen, and seen again by the next run before it leaves the window.
PRICE_OVERLAP_DAYS = 14


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Options:
    source: str = "auto"                 # auto | yahoo | csv | sample
    data_dir: Path | None = None         # csv folder
    cache_dir: Path = Path(".cache/market-data")
    as_of: dt.date | None = None
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    fred_url: str | None = None
    # With a FRED API key (the FRED_API_KEY environment variable), macro series come from the
    # API's real-time periods: each figure on its real release date, as first published.
    fred_api_key: str | None = None
    fred_api_url: str | None = None
    fetch_timeout: float = 90.0
    require_all: bool = False
    yahoo_session: object = None         # a requests.Session; tests pass one with a fake transport
    fred_session: object = None


@dataclass
class Gathered:
    prices: dict[str, pd.DataFrame]      # alias -> price frame (validated, <= as_of)
    macro: dict[str, pd.Series]          # alias -> observations published by as_of
    status: dict[str, dict]              # alias -> series_status entry
    sources: dict[str, str]              # alias -> "yahoo:^RUT"
    as_of: dt.date
    data_mode: str                       # live | cache | csv | sample
    mode_note: str
    # Accepted corrections beyond the revision tolerance, oldest first: {"series", "ticker",
    # "session", "old", "new", "when", "how"} (only sessions up to the as-of date).
    revisions: list[dict] = field(default_factory=list)
    # Per macro alias: the release date of each observation kept (indexed like `macro`), and
    # whether the values are as published then (FRED's real-time periods) or the latest revision.
    macro_released: dict[str, pd.Series] = field(default_factory=dict)
    macro_vintage: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> dict[str, str]:
        return {a: s["reason"] for a, s in self.status.items() if s["status"] != "ok"}


def _status(ticker: str, source: str, data, status: str = "ok", reason: str | None = None) -> dict:
    have = data is not None and len(data) > 0
    return {"ticker": ticker, "source": source, "status": status, "reason": reason,
            "rows": int(len(data)) if have else 0,
            "first": data.index[0].date().isoformat() if have else None,
            "last": data.index[-1].date().isoformat() if have else None}


def _published(series: pd.Series, cfg, as_of: dt.date, vintages: pd.DataFrame | None,
               cut: bool) -> tuple[pd.Series, pd.Series, str]:
    """(the observations public by the close of `as_of`, their release dates, which vintage).
    With FRED's real-time periods, each value as it stood that day; older observations than the
    real-time data covers, and every one without it, by the series' release rule (`cut` False
    for a build of today: all that was fetched is public)."""
    if vintages is not None and len(vintages):
        first = vintages["date"].min()
        older, older_released = release.by_rule(series.loc[: first - pd.Timedelta(days=1)], cfg, as_of, cut=cut)
        known, released = release.by_vintage(vintages, as_of, cfg.series)
        return (pd.concat([older, known]).rename(cfg.series), pd.concat([older_released, released]),
                release.AS_PUBLISHED)
    kept, released = release.by_rule(series, cfg, as_of, cut=cut)
    return kept, released, release.LATEST_REVISION


def gather(opts: Options, universe: Universe, log: Log = stderr_log) -> Gathered:
    """Collect every series for the build, validated, in the requested or best available mode."""
    if opts.as_of is not None:
        sessions.check_in_calendar(opts.as_of, universe.calendar)
    if opts.source == "sample":
        return _from_sample(opts, universe, log, note="Built from the deterministic sample generator (--source sample).")
    if opts.source == "csv":
        if opts.data_dir is None:
            raise BuildError("--source csv needs --data-dir DIR (a folder of SYMBOL.csv and SERIES.csv files)")
        return _from_csv(opts, universe, log)
    if opts.source in ("auto", "yahoo", "cache"):
        return _from_live(opts, universe, log)
    raise BuildError(f"unknown source {opts.source!r}: choose auto, yahoo, cache, csv or sample")


def _end_date(opts: Options, universe: Universe) -> dt.date:
    """The build's as-of session, from the exchange calendar (never from the data)."""
    return sessions.as_of_session(opts.as_of, opts.now, universe.calendar, universe.validation.settle_minutes)


def _drop_non_sessions(alias: str, frame: pd.DataFrame, universe: Universe, notes: dict[str, list[str]],
                       as_of: dt.date | None = None) -> pd.DataFrame:
    """The frame without rows dated on non-sessions; what was dropped goes into the series' notes
    (only rows up to `as_of`: an as-of build speaks of nothing after its date)."""
    kept, dropped = validate.drop_non_sessions(frame, universe.calendar)
    if as_of is not None:
        dropped = [d for d in dropped if d <= as_of.isoformat()]
    if dropped:
        shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        note = f"dropped {len(dropped)} row{'s' if len(dropped) > 1 else ''} dated on non-sessions: {shown}"
        if note not in notes.setdefault(alias, []):
            notes[alias].append(note)
    return kept


def _gaps(frame: pd.DataFrame, calendar: str) -> list[str]:
    """Exchange sessions inside the series' span that it has no row for."""
    if len(frame) < 2:
        return []
    days = validate.session_days(calendar)
    at = frame.index.as_unit("ns").asi8 if frame.index.tz is None else None
    if at is None or not len(days) or at[0] < days[0] or at[-1] > days[-1]:
        expected = sessions.sessions(frame.index[0].date(), frame.index[-1].date(), calendar)
        return [d.date().isoformat() for d in expected.difference(frame.index)]
    span = days[np.searchsorted(days, at[0]): np.searchsorted(days, at[-1], side="right")]
    if frame.index.is_monotonic_increasing:
        found = at[np.minimum(np.searchsorted(at, span), len(at) - 1)] == span
    else:
        found = np.isin(span, at)
    if found.all():
        return []
    return [d.date().isoformat() for d in pd.DatetimeIndex(span[~found])]


def _finish(prices, macro, status, sources, universe, opts, data_mode, note, as_of, log,
            notes: dict[str, list[str]] | None = None, vintages: dict[str, pd.DataFrame] | None = None,
            clean: set[str] = frozenset(), checked: dict[str, pd.DataFrame] | None = None) -> Gathered:
    """Cut everything at the as-of session, apply the validation rules per series, and mark stale
    series. Each rule judges one series alone: a defect in one never changes another.

    Work done on a series earlier in the run is not done again: `clean` are the series whose
    rows on non-sessions were dropped already (with their notes, up to `as_of`); `checked` holds
    the frames that passed `validate.check_prices` already (with the same bound), by alias."""
    notes = notes if notes is not None else {}
    checked = checked or {}
    cut_prices, cut_macro = {}, {}
    for alias, frame in prices.items():
        ticker = universe.symbols[alias].ticker
        name = f"{alias} ({ticker})"
        whole = frame if alias in clean else _drop_non_sessions(alias, frame, universe, notes, as_of)
        frame = whole.loc[: pd.Timestamp(as_of)]
        try:
            if not (checked.get(alias) is whole and len(frame) == len(whole)):
                validate.check_prices(name, frame, max_move=universe.validation.max_daily_move)
            validate.check_history(name, frame, 2, "a one-day return")
            if not status[alias].get("delisted"):  # a delisted series is its last good data, labelled
                validate.check_fresh(name, frame, as_of, universe.validation.max_stale_sessions, universe.calendar)
        except ValidationError as exc:
            kind = "stale" if exc.rule == "stale" else "rejected"
            status[alias] = _status(ticker, status[alias]["source"], frame, kind, str(exc))
            log(f"  {kind} {exc}")
            continue
        gaps = _gaps(frame, universe.calendar)
        if gaps:
            shown = ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
            notes.setdefault(alias, []).append(f"{len(gaps)} session{'s' if len(gaps) > 1 else ''} missing: {shown}")
        cut_prices[alias] = frame
        kept = {k: v for k, v in status[alias].items() if k in ("reason", "splits", "delisted")}  # a usable series' notes
        status[alias] = _status(ticker, status[alias]["source"], frame) | kept
    released, vintage = {}, {}
    for alias, series in macro.items():
        cfg = universe.macro[alias]
        # A build of today from data fetched today shows all of it (it is public); an as-of build,
        # and the sample (synthetic through today), only what the release rule allows.
        series, when, vintage[alias] = _published(series, cfg, as_of, (vintages or {}).get(alias),
                                                  cut=opts.as_of is not None or data_mode == "sample")
        try:
            validate.check_macro(f"{alias} ({cfg.series})", series)
        except ValidationError as exc:
            status[alias] = _status(cfg.series, status[alias]["source"], series, "rejected", str(exc))
            continue
        cut_macro[alias], released[alias] = series, when
        last = series.index[-1]
        stale = release.staleness(last, cfg, as_of)
        status[alias] = _status(cfg.series, status[alias]["source"], series, *(("stale", stale) if stale else ())) | {
            "cadence": cfg.cadence, "period": release.period_text(last, cfg.cadence),
            "released": when.iloc[-1].date().isoformat(), "vintage": vintage[alias]}
    _tracking_notes(cut_prices, universe, notes)
    for alias, lines in notes.items():
        if alias in status and lines:
            status[alias]["quality"] = lines
            log(f"  data quality, {alias}: " + "; ".join(lines))
    stale = [s["last"] for a, s in status.items() if a in prices and s["status"] == "stale"]
    if stale and not cut_prices:
        log(f"  every price series ends before the as-of session {as_of} (the latest on {max(stale)}); "
            f"to build as of the data's end, pass --as-of {max(stale)}")
    missing = {a: s["reason"] for a, s in status.items() if s["status"] != "ok"}
    if missing:
        log(f"  {len(missing)} series without usable data: " + "; ".join(f"{a}: {r}" for a, r in missing.items()))
        if opts.require_all:
            first = next(iter(missing.items()))
            raise BuildError(f"--require-all: {len(missing)} series have no usable data (first: {first[0]}: {first[1]})")
    return Gathered(cut_prices, cut_macro, status, sources, as_of, data_mode, note,
                    macro_released=released, macro_vintage={a: vintage[a] for a in released})


def _from_sample(opts, universe, log, note) -> Gathered:
    end = _end_date(opts, universe)
    log(f"sample: generating {len(universe.symbols)} symbols and {len(universe.macro)} macro series through {end}")
    by_ticker = sample_source.sample_prices([s.ticker for s in universe.symbols.values()], end)
    by_series = sample_source.sample_macro([m.series for m in universe.macro.values()], end)
    prices = {a: by_ticker[s.ticker] for a, s in universe.symbols.items()}
    macro = {a: by_series[m.series] for a, m in universe.macro.items() if m.series in by_series}
    status = {a: _status(s.ticker, "sample", prices[a]) for a, s in universe.symbols.items()}
    status |= {a: _status(m.series, "sample", macro.get(a), *(("ok", None) if a in macro else ("missing", "no sample generator")))
               for a, m in universe.macro.items()}
    sources = {a: f"sample:{s.ticker}" for a, s in universe.symbols.items()}
    sources |= {a: f"sample:{m.series}" for a, m in universe.macro.items()}
    return _finish(prices, macro, status, sources, universe, opts, "sample", note, end, log)


def _from_csv(opts, universe, log) -> Gathered:
    folder = Path(opts.data_dir)
    if not folder.is_dir():
        raise BuildError(f"--data-dir {folder}: not a folder")
    tickers = {a: s.ticker for a, s in universe.symbols.items()}
    series_ids = {a: m.series for a, m in universe.macro.items()}
    by_ticker, price_errors = csv_source.read_prices(folder, list(tickers.values()))
    by_series, macro_errors = csv_source.read_macro(folder, list(series_ids.values()))
    log(f"csv: {len(by_ticker)}/{len(tickers)} price files and {len(by_series)}/{len(series_ids)} macro files in {folder}")
    prices = {a: by_ticker[t] for a, t in tickers.items() if t in by_ticker}
    macro = {a: by_series[s] for a, s in series_ids.items() if s in by_series}
    status = {a: _status(t, "csv", prices.get(a), *(("ok", None) if a in prices else ("missing", price_errors[t])))
              for a, t in tickers.items()}
    status |= {a: _status(s, "csv", macro.get(a), *(("ok", None) if a in macro else ("missing", macro_errors[s])))
               for a, s in series_ids.items()}
    sources = {a: f"csv:{t}" for a, t in tickers.items()} | {a: f"csv:{s}" for a, s in series_ids.items()}
    if not prices:
        rejected = [why for why in price_errors.values() if why.startswith("rejected: ")]
        raise BuildError(f"--data-dir {folder}: no usable price file; " + (
            rejected[0].removeprefix("rejected: ") if rejected
            else f"none of the {len(tickers)} was found (expected e.g. {next(iter(tickers.values()))}.csv)"))
    end = _end_date(opts, universe)
    return _finish(prices, macro, status, sources, universe, opts, "csv",
                   "Built from local CSV files (--source csv).", end, log)


# Up to this many series, each one's merge is logged; beyond, one summary line (failures and
# refusals are always logged).
PER_SERIES_LINES = 25


def _load_cached(opts, universe, log) -> tuple[dict, dict, dict]:
    """Everything usable in the cache. A corrupt file is moved aside (kept) and reported; its
    series stays unavailable until a fetch covers what the file covered."""
    problems: dict[str, str] = {}

    def load_all(kind: str, names: dict[str, str], load) -> dict:
        found = {}
        for alias, name in names.items():
            try:
                hit = load(opts.cache_dir, name)
            except CacheError as exc:
                aside = cache.quarantine(exc.path, opts.now.to_pydatetime()) if exc.path else None
                log(f"  {exc}" + (f"; moved aside to {aside.name}" if aside else ""))
                hit = None
            if hit is not None:
                found[alias] = hit
                continue
            pending = cache.quarantined(opts.cache_dir, kind, name)
            if pending is not None:
                problems[alias] = f"unavailable: cache corrupt ({pending.describe()})"
        return found

    prices = load_all("prices", {a: s.ticker for a, s in universe.symbols.items()}, cache.load_prices)
    macro = load_all("macro", {a: m.series for a, m in universe.macro.items()}, cache.load_macro)
    return prices, macro, problems


def _check_heals(opts, kind: str, name: str, fetched) -> None:
    """A series whose cache was corrupt takes a fetch only if it covers what the corrupt file did."""
    pending = cache.quarantined(opts.cache_dir, kind, name)
    if pending is not None and not pending.covered_by(fetched.index):
        got = f"{fetched.index[0]:%Y-%m-%d} .. {fetched.index[-1]:%Y-%m-%d}" if len(fetched) else "nothing"
        raise CacheError(f"unavailable: cache corrupt ({pending.describe()}; the fetch covers {got})")


def _from_live(opts, universe, log) -> Gathered:
    fred = yahoo = None
    if opts.source != "cache":  # network code (and yfinance's import time) only for builds that fetch
        import yfinance

        from build_data.fetch.sources import fred, yahoo

        # Keep yfinance's timezone/cookie cache beside ours; create the folder first, or yfinance's
        # worker threads race to create it and the loser silently disables the cache.
        (Path(opts.cache_dir) / "yfinance").mkdir(parents=True, exist_ok=True)
        yfinance.set_tz_cache_location(str(Path(opts.cache_dir) / "yfinance"))
    end = _end_date(opts, universe)
    cached_prices, cached_macro, problems = _load_cached(opts, universe, log)
    newest = max((c.data.index[-1].date() for c in cached_prices.values()), default=None)
    if opts.as_of is None and newest is not None and newest > end:
        raise BuildError(f"the clock says {opts.now:%Y-%m-%d %H:%M} UTC (last completed session {end}), but the "
                         f"cache already holds sessions through {newest}: the machine's clock is behind; "
                         f"fix it, or pass --as-of to rebuild an earlier date")
    fetched_at = opts.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    tickers = {a: s.ticker for a, s in universe.symbols.items()}
    # Incremental per ticker: each re-reads two weeks of its own cached tail so revisions are seen;
    # only a ticker without a cache (new, renamed, corrupt) goes back to history_start.
    starts = {a: (cached_prices[a].data.index[-1] - pd.Timedelta(days=PRICE_OVERLAP_DAYS)).date()
              if a in cached_prices else universe.history_start for a in tickers}
    books = {a: cache.load_revisions(opts.cache_dir, tickers[a]) for a in cached_prices}  # read once per run
    for a in cached_prices:  # a disputed close is re-read until a later fetch settles it
        disputed = [dt.date.fromisoformat(d) for d in books[a]["pending"]]
        disputed = [d for d in disputed if d >= end - dt.timedelta(days=DISPUTE_DAYS)]
        if disputed:
            starts[a] = min(starts[a], min(disputed) - dt.timedelta(days=1))
    groups = fetch_groups(starts, end)
    series_ids = {a: m.series for a, m in universe.macro.items()}
    live_prices: dict[str, pd.DataFrame] = {}
    live_splits: dict[str, dict] = {}
    live_macro: dict[str, pd.Series] = {}
    vintages: dict[str, pd.DataFrame] = {}  # FRED's real-time periods, by alias (with an API key)
    not_fetched = "not fetched (--source cache)"
    live_errors: dict[str, str] = {t: not_fetched for t in tickers.values()} if opts.source == "cache" else {}
    macro_errors: dict[str, str] = {s: not_fetched for s in series_ids.values()}
    # An --as-of rebuild whose dates the cache already covers needs no price fetch.
    covered = not groups
    if covered:
        log(f"yahoo: the cache already covers {end} for every ticker; not fetching prices")
    if opts.source != "cache":
        grouped = {a for _, aliases in groups for a in aliases}
        live_errors |= {t: f"the cache already covers {end}" for a, t in tickers.items() if a not in grouped}
    if opts.source != "cache":
        # One deadline for the whole live fetch: FRED runs beside Yahoo, and neither may outlast it.
        deadline = time.monotonic() + opts.fetch_timeout
        fred_starts = {series_ids[a]: (c.data.index[-1] - pd.Timedelta(days=FRED_OVERLAP_DAYS)).date()
                       for a, c in cached_macro.items()}
        gate = _Gate(log)
        fred_box: dict = {}
        fred_thread = threading.Thread(
            target=lambda: fred_box.update(got=_fetch_fred(fred, opts, series_ids, fred_starts, deadline, gate, end,
                                                           vintages)),
            name="fred-fetch", daemon=True)
        fred_thread.start()
        offline = None
        for start, aliases in groups:  # usually one; a ticker far behind the others gets its own
            got, errors, offline = _fetch_yahoo(yahoo, opts, {a: tickers[a] for a in aliases}, start, end,
                                                deadline, log, live_splits)
            live_prices |= got
            live_errors = {t: r for t, r in live_errors.items() if t not in {tickers[a] for a in aliases}} | errors
            if offline or time.monotonic() >= deadline:
                for a in (a for _, later in groups for a in later if a not in live_prices):
                    live_errors.setdefault(tickers[a], offline or f"no answer within the {opts.fetch_timeout:g}s fetch deadline")
                break
        fred_thread.join(max(0.0, deadline - time.monotonic()) + 0.5)
        gate.close()  # whatever an abandoned request thread still has to say is not printed
        late = f"no answer within the {opts.fetch_timeout:g}s fetch deadline"
        live_macro, macro_errors, fred_offline = fred_box.get("got", ({}, {s: late for s in series_ids.values()}, None))
        offline = offline or fred_offline
        if offline:
            log(f"{offline}; using the cache")

    offline_reason = offline if opts.source != "cache" else None
    prices, macro, status, sources = {}, {}, {}, {}
    notes: dict[str, list[str]] = {}
    fell_back: list[str] = []
    revisions: list[dict] = []
    recent = None  # _recent_from(end, universe): the same session for every series, asked once
    clean: set[str] = set()  # see _finish
    checked: dict[str, pd.DataFrame] = {}
    written: set[str] = set()  # tickers whose files this run wrote (an alias may share another's ticker)

    def revisions_of(alias: str, ticker: str) -> dict:
        """The ticker's revision book as read before the fetch, unless this run wrote it since."""
        book = books.pop(alias, None)
        return book if book is not None and ticker not in written else cache.load_revisions(opts.cache_dir, ticker)

    quiet, new_rows = len(tickers) > PER_SERIES_LINES, 0
    for alias, ticker in tickers.items():
        # Each cached history is let go once its series is merged: only two copies of one
        # series (the cached and the merged) are held at a time, not of every series.
        old = cached_prices.pop(alias, None)
        # Rows on non-sessions never reach the cache, and ones an earlier build stored are dropped.
        old_data = _drop_non_sessions(alias, old.data, universe, notes, end) if old else None
        clean.add(alias)
        sources[alias] = f"yahoo:{ticker}"
        if alias in live_prices:
            try:
                new = _drop_non_sessions(alias, live_prices[alias].loc[: pd.Timestamp(end)], universe, notes)
                _check_heals(opts, "prices", ticker, new)
                tolerance = universe.validation.revision_tolerance
                recent = recent if recent is not None else _recent_from(end, universe)
                splits = live_splits.get(ticker, {})
                base, split = cache.split_rescale(
                    old_data, new, splits, tolerance=tolerance,
                    provisional=cache.provisional_days(old_data, universe.validation.provisional_sessions, recent)
                    if splits else frozenset())  # without a split reported, the history stays as it is
                book = revisions_of(alias, ticker)
                rec = cache.reconcile_prices(ticker, base, new, tolerance=tolerance,
                                             provisional=universe.validation.provisional_sessions,
                                             pending=book["pending"], when=fetched_at,
                                             confirms=_cross_check(alias, universe, prices, live_prices,
                                                                   {alias: old} if old else {}),
                                             recent_from=recent)
                merged = rec.merged
                validate.check_prices(f"{alias} ({ticker})", merged, max_move=universe.validation.max_daily_move)
                checked[alias] = merged
                cache.save_prices(opts.cache_dir, ticker, merged, source="yahoo", fetched_at=fetched_at,
                                  stored=old if ticker not in written else None)
                written.add(ticker)
                if cache.delisted_since(opts.cache_dir, ticker) is not None:
                    if cache.delisted_reported(opts.cache_dir, ticker):
                        log(f"  {ticker}: answering again after being reported delisted")
                    cache.clear_delisted(opts.cache_dir, ticker)
                book = {"pending": rec.pending, "log": book["log"] + rec.accepted}
                cache.save_revisions(opts.cache_dir, ticker, book)
                written.add(ticker)
                revisions += [{"series": alias, "ticker": ticker, **e} for e in book["log"]]
                for e in rec.accepted:
                    log(f"  {ticker}: close of {e['session']} revised {e['old']:g} -> {e['new']:g} "
                        f"(accepted: {e['how']})")
                for d in rec.disputed:
                    note = (f"disputed close on {d['session']}: the source now says {d['new']:g}, "
                            f"{d['drift']:.1%} from the {d['old']:g} kept until a later fetch confirms it")
                    notes.setdefault(alias, []).append(note)
                added = len(merged) - (len(old_data) if old else 0)
                if quiet:  # a large universe: one summary line after the loop
                    new_rows += added
                else:
                    log(f"  {ticker}: {added} new sessions, cached through {merged.index[-1].date()}")
                prices[alias], status[alias] = merged, _status(ticker, "yahoo", merged)
                if split:
                    note = f"split {split['ratio']:g}-for-1 on {split['date']}: cached history restated"
                    log(f"  {ticker}: {note}")
                    status[alias] |= {"reason": note, "splits": [split]}
                continue
            except (CacheError, ValidationError) as exc:
                live_errors[ticker] = f"fetch refused: {exc}"
                log(f"  {ticker}: fetch refused, keeping the cache: {exc}")
                if old is not None:  # flagged on the page: the data shown is the cache's
                    prices[alias] = old_data
                    status[alias] = _status(ticker, "cache", old_data, "ok", f"live data refused: {exc}")
                    fell_back.append(alias)
                    continue
        reason = live_errors.get(ticker, "not returned by Yahoo")
        since = cache.delisted_since(opts.cache_dir, ticker)
        gone = old is not None and "delisted" in reason.lower() and not offline_reason and len(live_prices) > 0
        if gone and since is None:  # the first "not found": a glitch until a later session repeats it
            cache.mark_delisted(opts.cache_dir, ticker, end.isoformat())
        elif gone and since is not None and since < end.isoformat():
            # Gone from the source on two sessions while the others answer: delisted. Kept as last
            # good, labelled, and reported once.
            if not cache.delisted_reported(opts.cache_dir, ticker):
                cache.mark_delisted(opts.cache_dir, ticker, since, reported=True)
                log(f"  {ticker}: Yahoo reports it delisted ({reason}) since {since}; keeping its last good "
                    f"data, through {old_data.index[-1].date()}, labelled")
            prices[alias] = old_data
            status[alias] = _status(ticker, "cache", old_data, "ok",
                                    f"delisted: Yahoo has had no data for {ticker} since {since}; the last good "
                                    f"data, through {old_data.index[-1].date()}, is shown") | {"delisted": since}
            revisions += [{"series": alias, "ticker": ticker, **e} for e in revisions_of(alias, ticker)["log"]]
            continue
        if old is not None:
            prices[alias], status[alias] = old_data, _status(ticker, "cache", old_data, "ok", None)
            fell_back.append(alias)
            revisions += [{"series": alias, "ticker": ticker, **e} for e in revisions_of(alias, ticker)["log"]]
        else:
            status[alias] = _status(ticker, "none", None, "missing", problems.get(alias) or f"live: {reason}; no cache")
    if quiet:
        fetched = [a for a in tickers if status.get(a, {}).get("source") == "yahoo"]
        if fetched:
            log(f"  {len(fetched)} series merged and cached ({new_rows} new sessions in all)")
    for alias, sid in series_ids.items():
        old = cached_macro.get(alias)
        sources[alias] = f"fred:{sid}"
        if alias in live_macro:
            try:
                _check_heals(opts, "macro", sid, live_macro[alias])
                merged = cache.merge_macro(sid, old.data if old else None, live_macro[alias])
                cache.save_macro(opts.cache_dir, sid, merged, source="fred", fetched_at=fetched_at)
                macro[alias], status[alias] = merged, _status(sid, "fred", merged)
                continue
            except CacheError as exc:
                macro_errors[sid] = f"fetch refused: {exc}"
        if old is not None:
            macro[alias], status[alias] = old.data, _status(sid, "cache", old.data)
            fell_back.append(alias)
        else:
            status[alias] = _status(sid, "none", None, "missing",
                                    problems.get(alias) or f"live: {macro_errors.get(sid, 'not returned by FRED')}; no cache")

    if not prices:
        if opts.source in ("yahoo", "cache"):
            raise BuildError("yahoo: no live data and no cache for any ticker "
                             f"(first error: {next(iter(live_errors.values()), 'none')})")
        log("no live data and no cache: falling back to the built-in sample")
        return _from_sample(opts, universe, log, note="No live data and no cache were available, so the site "
                                                       "shows the built-in sample.")
    if fell_back:
        cached_through = max(f.index[-1].date() for f in prices.values())
        first_error = next(iter({**live_errors, **macro_errors}.values()), "no answer")
        note = (f"Live data was unavailable for {len(fell_back)} of {len(tickers) + len(series_ids)} series "
                f"({first_error}); they use the last good cache, through {cached_through}.")
        mode = "cache"
        if opts.source == "cache":
            note = f"Built from the local cache without fetching (--source cache), through {cached_through}."
        elif covered and not macro_errors:
            note = f"Rebuilt as of {end} from the local price cache, which covers that date, and live FRED data."
    else:
        note, mode = "Live data from Yahoo Finance and FRED.", "live"
    got = _finish(prices, macro, status, sources, universe, opts, mode, note, end, log, notes, vintages,
                  clean, checked)
    got.revisions = sorted((r for r in revisions if r["session"] <= end.isoformat()),
                           key=lambda r: (r["session"], r["series"]))
    return got


def _tracking_notes(prices: dict[str, pd.DataFrame], universe: Universe, notes: dict[str, list[str]]) -> None:
    """A data-quality note on an index and its tracking fund when their latest moves part by
    more than PLAUSIBLE_GAP: one of the two prints is bad (it stays provisional, so the source's
    correction is taken when it comes)."""
    by_ticker = {s.ticker: a for a, s in universe.symbols.items() if a in prices}
    for index_ticker, fund_ticker in TRACKERS.items():
        a, b = by_ticker.get(index_ticker), by_ticker.get(fund_ticker)
        if a is None or b is None:
            continue
        for day, move_a, move_b in validate.tracking_gaps(prices[a]["close"], prices[b]["close"],
                                                          gap=PLAUSIBLE_GAP):
            note = (f"{index_ticker} moved {move_a:+.1%} and {fund_ticker}, which tracks it, {move_b:+.1%} "
                    f"on {day}: one of the two prints is likely bad")
            for alias in (a, b):
                if note not in notes.setdefault(alias, []):
                    notes[alias].append(note)


# An index and its fund part by more than this on one day only through a bad print.
PLAUSIBLE_GAP = 0.02

# A disputed close is re-read by later fetches for this long at most (then it stays as cached).
DISPUTE_DAYS = 60


def _recent_from(end: dt.date, universe: Universe) -> pd.Timestamp:
    """The earliest session whose print may still be corrected freely: within twice the
    provisional sessions (plus one) of the as-of session."""
    n = universe.validation.provisional_sessions
    days = sessions.sessions(end - dt.timedelta(days=7 * n + 14), end, universe.calendar)
    return days[-(2 * n + 1):][0] if len(days) else pd.Timestamp(end)


# Index <-> the fund that tracks it: on any day they move together (within a few tenths of a
# percent, the fund's fees and cash drag). A correction that brings an index back in line with
# its fund (or a fund with its index) is confirmed by the other series at once.
TRACKERS = {"^RUT": "IWM", "^GSPC": "SPY", "^NDX": "QQQ", "^DJI": "DIA", "^SOX": "SOXX"}
TRACKING_GAP = 0.01


def _cross_check(alias, universe, prices, live_prices, cached_prices):
    """A `confirms(day, old, new)` for reconcile_prices: whether the series' partner (index or
    tracking fund, both in the universe) moved on `day` as the corrected close says, and not as
    the cached one does. None when the series has no partner here."""
    ticker = universe.symbols[alias].ticker
    partners = {**TRACKERS, **{v: k for k, v in TRACKERS.items()}}
    if ticker not in partners:
        return None
    other = next((a for a, s in universe.symbols.items() if s.ticker == partners.get(ticker)), None)
    if other is None:
        return None
    own = cached_prices.get(alias)

    def confirms(day: pd.Timestamp, old: float, new: float) -> bool:
        partner = prices.get(other)
        if partner is None:
            partner = live_prices.get(other)
        if partner is None or own is None or day not in partner.index:
            return False
        p = partner["close"]
        before = p.index[p.index < day]
        mine = own.data["close"]
        prior = mine.index[mine.index < day]
        if not len(before) or not len(prior) or prior[-1] != before[-1]:
            return False
        move = p.loc[day] / p.loc[before[-1]] - 1
        base = mine.loc[prior[-1]]
        return abs(new / base - 1 - move) <= TRACKING_GAP < abs(old / base - 1 - move)
    return confirms


class _Gate:
    """A log that goes quiet once the fetch is over, so threads abandoned at the deadline print nothing."""

    def __init__(self, log: Log):
        self._log, self._open, self._lock = log, True, threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            if self._open:
                self._log(message)

    def close(self) -> None:
        with self._lock:
            self._open = False


def fetch_groups(starts: dict[str, dt.date], end: dt.date, *, gap_days: int = 10) -> list[tuple[dt.date, list[str]]]:
    """Tickers grouped into as few downloads as their own start dates allow: a start within
    `gap_days` of the group's earliest joins it (re-reading a few more days), anything further
    (a ticker with no cache, or one long behind) is a download of its own. Tickers whose start
    is after `end` (the cache covers it) are not fetched."""
    groups: list[tuple[dt.date, list[str]]] = []
    for alias, start in sorted(((a, s) for a, s in starts.items() if s <= end), key=lambda x: (x[1], x[0])):
        if groups and (start - groups[-1][0]).days <= gap_days:
            groups[-1][1].append(alias)
        else:
            groups.append((start, [alias]))
    return groups


def _fetch_yahoo(yahoo, opts, tickers, start, end, deadline, log, splits):
    """(frames by alias, errors by ticker, offline reason or None); split events go into `splits`."""
    try:
        log(f"yahoo: {len(tickers)} tickers from {start} through {end}")
        frames, errors = yahoo.fetch_prices(list(tickers.values()), start, last_session=end,
                                            session=opts.yahoo_session, timeout_s=opts.fetch_timeout,
                                            deadline=deadline, splits=splits, log=log)
        return {a: frames[t] for a, t in tickers.items() if t in frames}, errors, None
    except Offline as exc:
        return {}, {t: str(exc) for t in tickers.values()}, str(exc)
    except SourceError as exc:
        log(f"  yahoo failed: {exc}")
        return {}, {t: str(exc) for t in tickers.values()}, None


# With the API, real-time periods are asked for observations from this long before the as-of
# date (a year-over-year change needs thirteen months); older ones follow the release rule.
VINTAGE_DAYS = 800


def _fetch_fred(fred, opts, series_ids, starts, deadline, log, end=None, vintages=None):
    """(series by alias, errors by series id, offline reason or None). With an API key, FRED's
    real-time periods first (into `vintages`, by alias); a series the API fails on falls back
    to the CSV endpoint, and the log says so."""
    if not series_ids:  # a site that follows no macro series asks FRED nothing
        return {}, {}, None
    found: dict[str, pd.Series] = {}
    if opts.fred_api_key and end is not None and vintages is not None:
        first = end - dt.timedelta(days=VINTAGE_DAYS)
        # A cached series from well before the as-of date; one without a cache, its whole history.
        api_starts = {s: min(starts[s], first) for s in series_ids.values() if s in starts}
        kwargs = {"base_url": opts.fred_api_url} if opts.fred_api_url else {}
        try:
            rows, errors = fred.fetch_vintages(list(series_ids.values()), opts.fred_api_key, starts=api_starts,
                                               session=opts.fred_session, deadline=deadline, log=log, **kwargs)
        except Offline as exc:
            return {}, {s: str(exc) for s in series_ids.values()}, str(exc)
        except SourceError as exc:
            rows, errors = {}, {s: str(exc) for s in series_ids.values()}
        for alias, sid in series_ids.items():
            try:
                if sid in rows:
                    frame = release.vintages_frame(rows[sid])
                    vintages[alias], found[alias] = frame, release.latest_values(frame, sid)
                    continue
            except (ValueError, KeyError) as exc:
                errors[sid] = f"malformed JSON: {exc}"
            log(f"fred api: {sid}: {errors.get(sid, 'no data')}; falling back to the CSV endpoint "
                "(latest revisions, dated by the release rule)")
        series_ids = {a: s for a, s in series_ids.items() if a not in found}
        if not series_ids:
            return found, {}, None
    try:
        kwargs = {"base_url": opts.fred_url} if opts.fred_url else {}
        got, errors = fred.fetch_series(list(series_ids.values()), starts=starts, session=opts.fred_session,
                                        deadline=deadline, log=log, **kwargs)
        return found | {a: got[s] for a, s in series_ids.items() if s in got}, errors, None
    except Offline as exc:
        return found, {s: str(exc) for s in series_ids.values()}, str(exc)
    except SourceError as exc:
        log(f"  fred failed: {exc}")
        return found, {s: str(exc) for s in series_ids.values()}, None
