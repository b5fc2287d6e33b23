"""The build snapshot (metrics.json) as the pages see it: load, look up, format, embed.

The methods below that carry a docstring aimed at authors are the page macros; `define_env`
registers them. They only look values up and format them: the numbers, the comparisons
(does a claim hold? is a level above?) and the counts of days are all in the snapshot already.
An unknown key raises an error that names the page, the key and the closest valid keys.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from build_data.publish.contract import load

from . import formatting as f
from . import html

from build_data.publish.contract import CLAIM_PAGES, WATCH_STATUSES, ContractError
# Where a number's provenance row is: metrics_table() on the methodology page, row id ROW_ID + key.
METHODOLOGY_PAGE, ROW_ID = "methodology/", "metric-"

# metrics.json is missing, unreadable, or breaks the snapshot contract.
SnapshotError = ContractError


class MacroError(LookupError):
    """A macro call that cannot be rendered. The message names the page."""


@dataclass(frozen=True)
class PageRef:
    """Where a macro is being rendered: the Markdown source path and the page URL."""

    src: str = "?"
    url: str = ""

    @property
    def root(self) -> str:
        """Relative prefix from this page to the site root ("" or "../" or "../../")."""
        return "../" * self.url.count("/")


def closest(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The n valid keys most similar to `key` (difflib ratio), best first."""
    return difflib.get_close_matches(key, list(candidates), n=n, cutoff=0.0)


