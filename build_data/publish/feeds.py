"""The change log as feeds: JSON Feed 1.1 and RSS 2.0 (pure text; render writes them), and
where on the site each change is shown (its page and anchor), for the feeds and the pages.

Each item carries the change's sentence with its value ("Russell 2000 RSI-14 crossed above 70
(71.5): …") and links to the section that shows the claim, watch item, level or target on its
page; one with no such section links to the Changes page.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

PAGE = "changes/"
# The macro calls that put an anchor on a page: claim("id") gives the claim's badge the anchor
# claim-id; the tables give each row its own (watch-ID, level-NAME, target-NAME, metric-KEY).
_CALLS = ((re.compile(r"\{\{-?\s*claim\(\s*[\"']([^\"']+)[\"']"), "claim-{}"),
          (re.compile(r"\{\{-?\s*watch_table\("), "watch-"),
          (re.compile(r"\{\{-?\s*levels_table\("), "level-"),
          (re.compile(r"\{\{-?\s*targets_table\("), "target-"),
          (re.compile(r"\{\{-?\s*metrics_table\("), "metric-"))


def feed_title(site_name: str | None) -> str:
    """The feeds' title: the site's name (mkdocs.yml's site_name) and what the feed holds."""
    return f"{site_name}: signal changes" if site_name else "Signal changes"


def page_url(src: str) -> str:
    """A Markdown page's URL relative to the site root, as MkDocs makes it (directory URLs):
    "bear-case.md" -> "bear-case/", "index.md" -> "", "notes/index.md" -> "notes/"."""
    stem = src[:-3] if src.endswith(".md") else src
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def anchors(docs_dir: Path | None, skip: Path | None = None) -> dict[str, str]:
    """{anchor or anchor prefix: the URL of the page that shows it}, from the macro calls in the
    site's pages (the first page in path order wins; pages with `render_macros: false` and the
    build's own output folder `skip` are left out)."""
    from build_data.prose import review

    found: dict[str, str] = {}
    if docs_dir is None or not Path(docs_dir).is_dir():
        return found
    docs_dir = Path(docs_dir)
    for path in sorted(docs_dir.rglob("*.md")):
        if skip is not None and Path(skip).resolve() in path.resolve().parents:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if review.front_matter(text).get("render_macros") is False:
            continue
        url = page_url(path.relative_to(docs_dir).as_posix())
        for pattern, anchor in _CALLS:
            for match in pattern.finditer(text):
                found.setdefault(anchor.format(*match.groups()), url)
    return found


def locate(anchor: str | None, where: dict[str, str]) -> str | None:
    """The URL (page#anchor, relative to the site root) that shows `anchor`, or None."""
    if not anchor:
        return None
    page = where.get(anchor)
    if page is None:
        page = next((url for prefix, url in where.items() if prefix.endswith("-") and anchor.startswith(prefix)), None)
    return None if page is None else f"{page}#{anchor}"


def with_urls(changes: list[dict], where: dict[str, str]) -> list[dict]:
    """The changes, each with `url`: where its section is (None when no page shows it)."""
    return [{**c, "url": locate(c.get("anchor"), where)} for c in changes]


def change_id(change: dict) -> str:
    """The entry's anchor on the Changes page: change-DATE-KIND-ID."""
    what = f"{change.get('kind') or 'change'}-{change.get('id') or change.get('key') or ''}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"change-{change['date']}-{what}")


def _item_id(change: dict) -> str:
    return f"{change['date']}:{change.get('kind')}:{change.get('id')}:{change['text']}"


def _link(change: dict, base: str) -> str:
    return base + (change.get("url") or f"{PAGE}#{change_id(change)}")


def _close_time(day: str) -> dt.datetime:
    # Signals flip on a session's close; 21:00 UTC is the 16:00 New York close in winter time.
    return dt.datetime.fromisoformat(day).replace(hour=21, tzinfo=dt.timezone.utc)


def json_feed(changes: list[dict], site_url: str, *, title: str = feed_title(None), folder: str = "generated/") -> str:
    """`folder`: where the build's output sits in the site (the folder of mkdocs.yml's extra.snapshot).
    Each item's `_signal` extension holds the value (as a number and as the page shows it)."""
    base = site_url.rstrip("/") + "/"
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": base,
        "feed_url": base + folder.strip("/") + "/changes.json",
        "items": [{"id": _item_id(c), "url": _link(c, base), "title": c["text"], "content_text": c["text"],
                   "date_published": _close_time(c["date"]).isoformat().replace("+00:00", "Z"),
                   "tags": [t for t in (c.get("kind"), c.get("key")) if t],
                   "_signal": {"kind": c.get("kind"), "id": c.get("id"), "key": c.get("key"), "value": c.get("value"),
                               "value_text": c.get("value_text")}} for c in changes],
    }
    return json.dumps(feed, indent=1, ensure_ascii=False) + "\n"


def rss_feed(changes: list[dict], site_url: str, *, title: str = feed_title(None)) -> str:
    base = site_url.rstrip("/") + "/"
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    for tag, text in (("title", title), ("link", base + PAGE),
                      ("description", "Claims, watchlist items, levels, targets and records: what changed, with "
                                      "the value, recomputed at every build.")):
        ET.SubElement(channel, tag).text = text
    for c in changes:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = c["text"]
        ET.SubElement(item, "link").text = _link(c, base)
        ET.SubElement(item, "description").text = c["text"]
        ET.SubElement(item, "guid", isPermaLink="false").text = _item_id(c)
        ET.SubElement(item, "pubDate").text = email.utils.format_datetime(_close_time(c["date"]))
        if c.get("key"):
            ET.SubElement(item, "category").text = c["key"]
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"


# Material's instant navigation reads every <link rel="alternate"> as another version of the
# site and fetches a sitemap.xml beside it (here: beside the feeds). This one, with no URLs,
# answers that request: the feeds are declared in every page's head without a 404.
EMPTY_SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>\n')
