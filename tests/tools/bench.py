"""Benchmark: prints figures, asserts nothing.  `make bench` / `python -m tests.tools.bench`

1. wall time of `python -m build_data --source cache` on the default universe (a cache filled
   from the sample generator, so no network is needed);
2. compute time (every metric, plus the daily histories behind every claim and watch item) for
   the default universe plus 500 and 2,000 synthetic tickers x 10 years of sessions, to
   show how cost grows with the universe;
3. peak memory of each;
4. the site build with macros against a bare Material build of the same pages (each macro
   replaced by its output), as a ratio: what the macros layer costs every live reload;
5. if site/ is built, what each page costs a reader (gzip bytes, see tests.tools.pageweight);
6. a 500-symbol universe's daily incremental run (`--incremental` runs only this): the default
   universe plus generated tickers, 10 years each, served by the Yahoo fake (and a FRED) on
   127.0.0.1; a full run warms the cache, then one more session is published and the timed run
   fetches it, in its own process: wall time, that process's peak RSS, and the bytes of the
   cache files that run wrote.
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from build_data import config, sessions
from build_data import site as sites
from build_data.compute import keys
from build_data.fetch import cache
from build_data.build import compute
from build_data.compute import values
from build_data.fetch.sources import sample
from build_data.scratch import ScratchSite, mkdocs_env, scratch_site

ROOT = Path(__file__).resolve().parents[2]  # the project folder
YEARS = 10


def _fill_cache(cache_dir: Path, universe: config.Universe, end: dt.date) -> None:
    prices = sample.sample_prices([s.ticker for s in universe.symbols.values()], end)
    for ticker, frame in prices.items():
        cache.save_prices(cache_dir, ticker, frame, source="sample", fetched_at="bench")
    for sid, series in sample.sample_macro([m.series for m in universe.macro.values()], end).items():
        cache.save_macro(cache_dir, sid, series, source="sample", fetched_at="bench")


def _timed_build(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one build in its own process (wait4: that child's rusage alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if proc.returncode != 0:
        print(proc.stderr.read(), file=sys.stderr)
        raise SystemExit("bench: the build failed")
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024


def bench_cli() -> None:
    """The cache build twice into one output: the first draws every chart, the second (the data
    unchanged, as on a rebuild or a preview restart) keeps the charts whose spec did not change."""
    universe = keys.load_universe()
    end = sessions.last_completed_session(pd.Timestamp.now(tz="UTC"), universe.calendar)
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir, out = Path(tmp) / "cache", Path(tmp) / "out"
        _fill_cache(cache_dir, universe, end)
        cmd = [sys.executable, "-m", "build_data", "--source", "cache", "--cache-dir", str(cache_dir), "--out", str(out)]
        first, again = _timed_build(cmd), _timed_build(cmd)
    what = f"{len(universe.symbols)} symbols + {len(universe.macro)} macro series"
    print(f"build from cache (default universe, {what}): {first[0]:.2f} s wall, peak RSS {first[1]:.0f} MB; "
          f"again with the charts unchanged: {again[0]:.2f} s, {again[1]:.0f} MB (target <= 3 s, <= 250 MB)")


def _mkdocs(sc: ScratchSite, site: Path, env: dict | None = None, config: str | None = None) -> float:
    t0 = time.perf_counter()
    sc.mkdocs_build(site, env=env, config=config, strict=False, args=["-q"], check="bench")
    return time.perf_counter() - t0


# What `mkdocs serve` does on each save, in the process that already imported everything:
# load the config (new plugin instances) and build. Prints the median of the rebuilds after the first.
_REBUILDS = """
import statistics, sys, time
from mkdocs.commands.build import build
from mkdocs.config import load_config
times = []
for _ in range(int(sys.argv[3]) + 1):
    t0 = time.perf_counter()
    build(load_config(config_file=sys.argv[1], site_dir=sys.argv[2]))
    times.append(time.perf_counter() - t0)
