"""An archive of past weeks: the whole site rebuilt as of each week's last session.

    python -m build_data archive --from 2026-01-01 --to 2026-02-28 --every week [data options] [--site-dir site]

For each week in the range, the last exchange session of that week (within the range) is the
as-of date D. The data build runs as `python -m build_data --as-of D` (same data options, so it
uses no observation after D), then MkDocs builds the real pages from it into
`SITE/archive/D/`, both on a scratch copy of the site (build_data/scratch.py). Each archived site:
- carries a banner "As rebuilt on TODAY from data up to D", with links to the current site and
  to the list of archived weeks;
- has no search index and no sitemap, and asks search engines not to index it;
- keeps the data banner of its own build (SAMPLE DATA, cached, CSV) but no staleness warning,
  since being old is the point.
`SITE/archive/index.html` lists every archived week. Weeks already in the archive are kept as
they are (`--rebuild` builds them again), and building the current site (`make site`) never
rebuilds them: the Makefile carries `site/archive/` over from one build to the next.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from build_data.errors import BuildError
from build_data.scratch import scratch_site

WEEK_INFO = "archive.json"  # in each week's folder: what the index page lists


def week_ends(start: dt.date, end: dt.date, calendar: str = "XNYS") -> list[dt.date]:
    """The last exchange session of each ISO week (Monday to Sunday) between start and end,
    both included; a week cut by `end` counts up to `end`."""
    if end < start:
        raise BuildError(f"archive: --to {end} is before --from {start}")
    from build_data import sessions  # the calendar (and pandas) only when weeks are built

    days = [d.date() for d in sessions.sessions(start, end, calendar)]
    last: dict[tuple[int, int], dt.date] = {}
    for d in days:
        last[d.isocalendar()[:2]] = d
    return sorted(last.values())


def _archive_config(base: dict, site_url: str, info: dict) -> dict:
    """The overrides for one archived week: its address, no search, and the archive banner."""
    plugins = [p for p in base.get("plugins", []) if p != "search" and not (isinstance(p, dict) and "search" in p)]
    return {"site_url": site_url, "plugins": plugins, "extra": {"archive": info}}


def _data_args(args) -> list[str]:
    """The data options of `archive`, for the build of each week (the scratch copy names the site)."""
    out = ["--source", args.source, "--cache-dir", str(args.cache_dir), "--fetch-timeout", str(args.fetch_timeout)]
    for flag, value in (("--config", args.config), ("--facts", args.facts)):
        if value is not None:  # unset: the build's own default file
            out += [flag, str(value)]
    if args.data_dir:
        out += ["--data-dir", str(args.data_dir)]
    if args.fred_url:
        out += ["--fred-url", args.fred_url]
    if getattr(args, "fred_api_url", None):
        out += ["--fred-api-url", args.fred_api_url]
    if args.require_all:
        out.append("--require-all")
    return out


def build_week(day: dt.date, args, site_dir: Path, base_url: str, today: dt.date, log) -> Path:
    """The site as of `day`, into site_dir/archive/DAY/ (built aside, then moved in place)."""
    target = site_dir / "archive" / day.isoformat()
    url = f"{base_url.rstrip('/')}/archive/{day.isoformat()}/"
    with tempfile.TemporaryDirectory(prefix=f"archive-{day}-") as tmp:
        sc = scratch_site(Path(tmp) / "scratch", args.site)
        sc.build_data("--as-of", day.isoformat(), *_data_args(args), "--site-url", url, check=f"archive {day}")
        snap = json.loads(sc.snapshot.read_text(encoding="utf-8"))
        info = {"as_of": snap["as_of"], "rebuilt_on": today.isoformat(), "data_mode": snap["data_mode"]}
        sc.configure(_archive_config(sc.base_config(), url, info))
        built = Path(tmp) / "site"
        sc.mkdocs_build(built, check=f"archive {day}")
        for name in ("sitemap.xml", "sitemap.xml.gz"):  # archived pages stay out of the sitemap
            (built / name).unlink(missing_ok=True)
        (built / WEEK_INFO).write_text(json.dumps(info, sort_keys=True), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{day.isoformat()}.new")
        shutil.rmtree(aside, ignore_errors=True)
        shutil.copytree(built, aside)
        if target.exists():
            shutil.rmtree(target)
        aside.rename(target)  # the week's folder is either the old one or the whole new one
    log(f"  archived {day}: data up to {info['as_of']} ({info['data_mode']}) -> {target}")
    return target


def index_html(weeks: list[dict], site_name: str = "") -> str:
    """The archive's index page: every archived week, newest first, and a link to the current site."""
    rows = "\n".join(
        f'      <li><a href="{html.escape(w["as_of"])}/">Week ending {html.escape(w["label"])}</a>'
        f' <span class="meta">data up to <time datetime="{html.escape(w["as_of"])}">{html.escape(w["as_of"])}</time>,'
        f' rebuilt on <time datetime="{html.escape(w["rebuilt_on"])}">{html.escape(w["rebuilt_on"])}</time>'
        f'{" (" + html.escape(w["data_mode"]) + " data)" if w.get("data_mode") in ("sample", "csv", "cache") else ""}'
        f'</span></li>'
        for w in weeks)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Archive of past weeks{" · " + html.escape(site_name) if site_name else ""}</title>
  <meta name="description" content="The site as it stood at the end of each past week, rebuilt from data up to that week's last session.">
  <style>
    body {{ font: 1rem/1.6 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;
           color: #1f1f1f; background: #fff; }}
    a {{ color: #303fa1; }}
    .meta {{ color: #555; font-size: 0.9em; }}
    li {{ margin: 0.4em 0; }}
    @media (prefers-color-scheme: dark) {{
      body {{ color: #e2e4e9; background: #1e2129; }} a {{ color: #9fa8ff; }} .meta {{ color: #b8bcc6; }}
    }}
  </style>
</head>
<body>
  <main>
    <h1>Archive of past weeks</h1>
    <p>Each week's site, rebuilt from data up to that week's last session: the numbers, charts and
    signals as they stood then. <a href="../">Back to the current site</a>.</p>
    <ul>
{rows}
    </ul>
  </main>
</body>
</html>
"""


def write_index(site_dir: Path, site_name: str = "") -> Path:
    weeks = []
    for info_file in sorted((site_dir / "archive").glob(f"*/{WEEK_INFO}"), reverse=True):
        info = json.loads(info_file.read_text(encoding="utf-8"))
        day = dt.date.fromisoformat(info["as_of"])
        weeks.append({**info, "label": f"{day:%a %b} {day.day}, {day.year}"})
    path = site_dir / "archive" / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(index_html(weeks, site_name), encoding="utf-8")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- command line

def add_parser(sub, data_options) -> None:
    """The `archive` subcommand; `data_options` adds the build's data flags (--source, ...)."""
    a = sub.add_parser("archive", help="build the site as of each past week's last session into SITE/archive/DATE/")
    a.add_argument("--from", dest="start", type=dt.date.fromisoformat, required=True, metavar="YYYY-MM-DD",
                   help="first day of the range")
    a.add_argument("--to", dest="end", type=dt.date.fromisoformat, required=True, metavar="YYYY-MM-DD",
                   help="last day of the range")
    a.add_argument("--every", choices=["week"], default="week", help="one archived site per week (the default)")
    a.add_argument("--site-dir", type=Path, help="the built site to add archive/ to (default: the site's site/)")
    a.add_argument("--rebuild", action="store_true", help="rebuild weeks already in the archive (default: keep them)")
    data_options(a)


def run(args, log=None) -> int:
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if args.as_of:
        raise BuildError("archive: use --from and --to; each week is built as of its own last session")
    t0 = time.perf_counter()
    days = week_ends(args.start, args.end)
    if not days:
        raise BuildError(f"archive: no exchange session between {args.start} and {args.end}")
    today = dt.datetime.now(dt.timezone.utc).date()
    built = kept = 0
    for day in days:
        if (args.site_dir / "archive" / day.isoformat() / WEEK_INFO).is_file() and not args.rebuild:
            log(f"  kept {day}: already archived")
            kept += 1
            continue
        build_week(day, args, args.site_dir, args.site_url, today, log)
        built += 1
    index = write_index(args.site_dir, args.site.name)
    log(f"archive: {built} week(s) built, {kept} kept, index {index} ({time.perf_counter() - t0:.0f}s)")
    return 0
