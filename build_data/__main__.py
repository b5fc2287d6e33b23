"""Command line: the only place that knows paths and flags.

    python -m build_data [--source auto|yahoo|csv|sample] [--data-dir DIR] [--as-of YYYY-MM-DD] [--out DIR]
    python -m build_data show KEY [--json] [same options]
    python -m build_data list [--patterns]
    python -m build_data archive --from DATE --to DATE --every week [same options]
"""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import os
import sys
import time
from pathlib import Path

from build_data import config
from build_data.build import build
from build_data.errors import BuildError
from build_data.fetch.gather import Options, stderr_log
from build_data.publish import archive, render, snapshot

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "generated"
DEFAULT_CACHE = ROOT / ".cache" / "market-data"
COMMANDS = ("build", "show", "list", "archive")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def _build_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--source", choices=["auto", "yahoo", "cache", "csv", "sample"], default="auto",
                   help="auto: live Yahoo+FRED, else the last good cache, else the built-in sample (default); "
                        "yahoo: live, else cache, never sample; cache: the local cache only, no network; "
                        "csv: files in --data-dir; sample: synthetic data")
    g.add_argument("--data-dir", type=Path, help="folder of SYMBOL.csv (Yahoo layout) and SERIES.csv (FRED layout) files")
    g.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                   help="build as of the close of this day, using no observation after it")
    g.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT.relative_to(ROOT)})")
    g.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                   help=f"raw data cache (default: {DEFAULT_CACHE.relative_to(ROOT)})")
    g.add_argument("--config", type=Path, default=config.DEFAULT_UNIVERSE, help="universe file (aliases, levels, claims)")
    g.add_argument("--facts", type=Path, default=config.DEFAULT_FACTS, help="sourced-facts file")
    g.add_argument("--fred-url", help="FRED CSV endpoint (default: FRED's public fredgraph.csv)")
    g.add_argument("--fetch-timeout", type=float, default=90.0, metavar="SECONDS",
                   help="upper bound on the whole live fetch (default: 90)")
    g.add_argument("--require-all", action="store_true", help="fail if any series has no usable data")
    g.add_argument("--site-url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000/"),
                   help="the site's public address, for links in the change feeds (default: $SITE_URL)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m build_data",
        description="Build the market-data snapshot (metrics.json, chart specs and SVG fallbacks) that the site's "
                    "pages read. With no command, builds. Progress goes to stderr; exit status is non-zero on failure.")
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("build", help="build the snapshot and charts (the default command)")
    _build_options(b)
    s = sub.add_parser("show", help="print one metric, e.g. `show rut.rsi_14`")
    s.add_argument("key", help="metric key, such as rut.ret_ytd (see `list`)")
    s.add_argument("--json", action="store_true", help="print the metric's full JSON entry")
    _build_options(s)
    lst = sub.add_parser("list", help="print every metric key with its unit and label")
    lst.add_argument("--patterns", action="store_true", help="print the catalog's key patterns and definitions instead")
    lst.add_argument("--config", type=Path, default=config.DEFAULT_UNIVERSE)
    archive.add_parser(sub, _build_options)  # build_data/publish/archive.py
    return p


def _options(args) -> Options:
    return Options(source=args.source, data_dir=args.data_dir, cache_dir=args.cache_dir, as_of=args.as_of,
                   fred_url=args.fred_url, fetch_timeout=args.fetch_timeout, require_all=args.require_all)


def suggest(key: str, keys) -> list[str]:
    return difflib.get_close_matches(key, list(keys), n=3, cutoff=0.5)


def claims_report(snap: dict, previous: dict | None) -> list[str]:
    """For authors: which claims in the prose no longer hold, and what flipped since the last build."""
    claims = snap["claims"]
    failing = [(cid, c) for cid, c in claims.items() if c["holds"] is False]
    unknown = [(cid, c) for cid, c in claims.items() if c["holds"] is None]
    lines = [f"claims: {sum(c['holds'] is True for c in claims.values())} of {len(claims)} hold"]
    short = lambda v: f"{v:.4g}" if isinstance(v, float) else repr(v)
    lines += [f"  no longer holds: {c['page']}-case {cid!r}: {c['title']} ({c['metric']} = {short(c['value'])})"
              for cid, c in failing]
    lines += [f"  can't be checked: {c['page']}-case {cid!r}: {c.get('reason')}" for cid, c in unknown]
    if previous:
        before = previous.get("claims", {})
        for cid, c in claims.items():
            if cid in before and before[cid].get("holds") != c["holds"]:
                lines.append(f"  changed since the last build ({previous.get('as_of')}): {cid!r} "
                             f"{before[cid].get('holds')} -> {c['holds']}")
        old_watch = previous.get("watchlist", {})
        for wid, w in snap["watchlist"].items():
            if wid in old_watch and old_watch[wid].get("status") != w["status"]:
                lines.append(f"  watchlist changed since the last build: {wid!r} {old_watch[wid].get('status')} -> {w['status']}")
    return lines


def _previous_snapshot(out: Path) -> dict | None:
    try:
        return json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cmd_build(args) -> int:
    universe, facts = config.load_universe(args.config), config.load_facts(args.facts)
    t0 = time.perf_counter()
    previous = _previous_snapshot(args.out)
    snap, chart_list = build(_options(args), universe, facts)
    for line in claims_report(snap, previous):
        stderr_log(line)
    render.write_all(args.out, snapshot.to_json(snap), chart_list, stderr_log, changes=snap["changes"],
                     site_url=args.site_url)
    nulls = [k for k, v in snap["metrics"].items() if v["value"] is None]
    stderr_log(f"wrote {args.out}/metrics.json: {len(snap['metrics'])} metrics ({len(nulls)} empty, with reasons), "
               f"{len(chart_list)} charts, data mode {snap['data_mode']}, as of {snap['as_of']} "
               f"in {time.perf_counter() - t0:.1f}s")
    return 0


def cmd_show(args) -> int:
    universe, facts = config.load_universe(args.config), config.load_facts(args.facts)
    existing = args.out / "metrics.json"
    explicit = args.as_of or args.source != "auto" or args.data_dir
    if existing.exists() and not explicit:
        snap = json.loads(existing.read_text(encoding="utf-8"))
    else:
        snap, _ = build(_options(args), universe, facts, log=lambda _msg: None)
    entry = snap["metrics"].get(args.key)
    if entry is None:
        close = suggest(args.key, snap["metrics"])
        hint = f"; did you mean {', '.join(close)}?" if close else "; `python -m build_data list` prints every key"
        raise BuildError(f"unknown metric key {args.key!r}{hint}")
    if args.json:
        print(json.dumps({"key": args.key, "data_mode": snap["data_mode"], **entry}, sort_keys=True))
    elif entry["value"] is None:
        print(f"— ({entry.get('reason')})")
    else:
        print(entry["value"])
    return 0


def cmd_list(args) -> int:
    if args.patterns:
        from build_data.compute.catalog import reference_rows
        for row in reference_rows():
            print(f"{row['pattern']:<36} {row['unit']:<14} {row['definition']}")
        return 0
    universe = config.load_universe(args.config)
    snap, _ = build(Options(source="sample"), universe, config.load_facts(), log=lambda _msg: None)
    for key, entry in sorted(snap["metrics"].items()):
        print(f"{key:<40} {entry['unit']:<14} {entry['label']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = parser().parse_args(argv)
    try:
        return {"build": cmd_build, "show": cmd_show, "list": cmd_list, "archive": archive.run}[args.command](args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
