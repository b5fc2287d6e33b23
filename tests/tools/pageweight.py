"""What each built page costs a reader to load: gzip bytes, before and after its charts hydrate.

Before hydration (what a reader gets first, and all a page without charts ever loads): the page,
its stylesheets, scripts and images (the charts' SVG fallbacks included). Hydration adds, on pages
with charts, the compiled chart specs and the chart runtime, which charts.js imports once per visit
and only when a chart nears the viewport or is touched. Not counted: the search index and its
worker, which load only when the reader opens search. A chart's <picture> counts as its <img>,
the wide SVG: a phone loads the narrow <source> instead, of about the same size.

Budgets (guarded by tests/test_real_site.py): a chart page <= 120 KB gzip before hydration, the
runtime <= 180 KB gzip, a page without charts <= 150 KB.

    python -m tests.tools.pageweight [SITE_DIR]    # default: site/
"""
from __future__ import annotations

import gzip
import re
import sys
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from build_data.publish.contract import VENDOR_BUNDLE

RUNTIME = f"generated/{VENDOR_BUNDLE}"
BUDGET_BEFORE_HYDRATION = 120 * 1024
BUDGET_RUNTIME = 180 * 1024
BUDGET_NO_CHARTS = 150 * 1024
FIRST = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*rel="stylesheet"[^>]*\shref|img[^>]*\ssrc)="([^"]+)"')
SPECS = re.compile(r'<figure[^>]*\sdata-spec="([^"]+)"')


@lru_cache(maxsize=None)
def gz_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def _local(site: Path, rel: str, refs: list[str]) -> set[Path]:
    files = set()
    for ref in refs:
        if urlsplit(ref).scheme or ref.startswith("//"):
            continue  # external: the site references none (a test checks), so nothing to count
        target = (site / urljoin(rel, ref.split("?")[0].split("#")[0])).resolve()
        if target.is_file():
            files.add(target)
    return files


def page_weight(site: Path, page: Path) -> dict:
    """{"page", "before" (gzip bytes before any chart hydrates), "hydrated" (the specs and the
    runtime it adds), "bytes" (the total), "files", "charts"} for one HTML page."""
    site = site.resolve()
    rel = page.resolve().relative_to(site).as_posix()
    html = page.read_text(encoding="utf-8")
    first = {page.resolve()} | _local(site, rel, FIRST.findall(html))
    later = _local(site, rel, SPECS.findall(html)) - first
    charts = 'class="chart' in html
    if charts and (site / RUNTIME).is_file():
        later.add((site / RUNTIME).resolve())
    before = sum(gz_size(f) for f in first)
    hydrated = sum(gz_size(f) for f in later)
    return {"page": rel, "before": before, "hydrated": hydrated, "bytes": before + hydrated,
            "files": len(first | later), "charts": charts}


def runtime_weight(site: Path) -> int | None:
    path = Path(site) / RUNTIME
    return gz_size(path.resolve()) if path.is_file() else None


def site_weights(site: Path) -> list[dict]:
    return [page_weight(site, p) for p in sorted(Path(site).rglob("index.html"))]


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else Path("site")
    if not (site / "index.html").is_file():
        print(f"no built site in {site}/: run `make site` first", file=sys.stderr)
        return 1
    print(f"{'page':<28} {'before hydration':>17} {'+ charts':>10} {'files':>6}")
    for w in site_weights(site):
        extra = f"{w['hydrated'] / 1024:7.1f} KB" if w["charts"] else "        -"
        print(f"{w['page']:<28} {w['before'] / 1024:11.1f} KB gz {extra:>10} {w['files']:>6}")
    runtime = runtime_weight(site)
    if runtime is not None:
        print(f"chart runtime ({RUNTIME}): {runtime / 1024:.1f} KB gzip, loaded at most once per visit "
              f"(budget {BUDGET_RUNTIME // 1024} KB); budget before hydration {BUDGET_BEFORE_HYDRATION // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
