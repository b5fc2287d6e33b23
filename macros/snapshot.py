"""The build snapshot (metrics.json) as the pages see it: load, look up, format.

The methods below that carry a docstring aimed at authors are the page macros; `define_env`
registers them. They look values up, format them and hand them to the templates in
macros/templates/: the numbers, the comparisons (does a claim hold? is a level above?), the
counts, the chart sizes and the file checks all come from build_data.
An unknown key raises an error that names the page, the key and the closest valid keys.
"""
from __future__ import annotations

import bisect
import datetime as dt
import difflib
import html
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from build_data.errors import BuildError
from build_data.site import GENERATED
from build_data import formatting as f
from build_data.prose import review
from build_data.publish.contract import WATCH_STATUSES, ContractError, load
from build_data.publish.feeds import change_id

from .html import T, esc, md_text, render

# Where a number's provenance row is: metrics_table() on the methodology page, row id ROW_ID + key.
METHODOLOGY_PAGE, ROW_ID = "methodology/", "metric-"
SnapshotError = ContractError  # metrics.json is missing, unreadable, or breaks the contract
BANNERS = {"live": "Data as of {} (close).", "csv": "Data as of {} (close), from local CSV files.",
           "cache": "Cached data, as of {}.", "sample": "SAMPLE DATA, not real prices."}
CLAIM_STATES = {True: "holds", False: "fails", None: "unknown"}
NO_REASON = "not available in this snapshot"
# A note marker as the macros write it; the page's notes (Snapshot.source_notes) number them.
NOTE_REF = re.compile(r'<sup class="note-ref" data-note="(metric|fact|na|claim|watch):([^"<>]+)"></sup>')
# How many numbers a note on a missing value names before "and N more".
NOTE_ITEMS = 6
# What a by_state() block shows while its claim can't be checked, when the author wrote no line.
NO_VERDICT = "This argument waits for its number: no verdict either way until it can be checked again."


# The key of a metric that rendered as the "not available" dash (templates/fragments.html `na`).
NA_KEY = re.compile(r'<span class="na metric"[^>]*? data-key="([^"]+)"')


def _arity(caller) -> int:
    """How many arguments a {% call(x) ... %} block takes (Jinja's Macro.arguments)."""
    return len(getattr(caller, "arguments", ()) or ())
