"""Command line: the only place that knows paths and flags.

    python -m build_data [--source auto|yahoo|csv|sample] [--data-dir DIR] [--as-of YYYY-MM-DD] [--out DIR]
    python -m build_data show KEY [--json] [--out DIR]
    python -m build_data list [--patterns | --charts]
    python -m build_data archive --from DATE --to DATE --every week [same options]
    python -m build_data review [--out DIR] [--pages DIR]
    python -m build_data verdict [--out DIR]
    python -m build_data schema [--write]

`show` and `list` answer at once: they read the written snapshot, or the catalog and config,
and import nothing of the pipeline (pandas, yfinance, altair load only for a build).
"""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from build_data.errors import BuildError

COMMANDS = ("build", "show", "list", "review", "verdict", "archive", "new", "clean", "schema")
SITE_HELP = "the site folder: its mkdocs.yml names its pages, config, facts and output (default: the project's root)"


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
    g.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    g.add_argument("--out", type=Path, help="output folder (default: the folder of the site's extra.snapshot, "
                                             "docs/generated)")
    g.add_argument("--cache-dir", type=Path, help="raw data cache (default: the site's .cache/market-data)")
    g.add_argument("--config", type=Path, help="site config: symbols, charts, claims (default: the site's, "
                                                "extra.site_config in its mkdocs.yml)")
    g.add_argument("--facts", type=Path, help="sourced-facts file (default: the site's, extra.site_facts)")
    g.add_argument("--fred-url", help="FRED CSV endpoint (default: FRED's public fredgraph.csv)")
    g.add_argument("--fred-api-url", help="FRED API observations endpoint, used when FRED_API_KEY is set "
                                          "(default: https://api.stlouisfed.org/fred/series/observations)")
    g.add_argument("--fetch-timeout", type=float, default=90.0, metavar="SECONDS",
                   help="upper bound on the whole live fetch (default: 90)")
    g.add_argument("--lock-timeout", type=float, default=600.0, metavar="SECONDS",
                   help="how long to wait for another build using the same output or cache folder (default: 600)")
    g.add_argument("--require-all", action="store_true", help="fail if any series has no usable data")
    g.add_argument("--pages", type=Path,
                   help="the site's Markdown pages, whose `rests_on` front matter ties sections to claims "
                        "(default: the site's docs_dir)")
    g.add_argument("--strict-claims", action="store_true",
                   help="fail if a page section rests on a claim that no longer holds, a claim badge's section has "
                        "no state-aware text, or a dated passage (until) is overdue")
    g.add_argument("--if-missing", action="store_true",
                   help="for previews: keep the site's last snapshot if it has one; else build without the network, "
                        "from the cache if it holds prices, else from the sample")
    g.add_argument("-v", "--verbose", action="store_true", help="list each expired fact, not only their count")
    g.add_argument("--site-url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000/"),
                   help="the site's public address, for links in the change feeds (default: $SITE_URL)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m build_data",
        description="Build the market-data snapshot (metrics.json, chart specs and SVG fallbacks) that the site's "
                    "pages read. With no command, builds, with the options below. Progress goes to stderr; "
                    "exit status is non-zero on failure.")
    # The build options, shown by the top-level --help too (building is the default command).
    _build_options(p)
    sub = p.add_subparsers(dest="command", title="commands")
    b = sub.add_parser("build", help="build the snapshot and charts (the default command)")
    _build_options(b)
    s = sub.add_parser("show", help="print one metric of the last build, e.g. `show rut.rsi_14` (never fetches)")
    s.add_argument("key", help="metric key, such as rut.ret_ytd, in any case (see `list`)")
    s.add_argument("--json", action="store_true", help="print the metric's full JSON entry")
    s.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    s.add_argument("--out", type=Path, help="folder holding the snapshot (default: the site's)")
    lst = sub.add_parser("list", help="print every metric key with its unit and label (from the catalog and config)")
    what = lst.add_mutually_exclusive_group()
    what.add_argument("--patterns", action="store_true", help="print the catalog's key patterns and definitions instead")
    what.add_argument("--charts", action="store_true",
                      help="print each chart the config declares instead: id, kind, series, title (* the card)")
    lst.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    lst.add_argument("--config", type=Path, help="site config (default: the site's)")
    r = sub.add_parser("review", help="print, as JSON, one issue (title and body) per claim that a page section "
                                      "rests on and that no longer holds, from the last snapshot")
    r.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    r.add_argument("--out", type=Path, help="folder holding the snapshot (default: the site's)")
    r.add_argument("--pages", type=Path, help="the site's Markdown pages (default: the site's docs_dir)")
    v = sub.add_parser("verdict", help="exit 0 if the built snapshot may be deployed, else 1, with the reason")
    v.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    v.add_argument("--out", type=Path, help="output folder holding metrics.json (default: the site's)")
    n = sub.add_parser("new", help="create a new microsite in DIR: mkdocs.yml, pages, site config and facts, "
                                   "ready to build offline (`make site SITE=DIR`)")
    n.add_argument("dir", type=Path, metavar="DIR", help="the new site's folder (must not exist, or be empty)")
    n.add_argument("--title", help="the site's title (default: from the folder's name)")
    c = sub.add_parser("clean", help="remove the site's built site/ and its generated output (keeps the cache)")
    c.add_argument("--site", type=Path, metavar="DIR", help=SITE_HELP)
    sc = sub.add_parser("schema", help="print the site config's JSON Schema (editor completions and checks), "
                                       "from the config models")
    sc.add_argument("--write", action="store_true",
                    help="write it to build_data/site-config.schema.json instead, which universe.yml names")
    from build_data import archive

    archive.add_parser(sub, _build_options)  # build_data/archive.py
    return p


