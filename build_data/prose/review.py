"""Prose that rests on claims: a page's front matter names, per section, the claims its argument
rests on (`rests_on: {"Momentum is stretched": [overbought]}`). When one of them no longer
holds, the section is under review: the page says so (macros), the build report lists it, and
`--strict-claims` fails the build. The scheduled workflow opens one issue per such claim, with
the body rendered here."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from build_data.errors import BuildError
from build_data.prose.naked import MACROS_OFF


@dataclass(frozen=True)
class Review:
    page: str          # path under docs/, e.g. "bear-case.md"
    section: str       # the heading text, as in front matter
    claim: str         # claim id
    title: str         # the claim's title
    since: str | None  # ISO date it stopped holding (None when the snapshot does not know)


def front_matter(text: str) -> dict:
    """A page's YAML front matter, or {} when it has none."""
    if not text.startswith("---\n"):
        return {}
    head, sep, _ = text[4:].partition("\n---")
    return (yaml.safe_load(head) or {}) if sep else {}


def rests_on(meta: dict, where: str, claims: dict) -> dict[str, list[str]]:
    """The page's `rests_on` map, checked: every claim id exists (else an error with the closest)."""
    value = meta.get("rests_on") or {}
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise BuildError(f"{where}: rests_on must map a section title to a list of claim ids")
    for section, ids in value.items():
        for cid in ids:
            if cid not in claims:
                near = ", ".join(difflib.get_close_matches(str(cid), list(claims), n=3, cutoff=0.0))
                raise BuildError(f"{where}: rests_on {section!r}: unknown claim {cid!r}; closest: {near}")
    return value


def _title(heading: str) -> str:
    """A Markdown heading's text: no leading or closing #s, no `{ #id .class }` attributes."""
    return re.sub(r"\s*\{[^}]*\}\s*$", "", heading.lstrip("#").strip()).rstrip("#").strip()


def failing_sections(markdown: str, meta: dict, where: str, claims: dict) -> list[tuple[int, str, list[str]]]:
    """(line of the heading, section title, ids of its claims that no longer hold), per section of
    the page under review. A section the page does not have is an error naming the closest."""
    titles = {i: _title(line) for i, line in enumerate(markdown.split("\n")) if re.match(r"#{1,6}\s", line)}
    out = []
    for section, ids in rests_on(meta, where, claims).items():
        found = [i for i, t in titles.items() if t == section]
        if not found:
            near = ", ".join(repr(t) for t in difflib.get_close_matches(section, sorted(set(titles.values())), n=3,
                                                                         cutoff=0.0))
            hint = f"closest: {near}" if near else "the page has no headings"
            raise BuildError(f"{where}: rests_on: no section titled {section!r} on this page; {hint}")
        failing = [cid for cid in ids if claims[cid].get("holds") is False]
        if failing:
            out.append((found[0], section, failing))
    return out


def under_review(snap: dict, docs_dir: Path) -> list[Review]:
    """Every (page, section, claim) whose claim no longer holds in this snapshot."""
    out = []
    for path in sorted(Path(docs_dir).rglob("*.md")):
        page = path.relative_to(docs_dir).as_posix()
        for section, ids in rests_on(front_matter(path.read_text(encoding="utf-8")), page, snap["claims"]).items():
            for cid in ids:
                claim = snap["claims"][cid]
                if claim.get("holds") is False:
                    out.append(Review(page, section, cid, claim.get("title") or cid, claim.get("since")))
    return out


def report_lines(reviews: list[Review]) -> list[str]:
    """For the build log: one line per section under review."""
    return [f"  under review: {r.page}, section {r.section!r}: {r.claim!r} ({r.title}) no longer holds"
            f"{' since ' + r.since if r.since else ''}" for r in reviews]


def issues(reviews: list[Review]) -> list[dict[str, str]]:
    """One issue per flipped claim (title, body, label), naming every section that rests on it."""
    by_claim: dict[str, list[Review]] = {}
    for r in reviews:
        by_claim.setdefault(r.claim, []).append(r)
    out = []
    for cid, rs in by_claim.items():
        since = f" since {rs[0].since}" if rs[0].since else ""
        title = f"{rs[0].title} ({cid}) no longer holds{since}"
        body = [f"The claim *{rs[0].title}* (`{cid}`) no longer holds{since}. Revisit:", ""]
        body += [f"- `docs/{r.page}`, section \"{r.section}\"" for r in rs]
        body += ["", "Opened by the scheduled build; it updates this issue while the claim stays flipped."]
        out.append({"claim": cid, "title": title, "body": "\n".join(body)})
    return out