print(statistics.median(times[1:]))
"""


def _rebuilds(config: Path, site: Path, runs: int) -> float:
    done = subprocess.run([sys.executable, "-c", _REBUILDS, str(config), str(site), str(runs)], cwd=ROOT, check=True,
                          env=mkdocs_env(), capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def bench_site(runs: int = 5) -> None:
    """Median build time of the real pages with macros, and of the same pages as plain Markdown
    (the macros' output, captured once) built by Material without the plugin."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sc = scratch_site(root / "scratch", sites.load(ROOT))
        sc.build_data("--source", "sample", "--cache-dir", str(root / "cache"), check="bench")
        dump = root / "rendered"
        _mkdocs(sc, root / "site-warm", {"MACROS_DUMP_DIR": str(dump)})
        bare = root / "bare"
        shutil.copytree(sc.docs, bare, ignore=shutil.ignore_patterns("*.md"))
        for page in dump.rglob("*.md"):
            source = (sc.docs / page.relative_to(dump)).read_text(encoding="utf-8")
            head = source[: source.index("\n---", 4) + 5] if source.startswith("---\n") else ""
            (bare / page.relative_to(dump)).write_text(head + page.read_text(encoding="utf-8"), encoding="utf-8")
        bare_yml = sc.variant("bare.yml", {"docs_dir": str(bare), "site_url": "http://127.0.0.1:8000/",
                                           "plugins": ["search"]})
        # Interleaved, so a busy machine slows both alike.
        pairs = [(_mkdocs(sc, root / "site-m"), _mkdocs(sc, root / "site-b", config=bare_yml.name))
                 for _ in range(runs)]
        with_macros, without = (statistics.median(p[i] for p in pairs) for i in (0, 1))
        pages = {p.relative_to(root / "site-m").as_posix() for p in (root / "site-m").rglob("*.html")}
        assert pages == {p.relative_to(root / "site-b").as_posix() for p in (root / "site-b").rglob("*.html")}
        # A live reload: the same builds again inside one process, as `mkdocs serve` rebuilds on a save.
        reload_pairs = [(_rebuilds(sc.mkdocs_yml, root / "site-m", 3), _rebuilds(bare_yml, root / "site-b", 3))
                        for _ in range(runs)]
        reload_m, reload_b = (statistics.median(p[i] for p in reload_pairs) for i in (0, 1))
    print(f"site build, median of {runs}: {with_macros:.2f} s with macros, {without:.2f} s bare Material on the same "
          f"pages: ratio {with_macros / without:.2f}x (a fresh process each; target <= 1.2x)")
    print(f"live reload (a rebuild in the process that built once), median of {runs}: {reload_m:.2f} s with macros, "
          f"{reload_b:.2f} s bare: ratio {reload_m / reload_b:.2f}x (target <= 1.2x)")


def synthetic_data(n: int) -> values.Data:
    """The default universe plus `n` synthetic tickers, 10 years of sessions each: every claim,
    watch item and chart of the default site resolves, so their histories are part of the cost."""
    base = keys.load_universe()
    end = dt.date(2026, 1, 16)
    days = sessions.sessions(end - dt.timedelta(days=365 * YEARS), end)
    rng = np.random.default_rng(0)
    aliases = list(base.symbols) + [f"t{i:04d}" for i in range(n)]
    closes = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, (len(days), len(aliases))), axis=0)),
                          index=days, columns=aliases)
    symbols = base.model_dump(mode="json")["symbols"] | {a: {"ticker": a.upper(), "name": f"Ticker {a}"}
                                                         for a in aliases[len(base.symbols):]}
    universe = config.Universe.model_validate(base.model_dump(mode="json") | {"symbols": symbols})
    volumes = pd.DataFrame({a: rng.integers(1e6, 5e7, len(days)).astype(float) for a in universe.volume_symbols},
                           index=days)
    by_series = sample.sample_macro([m.series for m in universe.macro.values()], end)
    macro = {a: by_series[m.series] for a, m in universe.macro.items() if m.series in by_series}
    return values.Data(closes, volumes, macro, universe, {a: f"synthetic:{a}" for a in aliases})


def bench_compute(n: int) -> tuple[float, float]:
    data = synthetic_data(n)
    # A fresh Data each run: nothing computed by an earlier run is reused.
    fresh = lambda: values.Data(data.closes, data.volumes, data.macro, data.universe, data.sources)  # noqa: E731
    compute(fresh())  # warm-up: imports and first-call costs
    timings = []
    for _ in range(3):
        run = fresh()
        t0 = time.perf_counter()
        metrics, claims, _, _ = compute(run)
        timings.append(time.perf_counter() - t0)
    elapsed = min(timings)
    tracemalloc.start()  # a separate run: tracing slows the code it measures
    compute(fresh())
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert len(metrics) > n * 20 and len(claims) == len(data.universe.claims)
    return elapsed, peak


