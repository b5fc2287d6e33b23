"""What each built page costs a reader to load: gzip bytes of the HTML and everything it pulls in.

Counted: the page, its stylesheets, scripts and images, and on pages with charts the chart specs
and the chart runtime (charts.js imports it only there). Not counted: the search index and its
worker, which load only when the reader opens search.

    python -m build_data.tools.pageweight [SITE_DIR]    # default: site/
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
REFS = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*rel="stylesheet"[^>]*\shref|img[^>]*\ssrc|figure[^>]*\sdata-spec)="([^"]+)"')


@lru_cache(maxsize=None)
def gz_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def page_weight(site: Path, page: Path) -> dict:
    """{"page", "bytes" (gzip total), "files", "charts"} for one HTML page."""
    site = site.resolve()
    rel = page.resolve().relative_to(site).as_posix()
    html = page.read_text(encoding="utf-8")
    files = {page.resolve()}
    for ref in REFS.findall(html):
        if urlsplit(ref).scheme or ref.startswith("//"):
            continue  # external: the site references none (a test checks), so nothing to count
        target = (site / urljoin(rel, ref.split("?")[0].split("#")[0])).resolve()
        if target.is_file():
            files.add(target)
    charts = 'class="chart' in html
    if charts and (site / RUNTIME).is_file():
        files.add((site / RUNTIME).resolve())
    return {"page": rel, "bytes": sum(gz_size(f) for f in files), "files": len(files), "charts": charts}


def site_weights(site: Path) -> list[dict]:
    return [page_weight(site, p) for p in sorted(Path(site).rglob("index.html"))]


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else Path("site")
    if not (site / "index.html").is_file():
        print(f"no built site in {site}/: run `make site` first", file=sys.stderr)
        return 1
    for w in site_weights(site):
        kind = "charts" if w["charts"] else "no charts"
        print(f"{w['page']:<28} {w['bytes'] / 1024:7.1f} KB gzip  ({w['files']} files, {kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