def command_first(argv: list[str], p: argparse.ArgumentParser) -> list[str]:
    """`--config X list` reads as `list --config X`: a command after options moves to the front."""
    takes_value = {opt for action in p._actions for opt in action.option_strings if action.nargs != 0}
    for action in p._actions:  # the build options live on the `build` subparser too
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                takes_value |= {opt for a in sp._actions for opt in a.option_strings if a.nargs != 0}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in COMMANDS:
            return [token, *argv[:i], *argv[i + 1:]]
        if not token.startswith("-"):
            return argv
        i += 2 if token in takes_value else 1
    return argv


def with_site_defaults(args) -> None:
    """Each path an option leaves unset comes from the site's folder (build_data/site.py)."""
    from build_data import site as sites

    if args.command in ("new", "schema"):
        return
    site = sites.load(getattr(args, "site", None))
    args.site = site
    defaults = {"out": site.out, "cache_dir": site.cache, "config": site.config, "facts": site.facts,
                "pages": site.docs, "site_dir": site.built}
    for name, value in defaults.items():
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, value)


def _options(args):
    from build_data.fetch.gather import Options

    return Options(source=args.source, data_dir=args.data_dir, cache_dir=args.cache_dir, as_of=args.as_of,
                   fred_url=args.fred_url, fetch_timeout=args.fetch_timeout, require_all=args.require_all,
                   fred_api_key=os.environ.get("FRED_API_KEY") or None, fred_api_url=args.fred_api_url)


def suggest(key: str, keys, n: int = 3) -> list[str]:
    return difflib.get_close_matches(key, list(keys), n=n, cutoff=0.5)


def claims_report(snap: dict, previous: dict | None) -> list[str]:
    """For authors: which claims in the prose no longer hold, and what flipped since the last build."""
    claims = snap["claims"]
    failing = [(cid, c) for cid, c in claims.items() if c["holds"] is False]
    unknown = [(cid, c) for cid, c in claims.items() if c["holds"] is None]
    lines = [f"claims: {sum(t['holds'] for t in snap['tally'].values())} of {len(claims)} hold"]
    short = lambda v: f"{v:.4g}" if isinstance(v, float) else repr(v)
    lines += [f"  no longer holds: {c['page']} claim {cid!r}: {c['title']} ({c['metric']} = {short(c['value'])})"
              for cid, c in failing]
    lines += [f"  can't be checked: {c['page']} claim {cid!r}: {c.get('reason')}" for cid, c in unknown]
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
    """What the report compares with from the last build: its date, claims and watch items (the
    rest of a large universe's snapshot is not held through the build)."""
    try:
        snap = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {k: snap[k] for k in ("as_of", "claims", "watchlist") if k in snap} if isinstance(snap, dict) else None