# repr=False: mkdocs-macros serializes every macro for its debug log, bound methods included;
# a dataclass repr would print the whole snapshot on each build.
@dataclass(repr=False)
class Snapshot:
    """The snapshot data plus the page currently being rendered (for URLs and errors)."""

    def __repr__(self) -> str:
        return f"Snapshot({str(self.path)!r})"

    data: dict
    path: Path
    # The snapshot's folder inside the site ("generated/"), for chart URLs; None outside docs_dir.
    site_folder: str | None = "generated/"
    current_page: Callable[[], PageRef] = field(default=PageRef)

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | os.PathLike, docs_dir: str | os.PathLike | None = None) -> Snapshot:
        """Read metrics.json through the contract. `docs_dir` lets chart URLs be made relative to the site."""
        folder = "generated/"
        if docs_dir is not None:
            rel = os.path.relpath(Path(path).parent.resolve(), Path(docs_dir).resolve())
            folder = None if rel.startswith("..") else "" if rel == "." else rel.replace(os.sep, "/") + "/"
        return cls(data=load(path), path=Path(path), site_folder=folder)

    @property
    def site_dir(self) -> str:
        if self.site_folder is None:
            raise self.fail("chart()", f"the snapshot {self.path} is outside docs_dir, so its charts cannot be published")
        return self.site_folder

    # ------------------------------------------------------------ lookups

    @property
    def page(self) -> PageRef:
        return self.current_page()

    def fail(self, call: str, message: str) -> MacroError:
        """An error for the author: page, macro call, what went wrong."""
        return MacroError(f"page {self.page.src}: {call}: {message}")

    def lookup(self, section: str, key: str, call: str) -> dict:
        """One entry of a snapshot section, or an error naming the three closest keys."""
        table = self.data[section]
        if not isinstance(key, str) or key not in table:
            near = ", ".join(repr(k) for k in closest(str(key), table)) or "(none: the section is empty)"
            noun = {"metrics": "metric", "claims": "claim", "facts": "fact", "charts": "chart"}.get(section, section)
            raise self.fail(call, f"unknown {noun} key {key!r}; closest valid keys: {near}")
        return table[key]

    def _fmt(self, call: str, value: object, unit: str, fmt: str | None = None) -> str:
        try:
            return f.format_value(value, unit, fmt)
        except (TypeError, ValueError) as e:
            raise self.fail(call, str(e)) from None

    def _metric_html(self, key: str, call: str, fmt: str | None = None, *, cls: str = "metric", link: bool = True) -> str:
        m = self.lookup("metrics", key, call)
        if fmt is not None and fmt not in f.FORMAT_NAMES:
            near = ", ".join(repr(k) for k in closest(str(fmt), f.FORMAT_NAMES))
            raise self.fail(call, f"unknown format {fmt!r}; closest: {near}")
        if m["value"] is None:
            return f.na_span(m["reason"], class_=cls, data_key=key)
        text = self._fmt(call, m["value"], m["unit"], fmt)
        title = ", ".join(
            filter(
                None,
                [
                    m.get("label") or key,
                    f"as of {f.fmt_date(m['as_of'])}" if m.get("as_of") else None,
                    m.get("source"),
                ],
            )
        )
        # Provenance for keyboards and screen readers too: the number links to its row (label,
        # as-of date, source) in the methodology page's table of every number.
        href = f"{self.page.root}{METHODOLOGY_PAGE}#{ROW_ID}{key}" if link else None
        tag = "a" if link else "span"
        return f"<{tag}{f.attrs(class_=cls, data_key=key, data_fmt=fmt, title=title, href=href)}>{f.esc(text)}</{tag}>"

    def _value_in_unit_of(self, metric_key: str, value: object, call: str, fmt: str | None = None) -> str:
        """A claim's or watch item's value/threshold, in its metric's unit and the format build_data chose."""
        metric = self.lookup("metrics", metric_key, call)
        if value is None:
            return f.na_span(metric.get("reason") or "not available in this snapshot")
        return f.esc(self._fmt(call, value, metric["unit"], fmt))

    def label(self, key: str) -> str:
        """The label of a metric (its key if it has none)."""
        return self.data["metrics"].get(key, {}).get("label") or key

    # ------------------------------------------------------------ banner

    def banner(self) -> dict[str, str]:
        """The data-mode banner every page carries: mode, headline and the snapshot's note."""
        mode, as_of = self.data["data_mode"], f.fmt_date(self.data["as_of"])
        text = {
            "live": f"Data as of {as_of} (close).",
            "csv": f"Data as of {as_of} (close), from local CSV files.",
            "cache": f"Cached data, as of {as_of}.",
            "sample": "SAMPLE DATA, not real prices.",
        }[mode]
        return {"mode": mode, "text": text, "note": str(self.data.get("mode_note") or ""),
                "as_of": self.data["as_of"]}

    # ------------------------------------------------------------ macros: values

    def metric(self, key: str, fmt: str | None = None) -> str:
        """One number from the snapshot, formatted by its unit, with its label, date and source
        as a tooltip. `fmt` overrides the format: pct, signed_pct, pp, bp, price, compact, int,
        number, ratio, date, month (each only where the unit allows it). A missing value shows
        "—" with its reason."""
        return self._metric_html(key, f"metric({key!r})", fmt)

    def asof(self) -> str:
        """The snapshot's as-of trading date, e.g. "Jan 15, 2026"."""
        return f.time_tag(self.data["as_of"])

    def data_status(self) -> str:
        """One paragraph on the data behind the site: mode, as-of date, build time, note."""
        b = self.banner()
        built = self.data.get("built_at")
        parts = [f"<strong>{f.esc(b['text'])}</strong>"]
        if b["note"]:
            parts.append(f.esc(b["note"]))
        if built:
            try:
                when = f.fmt_timestamp(built)
            except (TypeError, ValueError) as e:
                raise self.fail("data_status()", f"built_at: {e}") from None
            parts.append(f'Built <time datetime="{f.esc(built)}">{f.esc(when)}</time>.')
        return f'<p class="data-status data-status--{f.esc(b["mode"])}">{" ".join(parts)}</p>'

    def fact(self, key: str) -> str:
        """A sourced fact that cannot be fetched live: its value, then source, date and age,
        e.g. "$45.9bn (Bank of America, Dec 2025; 40 days old)". Expired facts are flagged."""
        call = f"fact({key!r})"
        fact = self.lookup("facts", key, call)
        try:
            value = f.format_fact_value(fact.get("value"), fact["unit"])
        except (TypeError, ValueError) as e:
            raise self.fail(call, str(e)) from None
        source = f.esc(fact.get("source") or "source not given")
        url = fact.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            source = f'<a href="{f.esc(url)}">{source}</a>'
        notes = [source]
        if fact.get("date"):
            notes.append(f.time_tag(fact["date"], f.fmt_month(fact["date"])))
        detail = ", ".join(notes)
        if fact.get("age_days") is not None:
            detail += "; " + f.esc(self._fmt_age(call, fact["age_days"]))
        expired = fact.get("expired") is True
        if expired:
            limit = fact.get("max_age_days")
            detail += f", past its {f.esc(f.fmt_int(limit))}-day limit" if limit is not None else ", expired"
        cls = "fact fact--expired" if expired else "fact"
        return (
            f'<span{f.attrs(class_=cls, data_fact=key, title=fact.get("text"))}>'
            f'<span class="fact-value">{f.esc(value)}</span> <span class="fact-source">({detail})</span></span>'
        )

    def _fmt_age(self, call: str, days: object) -> str:
        try:
            return f.fmt_age(days)
        except (TypeError, ValueError) as e:
            raise self.fail(call, f"age_days: {e}") from None

    # ------------------------------------------------------------ macros: claims and watchlist

    _CLAIM_BADGES = {True: ("holds", "holds"), False: ("fails", "no longer holds"), None: ("unknown", "can't be checked")}

    def claim(self, id: str) -> str:
        """A claim from the prose with a badge: "holds", "no longer holds" or "can't be checked",
        then its sentence and the number it rests on."""
        call = f"claim({id!r})"
        c = self.lookup("claims", id, call)
        holds = c.get("holds")
        if holds not in self._CLAIM_BADGES:
            raise self.fail(call, f"holds must be true, false or null, got {holds!r}")
        state, badge = self._CLAIM_BADGES[holds]
        value = self._value_in_unit_of(c["metric"], c.get("value"), call, c.get("fmt"))
        now = f"now {value}"
        if c.get("threshold") is not None:
            now += f", threshold {self._value_in_unit_of(c['metric'], c['threshold'], call, c.get('fmt'))}"
        return (
            f'<span class="claim claim--{state}" data-claim="{f.esc(id)}">'
            f'<span class="badge badge--{state}">{badge}</span> '
            f'<span class="claim-text">{f.esc(c.get("text") or c.get("title") or id)}</span> '
            f'<span class="claim-value">({now})</span></span>'
        )

    def holds(self, id: str) -> bool | None:
        """Whether a claim holds at this build: true, false, or none when it can't be checked.
        For prose in the author's own words: {% if holds("overbought") %} … {% else %} … {% endif %}."""
        return self.lookup("claims", id, f"holds({id!r})").get("holds")

    def under_review(self, markdown: str, meta: dict) -> str:
        """The page with an "under review" note under each section whose claims (front matter
        `rests_on`) no longer hold. Unknown claims or sections are errors naming the closest."""
        from build_data.errors import BuildError
        from build_data.publish.review import rests_on

        try:
            sections = rests_on(meta, self.page.src, self.data["claims"])
        except BuildError as e:
            raise self.fail("rests_on", str(e).split(": ", 1)[-1]) from None
        lines = markdown.split("\n")
        titles = {i: re.sub(r"\s*\{[^}]*\}\s*$", "", line.lstrip("#").strip()).rstrip("#").strip()
                  for i, line in enumerate(lines) if re.match(r"#{1,6}\s", line)}
        notes = []
        for section, ids in sections.items():
            found = [i for i, t in titles.items() if t == section]
            if not found:
                near = ", ".join(repr(t) for t in closest(section, set(titles.values())))
                raise self.fail("rests_on", f"no section titled {section!r} on this page; closest: {near}")
            failing = [(cid, self.data["claims"][cid]) for cid in ids if self.data["claims"][cid].get("holds") is False]
            if failing:
                notes.append((found[0], section, failing))
        for line, section, failing in sorted(notes, reverse=True):
            lines[line + 1:line + 1] = ["", self._review_note(section, failing), ""]
        return "\n".join(lines)

    def _review_note(self, section: str, failing: list[tuple[str, dict]]) -> str:
        parts = []
        for cid, c in failing:
            since = f" since {f.time_tag(c['since'])}" if c.get("since") else ""
            parts.append(f"<em>{f.esc(c.get('title') or cid)}</em> no longer holds{since}")
        return (f'<p class="under-review" data-section="{f.esc(section)}" data-claims="{f.esc(" ".join(c for c, _ in failing))}">'
                f'<strong>Under review:</strong> {"; ".join(parts)}. This section rests on it.</p>')

    def claims_tally(self, page: str) -> str:
        """The balance of a page's claims, e.g. "3 of 5 bull-case claims hold; 1 no longer holds;
        1 can't be checked". `page` is "bull" or "bear"."""
        call = f"claims_tally({page!r})"
        if page not in CLAIM_PAGES:
            near = ", ".join(repr(p) for p in closest(str(page), CLAIM_PAGES))
            raise self.fail(call, f"unknown claims page {page!r}; closest: {near}")
        counts = self.data["tally"].get(page) or {}
        held, failed, unknown = (counts.get(k, 0) for k in ("holds", "fails", "unknown"))
        if not held + failed + unknown:
            raise self.fail(call, f"the snapshot has no claims for page {page!r}")
        text = f"{held} of {held + failed + unknown} {page}-case claims hold"
        if failed:
            text += f"; {failed} no longer hold{'s' if failed == 1 else ''}"
        if unknown:
            text += f"; {unknown} can't be checked"
        return f'<p class="claims-tally" data-page="{f.esc(page)}">{f.esc(text)}.</p>'

    def watch_table(self, kind: str | None = None) -> str:
        """The watchlist: each catalyst or risk with its metric now, the threshold, its status
        (clear / near / triggered) and the date the status last changed. `kind` keeps only
        "catalyst" or "risk" items."""
        call = "watch_table()" if kind is None else f"watch_table({kind!r})"
        if kind not in (None, "catalyst", "risk"):
            raise self.fail(call, f"kind must be 'catalyst' or 'risk', got {kind!r}")
        rows = []
        for id, w in self.data["watchlist"].items():
            if kind and w.get("kind") != kind:
                continue
            status = w.get("status")
            if status not in WATCH_STATUSES:
                raise self.fail(call, f"watch item {id!r}: status {status!r} is not one of {WATCH_STATUSES}")
            since = f"since {f.time_tag(w['since'])}" if w.get("since") else f.EM_DASH
            why = f'<br><small class="watch-why">{f.esc(w["why"])}</small>' if w.get("why") else ""
            rows.append(
                [
                    f'<span class="watch-kind">{f.esc(w.get("kind", ""))}</span> '
                    f'<strong>{f.esc(w.get("title") or id)}</strong>{why}',
                    f'<span class="watch-value" data-watch="{f.esc(id)}">'
                    f'{self._value_in_unit_of(w["metric"], w.get("value"), call, w.get("fmt"))}</span>',
                    self._value_in_unit_of(w["metric"], w["threshold"], call, w.get("fmt"))
                    if w.get("threshold") is not None
                    else f.EM_DASH,
                    f'<span class="badge badge--{status}">{status}</span>',
                    since,
                ]
            )
        if not rows:
            return '<p class="empty">Nothing on the watchlist.</p>'
        return f.html_table(["Item", "Now", "Threshold", "Status", "Changed"], rows, cls="watch-table", numeric=(1, 2))

    def changes_list(self, limit: int | None = None) -> str:
        """What changed since earlier builds (signal flips), newest first as the snapshot
        lists them; `limit` keeps the first N."""
        changes = self.data["changes"][:limit] if limit else self.data["changes"]
        if not changes:
            return '<p class="changes changes--empty">No signal has changed since the last build.</p>'
        items = "".join(
            f'<li data-key="{f.esc(c.get("key", ""))}">{f.time_tag(c["date"])}: {f.esc(c["text"])}</li>'
            for c in changes
        )
        return f'<ul class="changes">{items}</ul>'

    # ------------------------------------------------------------ macros: tables

    def key_numbers(self, keys: Sequence[str | Sequence[str]]) -> str:
        """A strip of headline numbers. Each item is a metric key, or a [key, fmt] pair."""
        if isinstance(keys, str):
            raise self.fail(f"key_numbers({keys!r})", "pass a list of keys, e.g. key_numbers(['rut.ret_ytd'])")
        cards = []
        for item in keys:
            key, fmt = (item, None) if isinstance(item, str) else (item[0], item[1])
            value = self._metric_html(key, f"key_numbers([... {key!r} ...])", fmt)
            cards.append(
                f'<span class="key-number"><span class="key-number__value">{value}</span>'
                f'<span class="key-number__label">{f.esc(self.label(key))}</span></span>'
            )
        # Spans only (styled as a grid): valid inside the paragraph Markdown wraps it in.
        return f'<span class="key-numbers">{"".join(cards)}</span>'

    def _listed(self, section: str, call: str, needed: Sequence[str]) -> list[dict]:
        items = self.data[section]
        if not items:
            raise self.fail(call, f"the snapshot's {section!r} list is empty")
        for item in items:
            if not isinstance(item, dict) or any(k not in item for k in needed):
                raise self.fail(call, f"each {section!r} entry needs {', '.join(needed)}; got {item!r}")
        return items

    def sector_table(self, horizons: Sequence[str] = ("ret_1d", "ret_1m", "ret_ytd")) -> str:
        """Sector ETF returns, one row per sector in the snapshot's order (build_data sorts it).
        `horizons` picks the return columns (metric suffixes)."""
        call = "sector_table()"
        names = {"ret_1d": "1 day", "ret_1m": "1 month", "ret_3m": "3 months", "ret_ytd": "YTD", "ret_1y": "1 year"}
        rows = [
            [f'{f.esc(s["name"])} <span class="ticker">{f.esc(s["alias"].upper())}</span>']
            + [self._metric_html(f"{s['alias']}.{h}", call, "signed_pct") for h in horizons]
            for s in self._listed("sectors", call, ("alias", "name"))
        ]
        headers = ["Sector"] + [names.get(h, h) for h in horizons]
        return f.html_table(headers, rows, cls="sector-table", numeric=range(1, len(headers)))

    def levels_table(self) -> str:
        """Author-defined price levels: the level, the distance of the last close from it, and
        whether the close is above or below (all from the snapshot's levels.* metrics)."""
        call = "levels_table()"
        rows = []
        for lv in self._listed("levels", call, ("key", "label", "distance_key", "above_key")):
            key = lv["key"]
            above = self.lookup("metrics", lv["above_key"], call)
            if above["value"] is None:
                where = f.na_span(above["reason"])
            else:
                self._fmt(call, above["value"], "bool")  # raises unless a real true/false
                where = "above" if above["value"] else "below"
                where = f'<span class="position position--{where}" data-level="{f.esc(key)}">{where}</span>'
            rows.append(
                [
                    f.esc(lv["label"]),
                    self._metric_html(key, call, "price"),
                    self._metric_html(lv["distance_key"], call, "signed_pct"),
                    where,
                ]
            )
        return f.html_table(["Level", "Value", "Close vs level", "Close is"], rows, cls="levels-table", numeric=(1, 2))

    def targets_table(self) -> str:
        """Analyst targets: the level and the move it implies from the last close, with source."""
        call = "targets_table()"
        rows = []
        for t in self._listed("targets", call, ("key", "label", "move_key")):
            key = t["key"]
            source = f.esc(t.get("source") or "")
            if t.get("date"):
                source += f" ({f.time_tag(t['date'])})" if source else f.time_tag(t["date"])
            rows.append(
                [
                    f.esc(t["label"]),
                    self._metric_html(key, call, "price"),
                    self._metric_html(t["move_key"], call, "signed_pct"),
                    source or f.EM_DASH,
                ]
            )
        return f.html_table(["Target", "Level", "Implied move", "Source"], rows, cls="targets-table", numeric=(1, 2))

    def series_table(self) -> str:
        """Where each input series came from: ticker, source, first and last date, rows, status."""
        rows = []
        for alias, s in self.data["series_status"].items():
            status = s.get("status", "unknown")
            reason = f' <small>{f.esc(s["reason"])}</small>' if s.get("reason") else ""
            reason += "".join(f' <small class="quality">{f.esc(q)}</small>' for q in s.get("quality") or [])
            rows.append(
                [
                    f'<code>{f.esc(alias)}</code>',
                    f.esc(s.get("ticker", "")),
                    f.esc(s.get("source", "")),
                    f.time_tag(s["first"]) if s.get("first") else f.EM_DASH,
                    f.time_tag(s["last"]) if s.get("last") else f.EM_DASH,
                    f.esc(f.fmt_int(s["rows"])) if s.get("rows") is not None else f.EM_DASH,
                    f'<span class="badge badge--{f.esc(status)}">{f.esc(status)}</span>{reason}',
                ]
            )
        return f.html_table(
            ["Alias", "Ticker", "Source", "First", "Last", "Rows", "Status"], rows, cls="series-table", numeric=(5,)
        )

    def metrics_table(self, prefix: str = "") -> str:
        """Every metric in the snapshot (or those whose key starts with `prefix`): key, label,
        value, unit, as-of date and source. Generated, so it cannot drift from the data."""
        keys = [k for k in sorted(self.data["metrics"]) if k.startswith(prefix)]
        if not keys:
            near = ", ".join(repr(k) for k in closest(prefix, self.data["metrics"]))
            raise self.fail(f"metrics_table({prefix!r})", f"no metric key starts with {prefix!r}; closest: {near}")
        rows = []
        for k in keys:
            m = self.data["metrics"][k]
            rows.append(
                [
                    f'<code id="{ROW_ID}{f.esc(k)}">{f.esc(k)}</code>',
                    f.esc(m.get("label", "")),
                    self._metric_html(k, "metrics_table()", link=False),
                    f.esc(m["unit"]),
                    f.time_tag(m["as_of"]) if m.get("as_of") else f.EM_DASH,
                    f.esc(m.get("source", "")),
                ]
            )
        return f.html_table(["Key", "Label", "Value", "Unit", "As of", "Source"], rows, cls="metrics-table", numeric=(2,))

    def metric_reference(self) -> str:
        """The metric catalog build_data computes from: each key pattern ("X.ret_ytd"), its
        definition and unit. Written into the snapshot by build_data, so it cannot drift."""
        call = "metric_reference()"
        rows = [
            [f"<code>{f.esc(c['pattern'])}</code>", f.esc(c["definition"]), f.esc(c["unit"])]
            for c in self._listed("catalog", call, ("pattern", "unit", "definition"))
        ]
        return f.html_table(["Key", "Definition", "Unit"], rows, cls="metric-reference")

    # ------------------------------------------------------------ macros: charts

    def chart(self, id: str) -> str:
        """A chart: the static SVG (works without JavaScript), upgraded to an interactive view by
        assets/charts.js. Title as caption, the description as the text alternative."""
        c = self.lookup("charts", id, f"chart({id!r})")
        prefix = self.page.root + self.site_dir
        # The SVG as a Markdown image relative to the source file, so MkDocs and Zensical both
        # rewrite it for the built page (Zensical reads raw-HTML URLs as source-relative).
        src = self.page.src
        image = alt = ""
        if src.endswith(".md") and c.get("svg"):
            image = "../" * src.count("/") + self.site_dir + c["svg"]
            alt = html.fragment(f.md_text(c["description"]))
        return html.render("chart.html", id=id, chart=c, prefix=prefix, image=image, alt=alt)
