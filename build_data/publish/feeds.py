"""The change log as feeds: JSON Feed 1.1 and RSS 2.0 (pure text; render writes them)."""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import xml.etree.ElementTree as ET

PAGE = "changes/"


def feed_title(site_name: str | None) -> str:
    """The feeds' title: the site's name (mkdocs.yml's site_name) and what the feed holds."""
    return f"{site_name}: signal changes" if site_name else "Signal changes"


def _item_id(change: dict) -> str:
    return f"{change['date']}:{change['kind']}:{change['id']}:{change['text']}"


def _close_time(day: str) -> dt.datetime:
    # Signals flip on a session's close; 21:00 UTC is the 16:00 New York close in winter time.
    return dt.datetime.fromisoformat(day).replace(hour=21, tzinfo=dt.timezone.utc)


def json_feed(changes: list[dict], site_url: str, *, title: str = feed_title(None), folder: str = "generated/") -> str:
    """`folder`: where the build's output sits in the site (the folder of mkdocs.yml's extra.snapshot)."""
    base = site_url.rstrip("/") + "/"
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": base,
        "feed_url": base + folder.strip("/") + "/changes.json",
        "items": [{"id": _item_id(c), "url": f"{base}{PAGE}", "title": c["text"], "content_text": c["text"],
                   "date_published": _close_time(c["date"]).isoformat().replace("+00:00", "Z"),
                   "tags": [c["kind"], c["key"]]} for c in changes],
    }
    return json.dumps(feed, indent=1, ensure_ascii=False) + "\n"


def rss_feed(changes: list[dict], site_url: str, *, title: str = feed_title(None)) -> str:
    base = site_url.rstrip("/") + "/"
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    for tag, text in (("title", title), ("link", base + PAGE),
                      ("description", "Claims and watchlist items whose status changed, recomputed at every build.")):
        ET.SubElement(channel, tag).text = text
    for c in changes:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = c["text"]
        ET.SubElement(item, "link").text = base + PAGE
        ET.SubElement(item, "guid", isPermaLink="false").text = _item_id(c)
        ET.SubElement(item, "pubDate").text = email.utils.format_datetime(_close_time(c["date"]))
        ET.SubElement(item, "category").text = c["key"]
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"