def expired_facts_report(snap: dict, verbose: bool) -> list[str]:
    """Expired facts as one summary line (each one listed with --verbose)."""
    expired = {k: f for k, f in snap["facts"].items() if f["expired"]}
    if not expired:
        return []
    n = len(expired)
    lines = [f"warning: {n} fact{'s are' if n != 1 else ' is'} past {'their' if n != 1 else 'its'} maximum age"
             + ("" if verbose else " (-v lists them)")]
    if verbose:
        lines += [f"  fact {k!r} is {f['age_days']} days old, past its {f['max_age_days']}-day limit"
                  for k, f in expired.items()]
    return lines


def _tidy(args) -> None:
    """Under the lock: whatever a killed build left behind is ours to clean up."""
    from build_data.fetch.gather import stderr_log
    from build_data.publish import output

    output.recover(args.out, stderr_log)
    output.remove_temp_files(args.cache_dir, stderr_log)


def cmd_clean(args) -> int:
    import shutil

    site = args.site
    for folder in (site.built, site.root / ".site-next", site.out):
        if folder.exists():
            shutil.rmtree(folder)
            print(f"removed {folder}", file=sys.stderr)
    return 0


def cmd_build(args) -> int:
    if args.if_missing:
        if args.site.snapshot.is_file() and args.out == args.site.out:
            print(f"preview: the last snapshot, {args.site.snapshot} (make data refreshes it)", file=sys.stderr)
            return 0
        if args.source == "auto":
            args.source = "cache" if (args.cache_dir / "prices").is_dir() else "sample"
    import warnings

    import pandas as pd

    # yfinance still calls pandas APIs slated for removal: nothing an author can act on.
    warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
    from build_data import config
    from build_data.build import build, release_memory
    from build_data.compute import keys
    from build_data.fetch.gather import stderr_log
    from build_data.publish import feeds, render, snapshot

    if _ONE_RUN:  # everything imported so far lives to the end: full collections need not walk it
        gc.freeze()
    universe = keys.load_universe(args.config)
    facts = config.load_facts(args.facts)
    t0 = time.perf_counter()
    from build_data.publish import output
    from build_data.prose import review

    with output.locked([args.out, args.cache_dir], args.lock_timeout, stderr_log):
        _tidy(args)
        previous = _previous_snapshot(args.out)
        snap, chart_list = build(_options(args), universe, facts)
        release_memory()  # compute's tables are gone: the chart renderer starts from a smaller heap
        # Each change links to the section of the page that shows it (found from the pages' macro calls).
        snap["changes"] = feeds.with_urls(snap["changes"], feeds.anchors(args.pages, skip=args.out))
        reviews = review.under_review(snap, args.pages)
        prose = review.prose_report(snap, args.pages)
        for line in (claims_report(snap, previous) + review.report_lines(reviews)
                     + [f"  warning: {p}" for p in prose] + expired_facts_report(snap, args.verbose)):
            stderr_log(line)
        if (reviews or prose) and args.strict_claims:
            what = [f"{len(reviews)} page section(s) rest on claims that no longer hold"] if reviews else []
            what += [f"{len(prose)} claim badge(s) without state-aware text or overdue dated passage(s)"] if prose else []
            raise BuildError(f"{'; '.join(what)} (--strict-claims); nothing written")
        render.publish(args.out, snapshot.to_dict(snap), chart_list, stderr_log, changes=snap["changes"],
                       site_url=args.site_url, site_name=args.site.name, feed_folder=args.site.out_in_site)
    nulls = [k for k, v in snap["metrics"].items() if v["value"] is None]
    stderr_log(f"wrote {args.out}/metrics.json: {len(snap['metrics'])} metrics ({len(nulls)} empty, with reasons), "
               f"{len(chart_list)} charts, data mode {snap['data_mode']}, as of {snap['as_of']} "
               f"in {time.perf_counter() - t0:.1f}s")
    return 0


