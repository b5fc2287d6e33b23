"""`make faults`: seeded scheduled runs against the Yahoo transport fake and a FRED on 127.0.0.1.

Each run advances a simulated clock by one session, draws a fault (or none) from the list below
(besides outages and bad answers: a close printed 3-6% off and corrected the next run, a settled
close corrected by 3% that both worlds see, a ticker gone for three runs, a run 30 s after the
bell, a clock 7 months behind or in 1984, which must end in a one-line error),
builds into an output folder exactly as the scheduled job does (lock, staging, verdict) and then
checks four invariants:

1. no observation ever accepted into the cache is lost (a corrupt file kept aside still counts);
2. the output is fresh and valid, or the last good one labelled stale (cache mode), or unchanged;
3. every series the fault did not touch has the same metrics as a clean reference world that
   runs the same clock without faults;
4. no page fragment built from the snapshot shows `nan`, `None`, an empty number or a path of
   the machine.

Prints a table of fault kinds against outcomes and exits non-zero on any broken invariant.

A refetch reproduces the cache exactly (prices are held at the cache file's precision), so an
untouched series stays bit-identical to the clean world's on every seed.

    python -m tests.faults [--runs 50] [--seed 7]
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import logging
import os
import random
import re
import warnings
import resource
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
import yfinance
import yfinance.cache
import yfinance.data
from pytest_httpserver import HTTPServer
from werkzeug import Response

from build_data import atomic, config, sessions
from build_data.build import build
from build_data.fetch import cache
from build_data.fetch.gather import Options
from build_data.publish import output, render, snapshot
from macros.snapshot import Snapshot
from tests.fakes.yahoo import NOT_FOUND, Listing, YahooFake, make_bars, session

FAULTS = ["none", "dns", "connect_timeout", "never_answers", "429_storm", "500s", "empty_result",
          "ticker_missing", "malformed_json", "bad_tick", "duplicated_session", "weekend_bar",
          "partial_bar", "split", "fred_dots", "fred_revision", "corrupt_cache", "kill_mid_write",
          "full_disk", "bad_close_corrected", "late_revision", "delisted", "forming_bar", "wrong_clock"]
# Faults after which a run goes through every stage at its usual pace (no fetch waits out a
# timeout): their runs' length is the span a kill_mid_write is drawn in.
WHOLE_RUNS = {"none", "duplicated_session", "weekend_bar", "partial_bar", "split", "fred_revision",
              "bad_close_corrected", "late_revision"}
DELISTED_RUNS = 3  # a delisted ticker answers "not found" for this many runs, then is listed again
TICKERS = {"rut": "^RUT", "spx": "^GSPC", "iwm": "IWM", "xlk": "XLK"}
MACRO = {"us10y": "DGS10", "claims": "ICSA"}
FIRST_SESSION = dt.date(2025, 3, 3)
START_RUNS = dt.date(2026, 1, 2)


def fault_universe() -> config.Universe:
    """The default universe cut to four symbols and two macro series: every code path, fast."""
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text(encoding="utf-8"))
    raw["symbols"] = {a: raw["symbols"][a] for a in TICKERS}
    raw["sectors"], raw["breadth_basket"], raw["volume_symbols"] = ["xlk"], ["xlk"], ["iwm"]
    raw["pairs"] = {k: v for k, v in raw["pairs"].items() if {v["a"], v["b"]} <= set(TICKERS)}
    raw["macro"] = {a: raw["macro"][a] for a in MACRO}
    raw["ranges"] = {}
    raw["charts"] = {"performance-ytd": {"kind": "performance", "series": ["rut", "spx"]},
                     "rut-trend": {"kind": "trend", "series": "rut"},
                     "iwm-volume": {"kind": "volume", "series": "iwm"},
                     "rut-spx-ratio": {"kind": "ratio", "series": ["rut", "spx"]},
                     "macro-panel": {"kind": "macro", "series": list(MACRO)}}
    raw["claims"], raw["watchlist"] = {}, {}
    events = raw.setdefault("events", {})
    events["records"] = [a for a in events.get("records") or [] if a in TICKERS]
    events["streaks"] = [p for p in events.get("streaks") or [] if p in raw["pairs"]]
    raw["history_start"] = FIRST_SESSION
    raw["publish"]["core"] = ["rut", "spx"]
    return config.Universe.model_validate(raw)


class Market:
    """What Yahoo and FRED hold: full histories, served up to the simulated clock."""

    def __init__(self, universe, last: dt.date):
        days = [d.date() for d in sessions.sessions(FIRST_SESSION, last, universe.calendar)]
        self.bars = {t: make_bars(days, seed=i + 1, base=2000.0 if t.startswith("^") else 100.0,
                                  adj_ratio=None if t.startswith("^") else 0.99)
                     for i, t in enumerate(TICKERS.values())}
        self.splits: dict[str, dict] = {t: {} for t in TICKERS.values()}
        cal = pd.bdate_range(FIRST_SESSION, last)
        weeks = pd.date_range(FIRST_SESSION, last, freq="W-SAT")
        self.macro = {"DGS10": pd.Series(4.0 + (pd.Series(range(len(cal))) % 17) / 100.0, name="DGS10").set_axis(cal),
                      "ICSA": pd.Series(200000.0 + (pd.Series(range(len(weeks))) % 9) * 1000, name="ICSA").set_axis(weeks)}

    def listings(self, through: dt.date) -> dict[str, Listing]:
        return {t: Listing(b.loc[: pd.Timestamp(through)].copy(), instrument_type="INDEX" if t[0] == "^" else "ETF",
                           splits=dict(self.splits[t])) for t, b in self.bars.items()}

    def split(self, ticker: str, day: dt.date, ratio: int) -> None:
        """A split at the open of `day`: Yahoo restates every earlier bar."""
        b = self.bars[ticker]
        earlier = b.index < pd.Timestamp(day)
        cols = [c for c in ("open", "high", "low", "close", "adj_close") if c in b]
        b.loc[earlier, cols] = _six(b.loc[earlier, cols] / ratio)
        b.loc[earlier, "volume"] = b.loc[earlier, "volume"] * ratio
        b.loc[~earlier, cols] = _six(b.loc[~earlier, cols] / ratio)  # keep the level continuous
        self.splits[ticker][pd.Timestamp(day)] = (ratio, 1)


def _six(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices as Yahoo publishes a restatement: correctly rounded to 6 decimals."""
    return frame.map(lambda v: float(f"{v:.6f}"))


