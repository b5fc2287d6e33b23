"""The build snapshot (metrics.json) as the pages see it: load, look up, format.

The methods below that carry a docstring aimed at authors are the page macros; `define_env`
registers them. They look values up, format them and hand them to the templates in
macros/templates/: the numbers, the comparisons (does a claim hold? is a level above?), the
counts, the chart sizes and the file checks all come from build_data.
An unknown key raises an error that names the page, the key and the closest valid keys.
"""
from __future__ import annotations

import difflib
import html
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from build_data.errors import BuildError
from build_data.site import GENERATED
from build_data import formatting as f
from build_data.prose import review
from build_data.publish.contract import WATCH_STATUSES, ContractError, load
from build_data.publish.feeds import change_id

from .html import T, md_text, render

# Where a number's provenance row is: metrics_table() on the methodology page, row id ROW_ID + key.
METHODOLOGY_PAGE, ROW_ID = "methodology/", "metric-"
SnapshotError = ContractError  # metrics.json is missing, unreadable, or breaks the contract
BANNERS = {"live": "Data as of {} (close).", "csv": "Data as of {} (close), from local CSV files.",
           "cache": "Cached data, as of {}.", "sample": "SAMPLE DATA, not real prices."}
CLAIM_STATES = {True: "holds", False: "fails", None: "unknown"}


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