# A series' source as the methodology page names it (series_status "source").
SOURCE_NAMES = {"yahoo": "Yahoo Finance", "fred": "FRED", "csv": "local CSV files supplied for this build",
                "cache": "the local cache of earlier fetches", "sample": "the built-in sample generator (not real data)",
                "none": "no source (missing in this build)"}


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
    # The archive of past weeks, relative to the site root: "archive/" on the current site, "../"
    # on an archived week (which lives in archive/DATE/); macros/__init__.py sets it.
    archive_root: str | None = "archive/"

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
            noun = {"metrics": "metric", "claims": "claim", "facts": "fact", "charts": "chart",
                    "base_rates": "base rate", "history_notes": "history note"}.get(section, section)
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
        released = f"released {f.fmt_date(m['released'])}" if m.get("released") else None
        title = ", ".join(filter(None, [m.get("label") or key, m.get("period") or as_of, released, m.get("vintage"),
                                        m.get("source")]))
        return {**m, "key": key, "text": text, "fmt": fmt, "title": title}

    def _href(self, key: str) -> str:
        """The number's row (label, as-of date, source) in the methodology page's table: provenance
        for keyboards and screen readers too, not a hover title alone."""
        return f"{self.page.root}{METHODOLOGY_PAGE}#{ROW_ID}{key}"

    def _linked(self, key: str, call: str, fmt: str | None = None) -> dict:
        return {"m": self._metric(key, call, fmt), "href": self._href(key)}

    def _in_unit_of(self, metric_key: str, value: object, call: str, fmt: str | None = None,
                    note: tuple[str, str] | None = None):
        """A claim's or watch item's value/threshold, in its metric's unit and the format build_data
        chose. Missing, a dash and a note marker: `note` = ("claim" or "watch", id), whose reason the
        page's notes give."""
        metric = self.lookup("metrics", metric_key, call)
        if value is None:
            return T.na(metric.get("reason") or NO_REASON, note=note)
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
        """One number from the snapshot, formatted by its unit, with a note marker: the page's
        notes give its source and date (one note per source and date). `fmt` overrides the
        format: pct, signed_pct, pp, bp, price, compact, int, number, ratio, date, month (each
        only where the unit allows it). A missing value shows "—" and a note with its reason."""
        call = f"metric({key!r})"
        m = self._metric(key, call, fmt)
        return T.value(m, self._href(key)) + self._source_ref(key)

    def _source_ref(self, key: str) -> str:
        """The note marker for a live number's source and date (none for a missing value: its
        dash carries the note with the reason)."""
        return "" if self.data["metrics"][key]["value"] is None else T.note_ref("metric", key)

    def period(self, key: str) -> str:
        """The period a macro figure is for, as the text names it: "Dec 2025" (monthly),
        "week to Jan 10, 2026" (weekly), "Q1 2025" (quarterly), the day (daily); a stale one
        says so ("Q1 2025, stale"). Empty for a metric without a period."""
        m = self.lookup("metrics", key, f"period({key!r})")
        if not m.get("period"):
            return ""
        return str(m["period"]) + (", stale" if m.get("stale") else "")

    def asof(self) -> str:
        """The snapshot's as-of trading date, e.g. "Jan 15, 2026"."""
        return T.time(self.data["as_of"])

    def data_status(self) -> str:
        """One paragraph on the data behind the site: mode, as-of date, build time, note."""
        built = self.data.get("built_at")
        when = self._try("data_status()", f.fmt_timestamp, built) if built else None
        return T.data_status(self.banner(), built, when)

    def fact(self, key: str) -> str:
        """A sourced fact that cannot be fetched live, with the precision it was published with
        ("61%", "33×") and a note marker: the page's notes give its source, date and age. An
        expired fact (past its max_age_days) reads as history: "was 18%, as of Jan 2026"."""
        call = f"fact({key!r})"
        fact = self.lookup("facts", key, call)
        if fact.get("absent"):  # dated after the as-of date: not public yet in this build
            return T.na(fact.get("reason") or "not yet published", "fact", key, note=("fact", key))
        value = self._try(call, f.format_fact_value, fact.get("value"), fact["unit"], fact.get("decimals"))
        return T.fact(key, {"text": fact.get("text"), "date": fact.get("date"), "numeric": fact["unit"] != "text",
                            "expired": fact.get("expired") is True}, value, T.note_ref("fact", key))

    # ------------------------------------------------------------ the page's notes

    def source_notes(self, markdown: str) -> str:
        """The page with its note markers numbered and its notes at the end: the source and date
        of each live number (one note per source and date), each fact's source, date and age (one
        per source and date), the reason each missing value is missing (one per reason). Each
        marker links to its note and each note back to the text: nothing hides behind a hover."""
        notes: dict[tuple, dict] = {}
        # Where each paragraph (or table row, or headline card) starts: a source is marked once per
        # paragraph, at its first number ("2,450¹ (+7.9% away) and 2,400 (+10.1%)" share one source
        # and date), and once per row or card. Every dash is.
        breaks = [m.end() for m in re.finditer(r'\n\s*\n|<tr[ >]|<span class="key-number">', markdown)]
        marked: set[tuple[int, tuple]] = set()

        def number(match: re.Match) -> str:
            kind, key = match.group(1), html.unescape(match.group(2))
            found = self._note(kind, key)
            if found is None:
                return ""
            group, item = found
            note = notes.setdefault(group, {"n": len(notes) + 1, "refs": 0, "items": [], **self._note_head(group)})
            if item not in note["items"]:
                note["items"].append(item)
            paragraph = (bisect.bisect_right(breaks, match.start()), group)
            if paragraph in marked and group[0] != "na":
                return ""
            marked.add(paragraph)
            note["refs"] += 1
            ref_id = f"note-ref-{note['n']}" + (f"-{note['refs']}" if note["refs"] > 1 else "")
            return T.note_link(note["n"], ref_id)

        body = NOTE_REF.sub(number, markdown)
        if not notes:
            return body
        for note in notes.values():
            # A reason shared by a whole table's cells names the first few of them.
            note["more"] = max(0, len(note["items"]) - NOTE_ITEMS) if note["kind"] == "na" else 0
            note["items"] = note["items"][:len(note["items"]) - note["more"]]
        return body.rstrip("\n") + "\n\n" + str(T.source_notes(list(notes.values()))) + "\n"

    def _note(self, kind: str, key: str) -> tuple[tuple, tuple] | None:
        """(what the note says, the number it is about) for one marker; None for a key the
        snapshot lacks (a marker left in the prose by hand)."""
        if kind == "fact":
            fact = self.data["facts"].get(key)
            if fact is None:
                return None
            if fact.get("absent"):
                return ("na", fact.get("reason") or "not yet published"), (fact.get("text") or key, None)
            age = fact.get("age_days")
            url = fact.get("url")
            return (("fact", fact.get("source") or "source not given",
                     url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
                     fact.get("date"), None if age is None else f.fmt_age(age),
                     fact.get("max_age_days") if fact.get("expired") is True else None),
                    (fact.get("text") or key, None))
        if kind in ("claim", "watch"):
            item = self.data["claims" if kind == "claim" else "watchlist"].get(key)
            if item is None:
                return None
            reason = item.get("reason") or self.data["metrics"].get(item["metric"], {}).get("reason") or NO_REASON
            return ("na", reason), (item.get("title") or key, None)
        m = self.data["metrics"].get(key)
        if m is None:
            return None
        label = m.get("label") or key
        if kind == "na" or m.get("value") is None:
            return ("na", m.get("reason") or NO_REASON), (label, None)
        return ("metric", m.get("source") or "source not given", m.get("as_of")), (label, self._href(key))

    @staticmethod
    def _note_head(group: tuple) -> dict:
        kind = group[0]
        if kind == "fact":
            return dict(zip(("kind", "source", "url", "date", "age", "limit"), group))
        if kind == "metric":
            return dict(zip(("kind", "source", "date"), group))
        return {"kind": kind, "reason": group[1]}

    # ------------------------------------------------------------ macros: claims and watchlist

    def claim(self, id: str) -> str:
        """A claim from the prose with a badge: "holds", "no longer holds" or "can't be checked",
        then its sentence and the number it rests on."""
        call = f"claim({id!r})"
        c = self.lookup("claims", id, call)
        state = CLAIM_STATES[c["holds"]]
        value = self._in_unit_of(c["metric"], c.get("value"), call, c.get("fmt"), ("claim", id))
        if c.get("value") is not None:
            value = esc(value) + self._source_ref(c["metric"])
        threshold = c.get("threshold")
        if threshold is not None:
            threshold = self._in_unit_of(c["metric"], threshold, call, c.get("fmt"))
        if state == "unknown":
            # Never a definite sentence: the claim's name, and why there is no verdict.
            reason = c.get("reason") or self.data["metrics"].get(c["metric"], {}).get("reason")
            return T.claim(id, c["title"], state, None, threshold, reason)
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

    def by_state(self, id: str, holds: str | None = None, fails: str | None = None, unknown: str | None = None,
                 caller=None) -> str:
        """Prose in the author's words for each state of a claim. As a block, the text for both
        verdicts: {% call(ok) by_state("overbought") %}{% if ok %}…{% else %}…{% endif %}{% endcall %};
        while the claim can't be checked, the block is replaced by a neutral line (`unknown`, or
        one of ours; the badge gives the reason). Inline, for a heading or a phrase:
        by_state("id", holds="…", fails="…", unknown="…")."""
        call = f"by_state({id!r})"
        c = self.lookup("claims", id, call)
        state = CLAIM_STATES[c["holds"]]
        if caller is not None:
            if holds is not None or fails is not None:
                raise self.fail(call, "as a block, write both verdicts inside it ({% if ok %}…{% else %}…{% endif %}); "
                                      "holds=/fails= are for the inline form")
            if state == "unknown":
                return T.unchecked(id, unknown or NO_VERDICT)
            return caller(c["holds"]) if _arity(caller) else caller()
        texts = {"holds": holds, "fails": fails, "unknown": unknown}
        missing = [k for k, v in texts.items() if not isinstance(v, str) or not v.strip()]
        if missing:
            raise self.fail(call, f"inline, by_state needs the text for each state: holds=, fails= and unknown= "
                                  f"(missing: {', '.join(missing)})")
        return T.state_text(id, state, texts[state])

    def needs(self, *keys: str, caller=None) -> str:
        """Prose that needs numbers: {% call needs() %}…{% endcall %} shows the passage while every
        number in it has a value; else one plain line naming what is missing, why, and since when,
        so a sentence never shows a dash. Keys named, needs("sectors.leader_ytd"), are required
        too, whether the passage prints them or not."""
        call = f"needs({', '.join(map(repr, keys))})"
        if caller is None:
            raise self.fail(call, "needs wraps the prose it guards: {% call needs(\"key\") %}…{% endcall %}")
        metrics = {k: self.lookup("metrics", k, call) for k in keys}
        body = caller()
        # The passage's own metric() calls count too: a number it shows as a dash is missing.
        for key in NA_KEY.findall(str(body)):
            metrics.setdefault(key, self.data["metrics"][key])
        missing = [self._missing(k, m) for k, m in metrics.items() if m["value"] is None]
        return T.missing(missing) if missing else body

    def _missing(self, key: str, m: dict) -> dict:
        """What needs() says of a missing metric: its label, reason, and since when it is missing
        (the last observation of the series it comes from, else the date the build looked)."""
        status = self.data.get("series_status") or {}
        aliases = [a for a in key.split(".", 1)[0].split("_vs_") if a in status]
        lasts = [status[a].get("last") for a in aliases]
        as_of = m.get("as_of") or self.data["as_of"]
        behind = sorted(d for d in lasts if d and d < as_of)
        since, word = (behind[0], "no data since") if behind else (as_of, "as of")
        return {"key": key, "label": m.get("label") or key, "reason": m.get("reason") or "not available",
                "since": since, "since_word": word}

    def until(self, date: str, after: str | None = None, caller=None) -> str:
        """A passage about a dated event, shown until that day: {% call until("2026-03-18",
        after="The March meeting has passed.") %}the March meeting is the first test{% endcall %}.
        From that day on the page shows `after` (or nothing), and the build lists the passage as
        overdue. With {% call(past) until(…) %} the block writes both texts itself."""
        call = f"until({date!r})"
        try:
            day = dt.date.fromisoformat(str(date))
        except ValueError:
            raise self.fail(call, "the date is YYYY-MM-DD, e.g. until(\"2026-03-18\")") from None
        if caller is None:
            raise self.fail(call, "until wraps the passage it dates: {% call until(\"2026-03-18\", after=\"…\") %}…{% endcall %}")
        past = dt.date.fromisoformat(self.data["as_of"]) >= day
        if _arity(caller):
            if after is not None:
                raise self.fail(call, "write the after-text inside the block ({% if past %}…{% endif %}) or as after=, not both")
            return caller(past)
        if not past:
            return caller()
        return Markup(after or "")

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
        mine = [c for c in self.data["claims"].values() if c.get("page") == group]
        failing = [{"title": c["title"], "since": c.get("since")} for c in mine if c.get("holds") is False]
        unknowns = [{"title": c["title"], "since": None} for c in mine if c.get("holds") is None]
        week = (self.data.get("summary") or {}).get("since")
        changed = [{"title": c["title"], "since": c.get("since"),
                    "verdict": {True: "now holds", False: "no longer holds", None: "can't be checked"}[c.get("holds")]}
                   for c in mine if week and c.get("previous") is not None and (c.get("since") or "") > week]
        return T.claims_tally(group, f"{group}-case" if label is None else str(label), held, failed, unknown,
                              failing, unknowns, changed, week)

    def this_week(self, archive: bool = True) -> str:
        """The home page's "this week" summary, written by build_data from this build and the
        previous week's last session: the week's moves, the claims and watch items that changed,
        the events the numbers made and the record drought, then a link to the archive of past
        weeks (`archive=false` leaves it out)."""
        summary = self.data.get("summary")
        if not summary:
            raise self.fail("this_week()", "the snapshot has no summary; rebuild it with `python -m build_data`")
        link = self.page.root + self.archive_root if archive and self.archive_root else None
        return T.this_week(summary["as_of"], summary.get("since"), summary.get("sentences") or [], link)

    def base_rate(self, id: str) -> str:
        """A claim's or watch item's base rate over the whole history: how often it began, and
        how the series stood 20 sessions later (share lower, median move), with the number of cases
        and the start of the data, e.g. `base_rate("overbought")`."""
        rate = self.lookup("base_rates", id, f"base_rate({id!r})")
        return T.history_line("base-rate", id, rate["text"])

    def history_note(self, key: str) -> str:
        """A history figure with its rank and the start of the data it is ranked in:
        "rut.drought" (the record drought), "records_ytd" (record closes this year),
        "rut_vs_spx.streak" (a pair's current run)."""
        call = f"history_note({key!r})"
        note = self.lookup("history_notes", key, call)
        if not note.get("text"):
            return T.history_line("history-note history-note--missing", key,
                                  "This figure cannot be computed from the data in this build.")
        return T.history_line("history-note", key, note["text"])

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
            rows.append({"id": id, "row_id": self._once(f"watch-{id}"), "kind": w["kind"], "title": w["title"],
                         "why": w.get("why"), "status": w["status"], "since": w.get("since"),
                         "next": self._next(w.get("next")),
                         "value": self._in_unit_of(w["metric"], w.get("value"), call, w.get("fmt"), ("watch", id)),
                         "note": "" if w.get("value") is None else self._source_ref(w["metric"]),
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
            value = T.value(self._metric(key, f"key_numbers([... {key!r} ...])", fmt), self._href(key)) \
                + self._source_ref(key)
            cards.append({"value": value, "label": self.label(key)})
        return T.key_numbers(cards)

    def sector_table(self, horizons: Sequence[str] = ("ret_1d", "ret_1m", "ret_ytd")) -> str:
        """Sector ETF returns, one row per sector in the snapshot's order (build_data sorts it).
        `horizons` picks the return columns (metric suffixes)."""
        call = "sector_table()"
        rows = [{"name": s["name"], "alias": s["alias"],
                 "values": [self._linked(f"{s['alias']}.{h}", call, "signed_pct") for h in horizons]}
                for s in self._listed("sectors", call)]
        return T.sector_table([self._basis_head("Sector", [f"{s['alias']}.{h}" for s in self._listed("sectors", call)
                                                           for h in horizons])]
                              + [self._horizon(h) for h in horizons], rows)

    def _basis_head(self, head: str, keys: list[str]) -> str:
        """A table's head with the basis its returns share, as the build labelled them:
        "Sector (total return)"; the head alone when they differ or say none."""
        bases = {self.data["metrics"].get(k, {}).get("basis") for k in keys}
        return f"{head} ({bases.pop()} return)" if len(bases) == 1 and bases <= {"price", "total"} else head

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
                         "above_key": lv["above_key"],
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
                 "reason": s.get("reason"), "quality": s.get("quality") or [],
                 "period": s.get("period"), "released": s.get("released"), "vintage": s.get("vintage")}
                for alias, s in self.data["series_status"].items()]
        return T.series_table(rows)

    def data_sources(self) -> str:
        """Where this build's prices and macro series actually came from (Yahoo Finance, FRED,
        local CSV files, the cache of earlier fetches, or the sample generator), with how many
        series each, from the snapshot's series status: never "Yahoo" for a CSV build."""
        groups: dict[str, dict[str, int]] = {"prices": {}, "macro": {}}
        for alias, st in self.data["series_status"].items():
            group = "prices" if f"{alias}.close" in self.data["metrics"] else "macro"
            where = st.get("source") or "none"
            if st.get("status") == "missing":
                where = "none"
            groups[group][where] = groups[group].get(where, 0) + 1
        rows = []
        for group, counts in groups.items():
            if not counts:
                continue
            total = sum(counts.values())
            parts = [(SOURCE_NAMES.get(src.split(":")[0], src), n) for src, n in
                     sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            rows.append({"group": "Prices" if group == "prices" else "Macro series", "total": total, "parts": parts})
        return T.data_sources(rows)

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
        src, image, image_dark, alt = self.page.src, "", "", ""
        if src.endswith(".md") and c.get("svg"):
            up = "../" * src.count("/") + self.site_folder
            image, alt = up + c["svg"], md_text(c["description"])
            image_dark = up + c["svg_dark"] if c.get("svg_dark") else ""
        return render("chart.html", id=id, chart=c, prefix=self.page.root + self.site_folder, image=image,
                      image_dark=image_dark, alt=alt)