class World:
    """One cache and one output folder, fetched through its own fake transport."""

    def __init__(self, root: Path, name: str):
        self.cache, self.out = root / name / "cache", root / name / "generated"
        self.fake = YahooFake({})
        self.fred_dots: set[str] = set()

    def options(self, now, fred_url, timeout=20.0) -> Options:
        return Options(source="auto", cache_dir=self.cache, now=now, fred_url=fred_url, fetch_timeout=timeout,
                       yahoo_session=session(self.fake))


def _reset_yfinance(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    yfinance.set_tz_cache_location(str(folder))
    yfinance.cache._TzCacheManager._tz_cache = None
    yfinance.cache._CookieCacheManager._Cookie_cache = None
    yfinance.data.YfData.cache_get.cache_clear()
    yfinance.data.SingletonMeta._instances.pop(yfinance.data.YfData, None)


def run_build(world: World, opts: Options, universe, facts, lines: list[str]) -> dict:
    """One scheduled run, as the CLI does it: lock, tidy, build, stage and swap the output."""
    _reset_yfinance(world.cache / "yfinance")
    with output.locked([world.out, world.cache], 30, lines.append):
        output.recover(world.out, lines.append)
        output.remove_temp_files(world.cache, lines.append)
        snap, _charts = build(opts, universe, facts, log=lines.append)
        # Charts are not drawn here (the runs test the data, and drawing is slow): the published
        # snapshot says so, as the writer requires of an entry whose files it did not write.
        undrawn = {**snap, "charts": render.chart_entries([], "not drawn in the fault runs", universe)}
        render.publish(world.out, snapshot.to_json(undrawn), [], lines.append, vendor=False, changes=snap["changes"])
    return snap


def run_in_child(world, opts, universe, facts, *, kill_after: float | None = None, fsize: int | None = None) -> str:
    """The run in a forked process, killed with SIGKILL after `kill_after` s or held to a file-size
    limit (writes past it fail as on a full disk). Returns how the child ended."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            if fsize is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            run_build(world, opts, universe, facts, [])
        except OSError:
            code = 3
        except BaseException:
            code = 4
        os._exit(code)
    if kill_after is not None:
        time.sleep(kill_after)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed"
    return {0: "finished", 3: "disk full", 4: "crashed"}.get(os.WEXITSTATUS(status), "crashed")


def ledger(world: World, universe) -> dict[str, set]:
    """Every (series, session date) on disk: cache files, and the dates legible in kept corrupt files."""
    out: dict[str, set] = {}
    for kind, names in (("prices", TICKERS.values()), ("macro", MACRO.values())):
        for name in names:
            days: set = set()
            load = cache.load_prices if kind == "prices" else cache.load_macro
            with contextlib.suppress(cache.CacheError):
                hit = load(world.cache, name)
                if hit is not None:
                    days |= {d.date() for d in hit.data.index}
            kept = [f"{name}.csv"] + ([f"{name}.parquet", f"{name}.parquet.tail"] if kind == "prices" else [])
            for aside in (p for stem in kept for p in (world.cache / kind).glob(f"{stem}.corrupt-*")):
                days |= set(cache.legible_dates(aside))
            if kind == "prices":  # a bar off the exchange calendar is not an observation
                valid = set(d.date() for d in sessions.sessions(FIRST_SESSION, START_RUNS + dt.timedelta(days=400),
                                                                universe.calendar))
                days &= valid
            out[name] = days
    return out


BAD_TEXT = ("nan", "None", "NaN", "inf")
EMPTY_CELL = re.compile(r'class="[^"]*\bnum\b[^"]*"[^>]*>\s*</')


def page_problems(world: World, root: Path) -> list[str]:
    """Invariant 4 on the fragments pages are made of: banner, status, every metric, tables."""
    snap = Snapshot.load(world.out / "metrics.json")
    parts = [snap.data_status(), snap.series_table(), snap.metrics_table()]
    parts += [snap.metric(k) for k in snap.data["metrics"]]
    problems = []
    for html in parts:
        text = " ".join(html.replace(">", "> ").split())
        for bad in BAD_TEXT:
            if f">{bad}<" in html.replace(" ", "") or f" {bad} " in f" {text} ":
                problems.append(f"shows {bad!r}: {html[:120]}")
        empty = EMPTY_CELL.search(html)
        if empty:
            problems.append(f"empty number: {html[max(0, empty.start() - 80):empty.end()]}")
        for path in (str(root), str(Path.home()), "/tmp/"):
            if path in html:
                problems.append(f"shows a machine path: {html[:120]}")
    return problems


def series_metrics(snap: dict, alias: str) -> dict:
    return {k: v for k, v in snap["metrics"].items() if k.split(".", 1)[0] == alias}


class Fred:
    """FRED on 127.0.0.1: fredgraph.csv for the market's series up to the simulated day."""

    def __init__(self, market: Market):
        self.market, self.day, self.dots = market, None, set()
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.expect_request("/fredgraph.csv").respond_with_handler(self.answer)
        self.server.start()
        self.url = self.server.url_for("/fredgraph.csv")

    def answer(self, request):
        sid = request.args.get("id")
        if sid not in self.market.macro:
            return Response("not found", status=404)
        series = self.market.macro[sid].loc[: pd.Timestamp(self.day)]
        if request.args.get("cosd"):
            series = series.loc[pd.Timestamp(request.args["cosd"]):]
        body = series.rename(sid).to_csv(index_label="observation_date", date_format="%Y-%m-%d")
        if sid in self.dots:  # the newest observation not published yet: FRED writes "."
            lines = body.splitlines()
            lines[-1] = lines[-1].split(",")[0] + ",."
            body = "\n".join(lines) + "\n"
        return Response(body, content_type="text/csv")

    def stop(self):
        self.server.clear()
        if self.server.is_running():
            self.server.stop()


def schedule(seed: int, runs: int) -> list[dict]:
    """Every run's fault, drawn up front so both worlds see the same market events."""
    rng = random.Random(seed)
    kinds: list[str] = []
    while len(kinds) < runs:  # every kind in turn, in a shuffled order each round: all are drawn
        batch = FAULTS[:]
        rng.shuffle(batch)
        kinds += batch
    kinds = ["none"] + kinds[: runs - 1]  # the first run builds the cache
    steps = []
    for i in range(runs):
        steps.append({"kind": kinds[i], "target": rng.choice(list(TICKERS)),
                      "ratio": rng.choice([2, 3, 4]), "kill_after": rng.uniform(0.2, 3.0),  # scaled to a run's length
                      "fsize": rng.choice([2000, 20000, 60000])})
    return steps


def market_events(market: Market, step: dict, day: dt.date) -> None:
    """Market events both worlds see: a split, a FRED revision."""
    if step["kind"] == "split":
        market.split(TICKERS[step["target"]], day, step["ratio"])
    if step["kind"] == "fred_revision":
        old = market.macro["DGS10"].index[-30]
        market.macro["DGS10"].loc[old] += 0.05
    if step["kind"] == "late_revision":  # a settled close, eight sessions back, corrected by 3%
        bars = market.bars[TICKERS[step["target"]]]
        old = bars.loc[: pd.Timestamp(day)].index[-9]
        cols = [c for c in ("open", "high", "low", "close", "adj_close") if c in bars]
        bars.loc[old, cols] = _six(bars.loc[[old], cols] * 1.03).iloc[0]


def run_clean_world(root: Path, days, steps, universe, facts) -> None:
    """The reference: the same clock and market events, no faults; one snapshot file per day."""
    market = Market(universe, days[-1])
    fred = Fred(market)
    world = World(root, "clean")
    try:
        for day, step in zip(days, steps):
            market_events(market, step, day)
            fred.day = day
            world.fake = YahooFake(market.listings(day))
            now = sessions.session_close(day, universe.calendar) + pd.Timedelta(minutes=30)
            snap = run_build(world, world.options(now, fred.url), universe, facts, [])
            atomic.write_text(root / "clean" / f"{day}.json", snapshot.to_json(snap))
    finally:
        fred.stop()


def wait_for(path: Path, child: int) -> dict:
    while not path.exists():
        done, status = os.waitpid(child, os.WNOHANG)
        if done and not path.exists():
            raise SystemExit(f"the clean reference world stopped (status {status}) before {path.name}")
        time.sleep(0.05)
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)  # yfinance's, not ours
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local FRED's request lines
    universe, facts = fault_universe(), config.load_facts()
    days = [d.date() for d in sessions.sessions(START_RUNS, START_RUNS + dt.timedelta(days=args.runs * 2 + 30),
                                                universe.calendar)][: args.runs]
    steps = schedule(args.seed, args.runs)
    t0 = time.monotonic()
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    broken: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        root = Path(tmp)
        (root / "clean").mkdir()
        child = os.fork()  # the clean world runs beside the faulted one, on the other core
        if child == 0:
            code = 0
            try:
                run_clean_world(root, days, steps, universe, facts)
            except BaseException as exc:  # reported by the parent when a snapshot never comes
                print(f"clean world failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                code = 1
            os._exit(code)
        market = Market(universe, days[-1])
        fred = Fred(market)
        faulted_world = World(root, "faulted")
        ledger_before = ledger(faulted_world, universe)
        gone: dict[str, int] = {}  # delisted ticker -> the last run index it stays gone
        run_seconds = 3.0  # how long the last whole run took (a kill is drawn inside that span)
        try:
            for i, (day, step) in enumerate(zip(days, steps)):
                kind, target_alias = step["kind"], step["target"]
                target = TICKERS[target_alias]
                now = sessions.session_close(day, universe.calendar) + pd.Timedelta(minutes=30)
                market_events(market, step, day)
                fred.day, fred.dots = day, set()
                # Series the fault may legitimately change (invariant 3 skips them). Faults the build
                # must absorb completely (a weekend bar, a partial bar, a duplicated session, a
                # corrupt cache file, a split, a revision both worlds see) touch nothing.
                touched: set[str] = set()
                faulted_world.fake = fake = YahooFake(market.listings(day))
                timeout = 20.0
                if kind == "delisted" and target not in gone:
                    gone[target] = i + DELISTED_RUNS - 1
                gone_now = {t for t, last in gone.items() if last >= i}
                for ticker in gone_now:  # delisted: "not found, may be delisted"
                    fake.script(ticker, 404, json.dumps(NOT_FOUND))
                gone = {t: last for t, last in gone.items() if last > i}
                cached_before = {t for t in TICKERS.values() if (faulted_world.cache / "prices" / f"{t}.parquet").exists()}
                if kind in ("dns", "never_answers", "kill_mid_write", "full_disk"):
                    touched = set(TICKERS) | set(MACRO)
                elif kind in ("connect_timeout", "429_storm", "500s", "empty_result", "ticker_missing",
                              "malformed_json", "bad_tick"):
                    touched = {target_alias}
                if kind == "dns":
                    fake.go_offline()
                elif kind == "never_answers":
                    fake.hold()
                    timeout = 3.0
                elif kind == "429_storm":
                    fake.script(target, 429, "Too Many Requests\r\n")
                elif kind == "500s":
                    fake.script(target, 500, '{"chart":{"result":null,"error":{"code":"Internal","description":"x"}}}')
                elif kind == "empty_result":
                    fake.script(target, 200, json.dumps({"chart": {"result": [], "error": None}}))
                elif kind == "ticker_missing":
                    fake.script(target, 404, json.dumps(NOT_FOUND))
                elif kind == "malformed_json":
                    fake.script(target, 200, '{"chart": {"result": [{"meta": ')
                elif kind == "bad_tick":
                    bars = fake.listings[target].bars
                    bars.iloc[-1, bars.columns.get_loc("close")] *= 1.6
                elif kind == "duplicated_session":
                    bars = fake.listings[target].bars
                    fake.listings[target].bars = pd.concat([bars, bars.iloc[[-1]]])
                elif kind == "weekend_bar":
                    bars = fake.listings[target].bars
                    extra, last = bars.iloc[[-1]].copy(), bars.index[-1]
                    extra.index = pd.DatetimeIndex([last - pd.Timedelta(days=(last.weekday() - 5) % 7 or 7)], name="date")
                    fake.listings[target].bars = pd.concat([bars, extra]).sort_index()
                elif kind == "partial_bar":
                    bars = fake.listings[target].bars
                    nxt = sessions.sessions(day + dt.timedelta(days=1), day + dt.timedelta(days=6), universe.calendar)[0]
                    at = pd.Timestamp(nxt).tz_localize("America/New_York") + pd.Timedelta(hours=11)
                    last_close = bars["close"].iloc[-1]
                    fake.listings[target].live = {"time": at.to_pydatetime(), "open": last_close,
                                                  "high": last_close * 1.01, "low": last_close * 0.99,
                                                  "close": last_close * 1.005, "volume": 1000}
                    now = at.tz_convert("UTC") + pd.Timedelta(minutes=1)  # this run happens mid-session
                elif kind == "bad_close_corrected":  # a print 3-6% off, inside the move bound; fixed next run
                    bars = fake.listings[target].bars
                    bars.iloc[-1, bars.columns.get_loc("close")] *= 1 + 0.015 * step["ratio"]
                    touched = {target_alias}
                elif kind == "forming_bar":  # a run 30 s after the bell: today's bar is still forming
                    bars = fake.listings[target].bars
                    bars.iloc[-1, bars.columns.get_loc("close")] *= 1.004
                    bars.iloc[-1, bars.columns.get_loc("volume")] *= 0.6
                    now = sessions.session_close(day, universe.calendar) + pd.Timedelta(seconds=30)
                elif kind == "wrong_clock":  # the runner's clock 7 months behind, or in 1984
                    now = (pd.Timestamp("1984-06-01 21:30", tz="UTC") if step["ratio"] == 4
                           else now - pd.Timedelta(days=213))
                elif kind == "fred_dots":
                    fred.dots = {"DGS10"}
                    touched = {"us10y"}
                elif kind == "corrupt_cache":
                    path = faulted_world.cache / "prices" / f"{target}.parquet"
                    if path.exists():
                        data = bytearray(path.read_bytes())
                        data[len(data) // 2] ^= 0x01
                        path.write_bytes(bytes(data))

                touched |= {a for a, t in TICKERS.items() if t in gone_now}
                metrics_path = faulted_world.out / "metrics.json"
                before = metrics_path.read_bytes() if metrics_path.exists() else None
                opts = faulted_world.options(now, fred.url, timeout)
                ended = "finished"
                try:
                    if kind == "dns":
                        def no_dns(host, *a, **kw):
                            if host not in ("127.0.0.1", "localhost"):
                                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                            return real_getaddrinfo(host, *a, **kw)
                        socket.getaddrinfo = no_dns
                        opts.fred_url = "https://fred.stlouisfed.org/graph/fredgraph.csv"
                    if kind == "connect_timeout":
                        _timeouts(fake, {target})
                    if kind == "kill_mid_write":
                        # At a point drawn across a whole run (as long as the last one took), so
                        # the kill can land in any stage, from the fetch to the output's swap.
                        at = 0.05 + (step["kill_after"] - 0.2) / 2.8 * run_seconds
                        ended = run_in_child(faulted_world, opts, universe, facts, kill_after=at)
                    elif kind == "full_disk":
                        ended = run_in_child(faulted_world, opts, universe, facts, fsize=step["fsize"])
                    else:
                        started = time.monotonic()
                        run_build(faulted_world, opts, universe, facts, [])
                        if kind in WHOLE_RUNS:
                            run_seconds = time.monotonic() - started
                except Exception as exc:  # a run may fail; the invariants say what it may leave
                    ended = f"error: {type(exc).__name__}"
                finally:
                    socket.getaddrinfo = real_getaddrinfo
                    fake.release()
                clean = wait_for(root / "clean" / f"{day}.json", child)

                # --- the four invariants
                problems: list[str] = []
                after_ledger = ledger(faulted_world, universe)
                for name, seen in ledger_before.items():
                    lost = seen - after_ledger.get(name, set())
                    if lost:
                        problems.append(f"lost {len(lost)} accepted observations of {name} (first {min(lost)})")
                ledger_before = {n: ledger_before.get(n, set()) | got for n, got in after_ledger.items()}
                now_bytes = metrics_path.read_bytes() if metrics_path.exists() else None
                if now_bytes is None:
                    problems.append("no output at all")
                    outcome = "no output"
                elif now_bytes == before:
                    outcome = "unchanged"
                else:
                    snap = json.loads(now_bytes)
                    expected = sessions.last_completed_session(
                        now, universe.calendar, universe.validation.settle_minutes).isoformat()
                    if snap["as_of"] == expected and snap["data_mode"] == "live":
                        outcome = "fresh"
                    elif snap["data_mode"] == "cache" and snap["as_of"] <= expected:
                        outcome = "stale, labelled" if snap["as_of"] < expected else "fresh, some cached"
                    else:
                        outcome = "WRONG"
                        problems.append(f"output as of {snap['as_of']} in mode {snap['data_mode']} at {expected}")
                    for alias in set(TICKERS) | set(MACRO):
                        if alias in touched or snap["as_of"] != clean["as_of"]:
                            continue
                        mine, ref = series_metrics(snap, alias), series_metrics(clean, alias)
                        if mine != ref:
                            key = next(k for k in ref if mine.get(k) != ref[k])
                            problems.append(f"untouched series {alias} differs from the clean build: {key} "
                                            f"{mine.get(key, {}).get('value')} != {ref[key]['value']}")
                    problems += page_problems(faulted_world, root)
                if kind == "wrong_clock" and (ended != "error: BuildError" or outcome != "unchanged"):
                    problems.append(f"a wrong clock ended {ended} with the output {outcome}")
                if gone_now and ended == "finished":
                    exempt = gone_now | ({target} if kind == "corrupt_cache" else set())
                    problems += full_downloads(fake, cached_before - exempt, day)
                label = f"{outcome} ({ended})" if ended != "finished" else outcome
                table[kind][label] += 1
                table[kind]["BROKEN"] += bool(problems)
                broken += [f"run {i + 1} ({day}, {kind} on {target_alias}): {p}" for p in problems]
                print(f"run {i + 1:2d} {day} {kind:<18} {target_alias:<6} {label:<28} "
                      f"{'BROKEN' if problems else 'ok'}", flush=True)
        finally:
            fred.stop()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
    print(f"\n{'fault':<20} outcomes ({args.runs} runs, seed {args.seed}, {time.monotonic() - t0:.0f}s)")
    for kind in FAULTS:
        if kind in table:
            print(f"{kind:<20} " + ", ".join(f"{k}: {v}" for k, v in sorted(table[kind].items()) if v))
    if broken:
        print(f"\n{len(broken)} broken invariant(s):")
        print("\n".join(broken))
        return 1
    print("\nall four invariants held after every run")
    return 0


def full_downloads(fake: YahooFake, tickers: set[str], day: dt.date) -> list[str]:
    """Tickers whose chart request reached back more than 60 days though they are cached: a
    vanished ticker must never force a full download for the others."""
    floor = int(pd.Timestamp(day - dt.timedelta(days=60)).timestamp())
    out = []
    for _, path, params in fake.calls:
        symbol = path.rsplit("/", 1)[1] if path.startswith("/v8/finance/chart/") else None
        if symbol in tickers and "period1" in params and int(params["period1"]) < floor:
            out.append(f"{symbol} was downloaded from {dt.datetime.utcfromtimestamp(int(params['period1'])).date()}")
    return out


def _timeouts(fake: YahooFake, symbols: set[str]) -> None:
    """Chart requests for `symbols` fail as a connect timeout does."""
    import requests

    original = fake._route

    def route(host, path, params):
        if path.startswith("/v8/finance/chart/") and path.rsplit("/", 1)[1] in symbols:
            raise requests.ConnectTimeout(f"connect timeout to {host}")
        return original(host, path, params)
    fake._route = route


if __name__ == "__main__":
    sys.exit(main())