# ---------------------------------------------------------------- arguments bound to their claims

# What is not the page's own Jinja: code (fenced or inline), raw blocks, comments ({## … ##}).
_NOT_TEMPLATE = re.compile(r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{##.*?##\}|```.*?```|~~~.*?~~~|`[^`\n]*`",
                           re.S)
_CLAIM_CALL = re.compile(r"""\{\{-?\s*claim\(\s*["']([^"']+)["']""")
_UNTIL_CALL = re.compile(r"""\{%-?\s*call(?:\([^)]*\))?\s+until\(\s*["']([^"']*)["']""")
_HEADING = re.compile(r"(#{1,6})\s")


def _template_lines(markdown: str) -> list[str]:
    """The page's lines with code, raw blocks and comments blanked (line numbers kept)."""
    return _NOT_TEMPLATE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), markdown).split("\n")


def _sections(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first line, end line, heading text) per heading: a section runs to the next heading of
    the same or a higher level. Text before the first heading is a section titled ""."""
    heads = [(i, len(m.group(1)), _title(line)) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    out = [(0, heads[0][0] if heads else len(lines), "")]
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1:] if lv <= level), len(lines))
        out.append((i, end, title))
    return out


def unbound_claims(markdown: str) -> list[tuple[int, str, str]]:
    """(line, section, claim id) for each claim badge whose section has no state-aware text: no
    by_state("id") block or phrase and no holds("id") test anywhere in it, heading included."""
    if MACROS_OFF.match(markdown):
        return []
    lines = _template_lines(markdown)
    sections = _sections(lines)
    out = []
    for n, line in enumerate(lines):
        for cid in _CLAIM_CALL.findall(line):
            # The claim's own section: the nearest heading above it, with its subsections.
            start, end, title = [s for s in sections if s[0] <= n][-1]
            bound = re.compile(rf"""\b(?:by_state|holds)\(\s*["']{re.escape(cid)}["']""")
            if not bound.search("\n".join(lines[start:end])):
                out.append((n + 1, title, cid))
    return out


def dated_passages(markdown: str) -> list[tuple[int, str]]:
    """(line, date) of each {% call until("YYYY-MM-DD") %} passage on the page."""
    if MACROS_OFF.match(markdown):
        return []
    return [(n + 1, d) for n, line in enumerate(_template_lines(markdown)) for d in _UNTIL_CALL.findall(line)]


def overdue(markdown: str, as_of: str) -> list[tuple[int, str]]:
    """The dated passages whose day has come by `as_of` (the page shows their after-text)."""
    return [(n, d) for n, d in dated_passages(markdown) if d <= as_of]


def prose_warnings(markdown: str, page: str, as_of: str, first_line: int = 1) -> list[str]:
    """The build's warnings for one page: badges without state-aware text, dated passages overdue.
    `first_line` is the file's line number of the markdown's first line (after front matter)."""
    shift = first_line - 1
    out = [f"claim without state-aware text: {page}, line {n}, section {section!r}: the badge of claim {cid!r} "
           f"can flip but the section's text does not; write the argument for each state with "
           f"{{% call(ok) by_state(\"{cid}\") %}}…{{% endcall %}} (or a neutral text and {{% if holds(\"{cid}\") %}})"
           for n, section, cid in [(n + shift, s, c) for n, s, c in unbound_claims(markdown)]]
    out += [f"overdue passage: {page}, line {n}: until(\"{d}\") has passed (data as of {as_of}); the page shows "
            f"its after-text (or drops the passage): rewrite it" for n, d in [(n + shift, d) for n, d in overdue(markdown, as_of)]]
    return out


def prose_report(snap: dict, docs_dir: Path) -> list[str]:
    """prose_warnings for every page of the site (the data build prints them)."""
    out = []
    for path in sorted(Path(docs_dir).rglob("*.md")):
        out += prose_warnings(path.read_text(encoding="utf-8"), path.relative_to(docs_dir).as_posix(), snap["as_of"])
    return out