INCREMENTAL_SYMBOLS = 500
# The warm run's session and the timed run's: the next session, fetched the evening it closed.
WARM_NOW = pd.Timestamp("2026-01-15 22:00", tz="UTC")
NEXT_NOW = pd.Timestamp("2026-01-16 22:00", tz="UTC")


def incremental_universe(n: int = INCREMENTAL_SYMBOLS) -> dict:
    """The default universe's config grown to `n` symbols with generated tickers, 10 years back."""
    import yaml

    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text(encoding="utf-8"))
    extra = n - len(raw["symbols"])
    raw["symbols"] |= {f"g{i:03d}": {"ticker": f"G{i:03d}", "name": f"Generated {i}"} for i in range(extra)}
    raw["history_start"] = (NEXT_NOW.date() - dt.timedelta(days=365 * YEARS)).isoformat()
    return raw


class _LocalMarket:
    """Yahoo (through tests.fakes.yahoo) and FRED answering on 127.0.0.1; `publish(now)` moves
    the market's clock (the sessions served end at the last one completed by then)."""

    def __init__(self, raw: dict):
        from tests.fakes.yahoo import Listing, YahooFake, make_bars

        universe = config.Universe.model_validate(raw)
        days = [d.date() for d in sessions.sessions(dt.date.fromisoformat(raw["history_start"]), NEXT_NOW.date())]
        self.bars = {s.ticker: make_bars(days, seed=i + 1, base=2000.0 if s.ticker.startswith("^") else 100.0,
                                         adj_ratio=None if s.ticker.startswith("^") else 0.99)
                     for i, s in enumerate(universe.symbols.values())}
        self.macro = sample.sample_macro([m.series for m in universe.macro.values()], NEXT_NOW.date())
        self.listing, self.fake_class, self.fake, self.through = Listing, YahooFake, YahooFake({}), None
        market = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept open between requests, as Yahoo's are
            # Headers and body go out as two writes; with Nagle's algorithm on, the body waits for
            # the client's delayed ACK of the headers (40 ms a request), which no real server adds.
            disable_nagle_algorithm = True

            def log_message(self, *_args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/fredgraph.csv":
                    status, body, ctype = market.fred(params)
                else:
                    _, host, path = urllib.parse.unquote(url.path).split("/", 2)  # ^RUT arrives as %5ERUT
                    status, body, ctype = market.yahoo(host, "/" + path, params)
                data = body.encode("utf-8")
                self.send_response(status)
                if url.path.startswith("/fc.yahoo.com"):  # as Yahoo does: one cookie, kept for a year
                    self.send_header("Set-Cookie", "A3=d=AQABBbench&S=AQAAAbench; Max-Age=31557600; "
                                     "Domain=.yahoo.com; Path=/; SameSite=None; Secure; HttpOnly")
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, now: pd.Timestamp) -> None:
        self.through = pd.Timestamp(sessions.last_completed_session(now))

    def yahoo(self, host: str, path: str, params: dict):
        if path.startswith("/v8/finance/chart/"):
            symbol = path.rsplit("/", 1)[1]
            bars = self.bars.get(symbol)
            if bars is not None:  # only the requested window is turned into JSON (the fake does every bar)
                bars = bars.loc[: self.through]
                if "period1" in params:
                    first = pd.Timestamp(int(params["period1"]), unit="s").normalize()
                    bars = bars.loc[first - pd.Timedelta(days=1):] if len(bars.loc[first:]) else bars.iloc[-1:]
                else:  # range=1d: yfinance learning the timezone
                    bars = bars.iloc[-5:]
                one = self.fake_class({symbol: self.listing(bars, instrument_type="INDEX" if symbol[0] == "^" else "ETF")})
                return one._route(host, path, params)
        return self.fake._route(host, path, params)

    def fred(self, params: dict):
        series = self.macro.get(params.get("id"))
        if series is None:
            return 404, "not found", "text/plain"
        series = series.loc[: self.through]
        if params.get("cosd"):
            series = series.loc[pd.Timestamp(params["cosd"]):]
        return 200, series.rename(params["id"]).to_csv(index_label="observation_date", date_format="%Y-%m-%d"), "text/csv"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _child(port: str, now: str, config_path: str, cache_dir: str, out: str) -> NoReturn:
    """One scheduled run as `python -m build_data` makes it (and ends it), its Yahoo requests sent
    to the fake on 127.0.0.1."""
    import requests
    import yfinance
    from requests.adapters import HTTPAdapter

    from build_data import __main__ as cli

    class ToLocal(HTTPAdapter):
        def send(self, request, **kwargs):
            original = request.url
            url = urllib.parse.urlsplit(original)
            request.url = f"http://127.0.0.1:{port}/{url.hostname}{url.path}" + (f"?{url.query}" if url.query else "")
            try:
                return super().send(request, **kwargs)
            finally:  # the cookie jar files what comes back under Yahoo's host, as it would be
                request.url = original

    http = requests.Session()
    http.mount("https://", ToLocal())
    http.mount("http://", ToLocal())
    yfinance.set_tz_cache_location(str(Path(cache_dir) / "yfinance"))
    made = cli._options
    cli._options = lambda args: made(args).__class__(**{**made(args).__dict__, "yahoo_session": http,
                                                       "now": pd.Timestamp(now)})
    cli.run(["--source", "yahoo", "--config", config_path, "--cache-dir", cache_dir, "--out", out,
             "--fred-url", f"http://127.0.0.1:{port}/fredgraph.csv", "--fetch-timeout", "120"])


