"""Editorial text (universe.yml, facts.yml) reaches the pages as plain text: a hostile text in
every editorial field builds a site with no script, no event handler and no broken tag."""
from __future__ import annotations

import html
import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.site_fixtures import visible_text
from tests.test_real_site import REPO, real_site

HOSTILE = (
    "[were](x/contenteditable/autofocus/onfocus=alert(document.domain)//)",
    "[click](javascript:alert(1))",
    '" onmouseover="alert(1)" x="',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ metric('rut.close') }} {% raw %}",
    "*strong* _em_ `code` {: onclick=alert(1) } | cell |",
    "<a href='javascript:alert(1)'>x</a> ![i](javascript:alert(1))",
)
# Every field whose text an author writes and a page shows.
EDITORIAL = {"name", "label", "source", "title", "holds", "fails", "why", "text"}


# Claim and watch item texts take {threshold} and {clear}: a literal brace there is written {{ or }}.
SIGNAL_SECTIONS = {"claims", "watchlist"}


def poison(node, payloads, signal: bool = False):
    """The config with a hostile text appended to each editorial field (in place)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in EDITORIAL and isinstance(value, str):
                payload = next(payloads)
                if signal:  # as an author must write it; the page gets the payload itself
                    payload = payload.replace("{", "{{").replace("}", "}}")
                node[key] = f"{value} {payload}"
            elif key == "url":
                node[key] = "javascript:alert(document.domain)"
            else:
                poison(value, payloads, signal or key in SIGNAL_SECTIONS)
    elif isinstance(node, list):
        for value in node:
            poison(value, payloads, signal)
    return node


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if not re.fullmatch(r"[a-z][a-z0-9-]*", tag):
            self.problems.append(f"broken tag <{tag}>")
        for name, value in attrs:
            if not re.fullmatch(r"[a-z_:@][a-z0-9_:.-]*", name):
                self.problems.append(f"broken attribute {name!r} on <{tag}>")
            if name.startswith("on") or name in ("contenteditable", "autofocus", "formaction"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if value and re.match(r"\s*(javascript|vbscript|data):", value, re.I) and name in (
                    "href", "src", "action", "xlink:href", "data-spec", "poster", "srcset"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def problems_in(page: str) -> list[str]:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser.problems + [f"script with {s[:60]!r}" for s in parser.scripts if "alert(" in s]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    payloads = itertools.cycle(HOSTILE)
    config, facts = root / "universe.yml", root / "facts.yml"
    for src, dst in ((REPO / "build_data" / "universe.yml", config), (REPO / "build_data" / "facts.yml", facts)):
        dst.write_text(yaml.safe_dump(poison(yaml.safe_load(src.read_text()), payloads), allow_unicode=True))
    site, run, snap = real_site(root / "s", ["--source", "sample", "--as-of", "2026-01-16",
                                             "--config", str(config), "--facts", str(facts)])
    assert run.returncode == 0, run.stdout + run.stderr
    return site.html_pages()


def test_no_page_has_a_script_an_event_handler_or_a_broken_tag(hostile_site):
    assert {"bull-case/index.html", "bear-case/index.html", "watchlist/index.html"} <= set(hostile_site)
    for name, page in hostile_site.items():
        assert problems_in(page) == [], name


def test_hostile_texts_show_as_the_literal_text_the_author_wrote(hostile_site):
    """Plain text, not Markdown: the link syntax and the braces are visible, exactly as written."""
    shown = " ".join(html.unescape(visible_text(p)) for p in hostile_site.values())
    for payload in HOSTILE[:3] + HOSTILE[5:7]:
        assert payload in shown or any(payload in html.unescape(p) for p in hostile_site.values()), payload
    assert "<script>alert(1)</script>" in shown  # as text: the tag is escaped


def test_the_checker_catches_each_kind_of_injection():
    """The page checker itself: every injected shape the pages must never hold is reported."""
    for bad in ('<span title="x" onfocus="alert(1)">', '<a href="javascript:alert(1)">',
                '<span contenteditable autofocus>', '<span title="a"b"="">', "<script>alert(1)</script>"):
        assert problems_in(bad), bad
    assert problems_in('<span class="fact" title="[x](javascript:alert(1))">') == []
