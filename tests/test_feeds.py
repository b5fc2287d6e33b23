"""The change log feeds: valid RSS 2.0 and JSON Feed 1.1, one item per change."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from build_data.compute import signals
from build_data.publish import feeds

CHANGES = [
    {"date": "2026-01-16", "key": "rut.rsi_14", "kind": "watch", "id": "rsi", "text": "RSI-14 above 70: near → triggered"},
    {"date": "2026-01-14", "key": "levels.breakout_above", "kind": "claim", "id": "breakout",
     "text": "The 2,500 breakout holds: now holds & <stays>"},
]


def test_rss_is_valid_and_escapes_text():
    root = ET.fromstring(feeds.rss_feed(CHANGES, "https://example.org/site"))
    items = root.findall("./channel/item")
    assert root.tag == "rss" and len(items) == 2
    assert items[1].findtext("title") == "The 2,500 breakout holds: now holds & <stays>"
    # Without a page that shows it, an item links to its own entry on the Changes page.
    assert items[0].findtext("link") == "https://example.org/site/changes/#change-2026-01-16-watch-rsi"
    assert items[0].findtext("pubDate") == "Fri, 16 Jan 2026 21:00:00 +0000"
    assert len({i.findtext("guid") for i in items}) == 2


def test_json_feed_shape():
    feed = json.loads(feeds.json_feed(CHANGES, "https://example.org/site/"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://example.org/site/generated/changes.json"
    assert [i["date_published"] for i in feed["items"]] == ["2026-01-16T21:00:00Z", "2026-01-14T21:00:00Z"]


def test_change_log_lists_every_flip_once_newest_first(sample_snapshot):
    """Every claim and watch item flip is in the log exactly once (merged entries list each
    item they stand for), besides the number events (levels, targets, records, streaks)."""
    changes = sample_snapshot["changes"]
    flips = sorted((f["date"], "claim", cid) for cid, c in sample_snapshot["claims"].items() for f in c["flips"])
    flips += sorted((f["date"], "watch", wid) for wid, w in sample_snapshot["watchlist"].items() for f in w["flips"])
    listed = [(c["date"], i["kind"], i["id"]) for c in changes for i in c["items"] if i["kind"] in ("claim", "watch")]
    assert sorted(listed) == sorted(flips) and flips
    assert [c["date"] for c in changes] == sorted((c["date"] for c in changes), reverse=True)
    assert all(c["text"] for c in changes)


def test_flips_are_read_from_the_state_history():
    import pandas as pd
    states = pd.Series(["clear", "clear", "near", "triggered", "near"],
                       index=pd.bdate_range("2026-01-05", periods=5))
    changes = signals.track(states, confirm=1)["changes"]
    flips = signals._flips(changes, pd.Timestamp("2026-01-07"))
    assert flips == [{"date": "2026-01-07", "from": "clear", "to": "near"},
                     {"date": "2026-01-08", "from": "near", "to": "triggered"},
                     {"date": "2026-01-09", "from": "triggered", "to": "near"}]
    assert signals._flips(changes, pd.Timestamp("2026-01-09")) == [flips[-1]]


def test_the_feeds_carry_the_sites_name_and_its_output_folder():
    """A second site's feeds name that site and point at its own output folder, not the default's."""
    feed = json.loads(feeds.json_feed(CHANGES, "https://example.org/semis/", title=feeds.feed_title("Chips vs the market"),
                                      folder="data/"))
    assert feed["title"] == "Chips vs the market: signal changes"
    assert feed["feed_url"] == "https://example.org/semis/data/changes.json"
    rss = ET.fromstring(feeds.rss_feed(CHANGES, "https://example.org/semis", title=feeds.feed_title("Chips")))
    assert rss.find("channel/title").text == "Chips: signal changes"
    assert feeds.feed_title(None) == "Signal changes"