def _files(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


def bench_incremental(n: int = INCREMENTAL_SYMBOLS) -> tuple[float, float, float]:
    """(wall s, peak RSS MB, MB written to the cache) of the daily incremental run."""
    import yaml

    raw = incremental_universe(n)
    market = _LocalMarket(raw)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            config_path = root / "universe.yml"
            config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
            cache_dir, out = root / "cache", root / "out"

            def run(now: pd.Timestamp) -> tuple[float, float]:
                market.publish(now)
                return _timed_build([sys.executable, "-m", "tests.tools.bench", "--child", str(market.port),
                                     now.isoformat(), str(config_path), str(cache_dir), str(out)])

            warm = run(WARM_NOW)
            print(f"{n} symbols, full run (empty cache, {YEARS} years each): {warm[0]:.1f} s, {warm[1]:.0f} MB peak",
                  flush=True)
            before = _files(cache_dir)
            wall, peak = run(NEXT_NOW)
            after = _files(cache_dir)
            written = sum(size for path, (ino, mtime, size) in after.items()
                          if before.get(path, (None, None, None))[:2] != (ino, mtime))
            print(f"{n} symbols, daily incremental run: {wall:.1f} s, {peak:.0f} MB peak, "
                  f"{written / 2**20:.2f} MB written (target <= 10 s, <= 400 MB)", flush=True)
            t0 = time.perf_counter()
            got = [cache.load_prices(cache_dir, s["ticker"]) for s in raw["symbols"].values()]
            read = time.perf_counter() - t0
            print(f"{n} symbols, reading the cache: {read:.2f} s for {sum(1 for g in got if g)} series, "
                  f"{sum(len(g.data) for g in got if g):,} rows", flush=True)
    finally:
        market.close()
    return wall, peak, written


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        _child(*sys.argv[2:7])
    bench_incremental()
    if sys.argv[1:2] == ["--incremental"]:
        return
    bench_cli()
    bench_site()
    rows = []
    for n in (500, 2000):
        elapsed, peak = bench_compute(n)
        rows.append((n, elapsed, peak))
        print(f"compute, {n:>5} tickers x {YEARS} years: {elapsed:.2f} s (best of 3), {elapsed / n * 1e3:.2f} ms/ticker, "
              f"peak traced memory {peak:.0f} MB")
    (n0, t0, _), (n1, t1, _) = rows[0], rows[-1]
    print(f"growth: {n1 / n0:.0f}x tickers -> {t1 / t0:.1f}x time (linear would be {n1 / n0:.0f}x); target <= 1 s at 2,000, growth <= 4.4x")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    site = ROOT / "site"
    if (site / "index.html").is_file():
        from tests.tools.pageweight import main as weights
        print("page weight (budget: 150 KB gzip for pages without charts, search excluded):")
        weights([str(site)])


if __name__ == "__main__":
    main()