def find_key(key: str, keys, what: str = "metric key") -> str:
    """The key as written in the snapshot, matched in any case; else an error with the closest keys."""
    by_lower = {k.lower(): k for k in keys}
    if key.lower() in by_lower:
        return by_lower[key.lower()]
    close = [by_lower[k] for k in suggest(key.lower(), by_lower)]
    hint = f"; did you mean {', '.join(close)}?" if close else "; `python -m build_data list` prints every key"
    raise BuildError(f"unknown {what} {key!r}{hint}")


def _read_snapshot(out: Path) -> dict:
    path = out / "metrics.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"no snapshot at {path}: build one first with `python -m build_data` (or `make data`; "
                         "`--source sample` works offline, `--as-of YYYY-MM-DD` for a past day)") from None
    except ValueError as e:
        raise BuildError(f"{path}: not valid JSON ({e}); rebuild it with `python -m build_data`") from None


def cmd_review(args) -> int:
    from build_data.prose import review

    print(json.dumps(review.issues(review.under_review(_read_snapshot(args.out), args.pages)), indent=1))
    return 0


def cmd_show(args) -> int:
    snap = _read_snapshot(args.out)
    key = find_key(args.key, snap["metrics"])
    entry = snap["metrics"][key]
    if args.json:
        print(json.dumps({"key": key, "data_mode": snap["data_mode"], "as_of_snapshot": snap["as_of"], **entry},
                         sort_keys=True))
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
    from build_data import config
    from build_data.compute.keys import load_universe, metric_keys

    if args.charts:
        universe = config.load_universe(args.config, keys_only=True)
        for cid, c in universe.charts.items():
            card = "*" if cid == universe.card_chart else " "
            print(f"{cid:<24}{card} {c.kind:<12} {','.join(c.series_list()):<28} {universe.chart_title(cid)}")
        return 0

    for key, (unit, label) in metric_keys(load_universe(args.config, keys_only=True)).items():
        print(f"{key:<40} {unit:<14} {label}")
    return 0


def cmd_verdict(args) -> int:
    """The deploy gate: reads the verdict the build wrote (publish: in universe.yml decides it)."""
    path = args.out / "metrics.json"
    try:
        snap = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path}: no readable snapshot ({exc.__class__.__name__})") from None
    if "publishable" not in snap:
        raise BuildError(f"{path}: the snapshot carries no publish verdict; rebuild it")
    print(f"{'publishable' if snap['publishable'] else 'not publishable'}: {snap['publishable_reason']}")
    return 0 if snap["publishable"] is True else 1


def cmd_schema(args) -> int:
    from build_data import schema

    if args.write:
        print(f"wrote {schema.write()}", file=sys.stderr)
    else:
        sys.stdout.write(schema.schema_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        close = suggest(argv[0], COMMANDS, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"the commands are {', '.join(COMMANDS)}"
        print(f"error: unknown command {argv[0]!r}; {hint}", file=sys.stderr)
        return 2
    p = parser()
    argv = command_first(argv, p)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = p.parse_args(argv)
    try:
        with_site_defaults(args)
        if args.command == "new":
            from build_data import scaffold

            return scaffold.run(args)
        if args.command == "archive":
            from build_data import archive

            return archive.run(args)
        return {"build": cmd_build, "show": cmd_show, "list": cmd_list, "review": cmd_review,
                "verdict": cmd_verdict, "clean": cmd_clean, "schema": cmd_schema}[args.command](args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a read-only folder: the output folder is left as it was
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


# Set by run(): this process makes one run of one command and then ends.
_ONE_RUN = False


def run(argv: list[str] | None = None) -> NoReturn:
    """`python -m build_data`: main() in a process that ends with it, so it skips the work a
    long-lived process needs. A build allocates millions of objects that live until it ends, so
    the collector of reference cycles runs seldom (its default runs about a thousand times in a
    large build, for nothing) and never walks what the imports made. At the end the process exits
    without freeing its heap object by object: every file was written and closed by then (writes
    are atomic), and stdout and stderr are flushed first."""
    global _ONE_RUN
    _ONE_RUN = True
    gc.set_threshold(50_000, 20, 100)
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