# repr=False: mkdocs-macros serializes every macro for its debug log, bound methods included.
@dataclass(repr=False)
class Snapshot:
    """The snapshot data plus the page currently being rendered (for URLs and errors)."""

    data: dict
    path: Path
    # The snapshot's folder inside the site ("generated/"), for chart URLs; None outside docs_dir.
    site_folder: str | None = f"{GENERATED}/"
    current_page: Callable[[], PageRef] = field(default=PageRef)

    # The row anchors (watch-ID, level-NAME, target-NAME) each page has shown: an item shown twice
    # on one page (the whole watchlist, then its risks) is the change log's link target once.
    _anchors: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Snapshot({str(self.path)!r})"

    def _once(self, anchor: str) -> str | None:
        """`anchor` the first time this page shows it, else None (an id is unique on a page)."""
        seen = self._anchors.setdefault(self.page.src, set())
        if anchor in seen:
            return None
        seen.add(anchor)
        return anchor

    @classmethod
    def load(cls, path: str | os.PathLike, docs_dir: str | os.PathLike | None = None) -> Snapshot:
        """Read metrics.json through the contract. `docs_dir` lets chart URLs be made relative to the site."""
        folder = f"{GENERATED}/"
        if docs_dir is not None:
            rel = os.path.relpath(Path(path).parent.resolve(), Path(docs_dir).resolve())
            folder = None if rel.startswith("..") else "" if rel == "." else rel.replace(os.sep, "/") + "/"
        return cls(data=load(path), path=Path(path), site_folder=folder)

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

    def _try(self, call: str, formatter: Callable[..., str], *args: object) -> str:
        """A formatter's text, or an error for the author when the snapshot's value can't be shown."""
        try:
            return formatter(*args)
        except (TypeError, ValueError) as e:
            raise self.fail(call, str(e)) from None

    def _metric(self, key: str, call: str, fmt: str | None = None) -> dict:
        """What templates/fragments.html `value` shows of a metric: text (None if missing), title."""
        m = self.lookup("metrics", key, call)
        if fmt is not None and fmt not in f.FORMAT_NAMES:
            raise self.fail(call, f"unknown format {fmt!r}; closest: {', '.join(map(repr, closest(fmt, f.FORMAT_NAMES)))}")
        text = None if m["value"] is None else self._try(call, f.format_value, m["value"], m["unit"], fmt)
        as_of = f"as of {f.fmt_date(m['as_of'])}" if m.get("as_of") else None
        title = ", ".join(filter(None, [m.get("label") or key, as_of, m.get("source")]))
        return {**m, "key": key, "text": text, "fmt": fmt, "title": title}

    def _href(self, key: str) -> str:
        """The number's row (label, as-of date, source) in the methodology page's table: provenance
        for keyboards and screen readers too, not a hover title alone."""
        return f"{self.page.root}{METHODOLOGY_PAGE}#{ROW_ID}{key}"

    def _linked(self, key: str, call: str, fmt: str | None = None) -> dict:
        return {"m": self._metric(key, call, fmt), "href": self._href(key)}

    def _in_unit_of(self, metric_key: str, value: object, call: str, fmt: str | None = None):
        """A claim's or watch item's value/threshold, in its metric's unit and the format build_data chose."""
        metric = self.lookup("metrics", metric_key, call)
        if value is None:
            return T.na(metric.get("reason") or "not available in this snapshot")
        return self._try(call, f.format_value, value, metric["unit"], fmt)

    def _listed(self, section: str, call: str) -> list[dict]:
        """A list section of the snapshot (the contract checked each entry's fields), never empty."""
        if not self.data[section]:
            raise self.fail(call, f"the snapshot's {section!r} list is empty")
        return self.data[section]

    def label(self, key: str) -> str:
        """The label of a metric (its key if it has none)."""
        return self.data["metrics"].get(key, {}).get("label") or key

    def banner(self) -> dict[str, str]:
        """The data-mode banner every page carries: mode, headline and the snapshot's note."""
        mode = self.data["data_mode"]
        return {"mode": mode, "text": BANNERS[mode].format(f.fmt_date(self.data["as_of"])),
                "note": str(self.data.get("mode_note") or ""), "as_of": self.data["as_of"]}

    # ------------------------------------------------------------ macros: values

    def metric(self, key: str, fmt: str | None = None) -> str:
        """One number from the snapshot, formatted by its unit, with its label, date and source
        as a tooltip. `fmt` overrides the format: pct, signed_pct, pp, bp, price, compact, int,
        number, ratio, date, month (each only where the unit allows it). A missing value shows
        "—" with its reason."""
        call = f"metric({key!r})"
        return T.value(self._metric(key, call, fmt), self._href(key))

    def asof(self) -> str:
        """The snapshot's as-of trading date, e.g. "Jan 15, 2026"."""
        return T.time(self.data["as_of"])

    def data_status(self) -> str:
        """One paragraph on the data behind the site: mode, as-of date, build time, note."""
        built = self.data.get("built_at")
        when = self._try("data_status()", f.fmt_timestamp, built) if built else None
        return T.data_status(self.banner(), built, when)

    def fact(self, key: str) -> str:
        """A sourced fact that cannot be fetched live: its value, then source, date and age,
        e.g. "$45.9bn (Bank of America, Dec 2025; 40 days old)". Expired facts are flagged."""
        call = f"fact({key!r})"
        fact = self.lookup("facts", key, call)
        value = self._try(call, f.format_fact_value, fact.get("value"), fact["unit"])
        age = fact.get("age_days")
        url = fact.get("url")
        return T.fact(key, {
            "text": fact.get("text"), "source": fact.get("source") or "source not given", "date": fact.get("date"),
            "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
            "age": None if age is None else self._try(call, f.fmt_age, age),
            "expired": fact.get("expired") is True, "max_age_days": fact.get("max_age_days")}, value)

    # ------------------------------------------------------------ macros: claims and watchlist

    def claim(self, id: str) -> str:
        """A claim from the prose with a badge: "holds", "no longer holds" or "can't be checked",
        then its sentence and the number it rests on."""
        call = f"claim({id!r})"
        c = self.lookup("claims", id, call)
        state = CLAIM_STATES[c["holds"]]
        value = self._in_unit_of(c["metric"], c.get("value"), call, c.get("fmt"))
        threshold = c.get("threshold")
        if threshold is not None:
            threshold = self._in_unit_of(c["metric"], threshold, call, c.get("fmt"))
        return T.claim(id, c.get("text") or c["title"], state, value, threshold)

    def threshold(self, id: str, which: str = "threshold") -> str:
        """A claim's or watch item's threshold as the site config sets it, in its metric's unit
        ("3%", "70", "250,000"), so prose never repeats the number: `threshold("overbought")`.
        `which` = "clear" gives its clear level instead."""
        call = f"threshold({id!r})" if which == "threshold" else f"threshold({id!r}, {which!r})"
        if which not in ("threshold", "clear"):
            raise self.fail(call, f"the second argument is 'threshold' or 'clear', not {which!r}")
        items = {**self.data["watchlist"], **self.data["claims"]}
        if not isinstance(id, str) or id not in items:
            near = ", ".join(repr(k) for k in closest(str(id), items)) or "(none: the snapshot has no claims)"
            raise self.fail(call, f"unknown claim or watch item {id!r}; closest: {near}")
        text = items[id].get(f"{which}_text")
        if text is None:
            noun = "claim" if id in self.data["claims"] else "watch item"
            why = ("it has no clear level" if which == "clear" and items[id].get("threshold") is not None
                   else "it has no single threshold (a yes/no test or all:/any: conditions)")
            raise self.fail(call, f"{noun} {id!r} has no {which} to show: {why}")
        return html.escape(text)

    def holds(self, id: str) -> bool | None:
        """Whether a claim holds at this build: true, false, or none when it can't be checked.
        For prose in the author's own words: {% if holds("overbought") %} … {% else %} … {% endif %}."""
        return self.lookup("claims", id, f"holds({id!r})").get("holds")

    def under_review(self, markdown: str, meta: dict) -> str:
        """The page with an "under review" note under each section whose claims (front matter
        `rests_on`) no longer hold. Unknown claims or sections are errors naming the closest."""
        claims = self.data["claims"]
        try:
            sections = review.failing_sections(markdown, meta, self.page.src, claims)
        except BuildError as e:
            # review names the page first ("bear-case.md: rests_on: ..."): the page once, as `fail` does.
            raise MacroError(f"page {self.page.src}: {str(e).split(': ', 1)[-1]}") from None
        lines = markdown.split("\n")
        for line, section, ids in sorted(sections, reverse=True):
            failing = [{"id": cid, "title": claims[cid]["title"], "since": claims[cid].get("since")} for cid in ids]
            lines[line + 1:line + 1] = ["", T.review_note(section, failing), ""]
        return "\n".join(lines)

    def claims_tally(self, group: str, label: str | None = None) -> str:
        """The balance of a claim group's claims (the `page:` of each claim in the site config), e.g.
        "3 of 5 bull-case claims hold; 1 no longer holds; 1 can't be checked". `label` names the
        claims in that sentence (default: the group and "-case", as in "bull-case")."""
        call = f"claims_tally({group!r})"
        tally = self.data["tally"]
        if group not in tally:
            near = ", ".join(map(repr, closest(str(group), tally))) or "(none: the snapshot has no claims)"
            raise self.fail(call, f"unknown claim group {group!r}; closest groups: {near}")
        counts = tally[group]
        held, failed, unknown = (counts.get(k, 0) for k in ("holds", "fails", "unknown"))
        if not held + failed + unknown:
            raise self.fail(call, f"the snapshot has no claims in group {group!r}")
        return T.claims_tally(group, f"{group}-case" if label is None else str(label), held, failed, unknown)

    def watch_table(self, kind: str | None = None) -> str:
        """The watchlist: each catalyst or risk with its metric now, the threshold, its status
        (clear / near / triggered) and the date the status last changed. `kind` keeps only
        "catalyst" or "risk" items."""
        call = "watch_table()" if kind is None else f"watch_table({kind!r})"
        if kind not in (None, "catalyst", "risk"):
            raise self.fail(call, f"kind must be 'catalyst' or 'risk', got {kind!r}")
        rows = []
        for id, w in self.data["watchlist"].items():
            if kind and w["kind"] != kind:
                continue
            threshold = w.get("threshold")
            rows.append({"id": id, "row_id": self._once(f"watch-{id}"), "kind": w["kind"], "title": w["title"], "why": w.get("why"),
                         "status": w["status"], "since": w.get("since"), "next": self._next(w.get("next")),
                         "value": self._in_unit_of(w["metric"], w.get("value"), call, w.get("fmt")),
                         "threshold": f.EM_DASH if threshold is None else
                         self._in_unit_of(w["metric"], threshold, call, w.get("fmt"))})
        return T.watch_table(rows)

    @staticmethod
    def _next(event: dict | None) -> dict | None:
        """A watch item's next scheduled event as the table shows it, with its source."""
        if not event:
            return None
        url = event.get("url")
        return {**event, "url": url if isinstance(url, str) and url.startswith(("https://", "http://")) else None}

    def changes_list(self, limit: int | None = None) -> str:
        """What changed, newest first as the snapshot lists them: each claim or watch item flip,
        level crossed, target reached, record close after a drought and streak end, one entry per
        event with its value, linked to the section that shows it. `limit` keeps the first N."""
        items = self.data["changes"][:limit] if limit else self.data["changes"]
        root = self.page.root
        return T.changes([{**c, "href": root + c["url"] if c.get("url") else None,
                           "anchor_id": change_id(c)} for c in items])

    def events_calendar(self, past: int = 3, upcoming: int = 6) -> str:
        """The events calendar of the site config (FOMC decisions, CPI and jobs releases, ...): the
        last `past` events, marked as past, then the next `upcoming`, each with its source."""
        call = f"events_calendar({past!r}, {upcoming!r})"
        if not all(isinstance(n, int) and n >= 0 for n in (past, upcoming)):
            raise self.fail(call, "past and upcoming are counts of events (whole numbers, 0 or more)")
        events = [self._next(e) for e in self.data.get("calendar") or []]
        done = [e for e in events if e["past"]]
        ahead = [e for e in events if not e["past"]]
        return T.events_calendar((done[-past:] if past else []) + ahead[:upcoming])

    # ------------------------------------------------------------ macros: tables

    def key_numbers(self, keys: Sequence[str | Sequence[str]]) -> str:
        """A strip of headline numbers. Each item is a metric key, or a [key, fmt] pair."""
        if isinstance(keys, str):
            raise self.fail(f"key_numbers({keys!r})", "pass a list of keys, e.g. key_numbers(['rut.ret_ytd'])")
        cards = []
        for item in keys:
            key, fmt = (item, None) if isinstance(item, str) else (item[0], item[1])
            value = T.value(self._metric(key, f"key_numbers([... {key!r} ...])", fmt), self._href(key))
            cards.append({"value": value, "label": self.label(key)})
        return T.key_numbers(cards)

    def sector_table(self, horizons: Sequence[str] = ("ret_1d", "ret_1m", "ret_ytd")) -> str:
        """Sector ETF returns, one row per sector in the snapshot's order (build_data sorts it).
        `horizons` picks the return columns (metric suffixes)."""
        call = "sector_table()"
        rows = [{"name": s["name"], "alias": s["alias"],
                 "values": [self._linked(f"{s['alias']}.{h}", call, "signed_pct") for h in horizons]}
                for s in self._listed("sectors", call)]
        return T.sector_table(["Sector"] + [self._horizon(h) for h in horizons], rows)

    def _horizon(self, metric: str) -> str:
        """How a per-symbol return's horizon reads ("ret_1m" -> "1 month"), from the metric
        catalog the snapshot carries; the metric name itself if it has none."""
        for row in self.data.get("catalog") or ():
            if row["pattern"] == f"X.{metric}" and row.get("horizon"):
                return row["horizon"]
        return metric

    def levels_table(self) -> str:
        """Author-defined price levels: the level, the distance of the last close from it, and
        whether the close is above or below (all from the snapshot's levels.* metrics)."""
        call = "levels_table()"
        rows = []
        for lv in self._listed("levels", call):
            above = self.lookup("metrics", lv["above_key"], call)
            if above["value"] is not None:
                self._try(call, f.fmt_bool, above["value"])  # raises unless a real true/false
            since = lv.get("since")
            rows.append({"key": lv["key"], "label": lv["label"], "above": above["value"], "reason": above["reason"],
                         "level": self._metric(lv["key"], call, "price"), "href": self._href(lv["key"]),
                         "distance": self._metric(lv["distance_key"], call, "signed_pct"),
                         "distance_href": self._href(lv["distance_key"]),
                         "row_id": self._once(f"level-{lv.get('id') or lv['key'].split('.', 1)[-1]}"),
                         "side": lv.get("side"), "since": since,
                         "since_close": None if lv.get("since_close") is None else f.fmt_price(lv["since_close"])})
        return T.levels_table(rows)

    def targets_table(self) -> str:
        """Analyst targets: the level, and the move it implies from the last close, or, once a
        close has reached it since it was set, the date ("reached on Mar 4, 2026"), with source."""
        call = "targets_table()"
        rows = [{"key": t["key"], "label": t["label"], "source": t.get("source") or "", "date": t.get("date"),
                 "level": self._metric(t["key"], call, "price"), "href": self._href(t["key"]),
                 "move": self._metric(t["move_key"], call, "signed_pct"), "move_href": self._href(t["move_key"]),
                 "row_id": self._once(f"target-{t.get('id') or t['key'].split('.', 1)[-1]}"),
                 "reached_on": t.get("reached_on"), "beyond": t.get("beyond"),
                 "reached_close": None if t.get("reached_close") is None else f.fmt_price(t["reached_close"])}
                for t in self._listed("targets", call)]
        return T.targets_table(rows)

    def series_table(self) -> str:
        """Where each input series came from: ticker, source, first and last date, rows, status."""
        rows = [{"alias": alias, "ticker": s.get("ticker", ""), "source": s.get("source", ""), "first": s.get("first"),
                 "last": s.get("last"), "rows": s.get("rows"), "status": s.get("status", "unknown"),
                 "reason": s.get("reason"), "quality": s.get("quality") or []}
                for alias, s in self.data["series_status"].items()]
        return T.series_table(rows)

    def revisions_table(self) -> str:
        """Closes the source corrected after they were published, once the build accepted the
        correction (seen again by a later fetch, or confirmed by the tracking fund or index): the
        series, the session, the close before and after, when and why."""
        rows = [{**r, "old": f.fmt_price(r["old"]), "new": f.fmt_price(r["new"]),
                 "when": f.fmt_date(r["when"][:10])} for r in self.data.get("revisions") or []]
        return T.revisions_table(rows)

    def metrics_table(self, prefix: str = "") -> str:
        """Every metric in the snapshot (or those whose key starts with `prefix`): key, label,
        value, unit, as-of date and source. Generated, so it cannot drift from the data."""
        keys = [k for k in sorted(self.data["metrics"]) if k.startswith(prefix)]
        if not keys:
            near = ", ".join(repr(k) for k in closest(prefix, self.data["metrics"]))
            raise self.fail(f"metrics_table({prefix!r})", f"no metric key starts with {prefix!r}; closest: {near}")
        return T.metrics_table([self._metric(k, "metrics_table()") for k in keys])

    def metric_reference(self) -> str:
        """The metric catalog build_data computes from: each key pattern ("X.ret_ytd"), its
        definition and unit. Written into the snapshot by build_data, so it cannot drift."""
        rows = [[c["pattern"], c["definition"], c["unit"]]
                for c in self._listed("catalog", "metric_reference()")]
        return T.reference_table("metric-reference", ["Key", "Definition", "Unit"], rows)

    def config_reference(self, section: str | None = None) -> str:
        """The site config's fields (universe.yml, site.yml): each field's path, type, default and
        what it does, from the same models that check the config. `section` keeps one section,
        e.g. config_reference("claims")."""
        rows = self._listed("config_reference", "config_reference()")
        if section is not None:
            sections = [r["field"] for r in rows if "." not in r["field"]]
            if section not in sections:
                near = ", ".join(repr(k) for k in closest(str(section), sections))
                raise self.fail(f"config_reference({section!r})", f"unknown config section {section!r}; closest: {near}")
            rows = [r for r in rows if r["field"] == section or r["field"].startswith(section + ".")]
        return T.reference_table("config-reference", ["Field", "Type", "Default", "What it does"],
                                 [[r["field"], r["type"], r.get("default") or "", r.get("description") or ""]
                                  for r in rows])

    # ------------------------------------------------------------ macros: charts

    def chart(self, id: str) -> str:
        """A chart: the static SVG (works without JavaScript), upgraded to an interactive view by
        assets/charts.js. Title as caption, the description as the text alternative."""
        c = self.lookup("charts", id, f"chart({id!r})")
        if self.site_folder is None:
            raise self.fail(f"chart({id!r})", f"the snapshot {self.path} is outside docs_dir, so its charts cannot be published")
        # The SVG as a Markdown image relative to the source file, so MkDocs and Zensical both
        # rewrite it for the built page (Zensical reads raw-HTML URLs as source-relative).
        src, image, alt = self.page.src, "", ""
        if src.endswith(".md") and c.get("svg"):
            image, alt = "../" * src.count("/") + self.site_folder + c["svg"], md_text(c["description"])
        return render("chart.html", id=id, chart=c, prefix=self.page.root + self.site_folder, image=image, alt=alt)
