"""Naked numbers: a literal number in a page's prose that equals a configured level, target,
threshold or fact, or a current metric as formatted, goes stale when the data moves. The build
names the page, the line and the macro that would keep it true."""
from __future__ import annotations

import re

from build_data import formatting as f

# A number as prose writes it: 2,500 · 2500 · 71.2 · 7.8% · $45.9bn · 198K · 18.1×
NUMBER = re.compile(r"(?<![\w.,/#&-])[$]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:%|bn|[KMB]\b|×)?(?![\w.]?\d|-\w)")
# What is not prose: macro calls and blocks, code, HTML tags and entities, link targets.
NOT_PROSE = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}|\{\{.*?\}\}|\{%.*?%\}|\{##.*?##\}|`[^`]*`|<[^>]*>|&#?\w+;|\]\([^)]*\)|\{[:#.][^}]*\}")


def _plain(text: str) -> float | None:
    try:
        return float(text.strip("$%×").removesuffix("bn").replace(",", ""))
    except ValueError:
        return None


def candidates(data: dict) -> tuple[dict[float, str], dict[str, str]]:
    """({raw value: macro}, {formatted text: macro}) for the numbers prose must not hard-code."""
    raw, shown = {}, {}
    levels = {item["key"] for section in ("levels", "targets") for item in data.get(section, [])}
    for key, m in data["metrics"].items():
        if m.get("value") is None or isinstance(m["value"], (bool, str, list)):
            continue
        call = f'metric("{key}")'
        if key in levels:
            raw.setdefault(float(m["value"]), call)
        try:
            text = f.format_value(m["value"], m["unit"])
        except (TypeError, ValueError):
            continue
        # Short figures ("12", "3.1") are too common in prose to be read as this metric.
        if len(text) >= 4 or text.endswith("%"):
            shown.setdefault(text.replace(f.MINUS, "-"), call)
    for key, fact in data["facts"].items():
        if isinstance(fact.get("value"), (int, float)) and not isinstance(fact["value"], bool):
            raw.setdefault(float(fact["value"]), f'fact("{key}")')
    for section, noun in (("claims", "claim"), ("watchlist", "watch item")):
        for item_id, item in data.get(section, {}).items():
            for which in ("threshold", "clear"):
                value, text = item.get(which), item.get(f"{which}_text")
                # threshold() prints what the snapshot formatted: an item without it has no call to offer.
                if not isinstance(text, str) or not isinstance(value, (int, float)) or isinstance(value, bool) \
                        or value in (0, 1):
                    continue
                call = f'threshold("{item_id}")' if which == "threshold" else f'threshold("{item_id}", "clear")'
                NOTES[call] = f"the {which} of {noun} {item_id!r}, set in the site config"
                raw.setdefault(float(value), call)
                if len(text) >= 4 or text.endswith("%"):
                    shown.setdefault(text.replace(f.MINUS, "-"), call)
    return raw, shown


# Why a suggested call fits, said after it (outside the braces: the call must stay valid Jinja).
NOTES: dict[str, str] = {}


_CANDIDATES: dict[int, tuple] = {}


MACROS_OFF = re.compile(r"---\n(?:.*\n)*?render_macros:\s*false\s*\n(?:.*\n)*?---\n")


def naked_numbers(markdown: str, data: dict, first_line: int = 1) -> list[tuple[int, str, str]]:
    """(line, number as written, macro to use) for each naked number in the page's prose. A page
    that turns the macros off (`render_macros: false`, e.g. a tutorial about another site) can use
    none, so it has none to use instead."""
    if MACROS_OFF.match(markdown):
        return []
    # Once per snapshot, not per page: formatting every metric is most of the check's cost.
    if id(data) not in _CANDIDATES:
        _CANDIDATES.clear()
        _CANDIDATES[id(data)] = (data, candidates(data))
    raw, shown = _CANDIDATES[id(data)][1]
    found, fenced = [], False
    for n, line in enumerate(markdown.splitlines(), start=first_line):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced or line.startswith("    "):
            continue
        for m in NUMBER.finditer(NOT_PROSE.sub(" ", line)):
            text = m.group(0)
            value = _plain(text)
            # Small whole numbers ("3 cuts", "10 sessions") are ordinary prose, not a stale figure.
            if value is not None and value == int(value) and abs(value) < 10 and text not in shown:
                continue
            macro = shown.get(text) or raw.get(value)
            if macro:
                found.append((n, text, macro))
    return found


def warnings(markdown: str, data: dict, page: str, first_line: int = 1) -> list[str]:
    """The build's warning for each naked number: the page, the line and the macro to write."""
    return [f"naked number in {page}, line {line}: {text!r} is a configured or current figure; "
            f"write {{{{ {macro} }}}}{f' ({NOTES[macro]})' if macro in NOTES else ''} so it follows the data"
            for line, text, macro in naked_numbers(markdown, data, first_line)]


# A rendered line that is a table or a strip of key numbers, where a dash (with its reason) may stand.
_NOT_A_SENTENCE = re.compile(r"\s*<(?:div class=\"table-wrap|span class=\"key-numbers\"|figure)")
_DASH = re.compile(r'<span class="na[ "][^>]*>')
_KEY = re.compile(r'data-key="([^"]+)"')


def placeholders(rendered: str) -> list[tuple[int, str]]:
    """(line, metric key) for each "not available" dash in the prose of a page whose macros ran:
    a sentence that needs a missing number must give way to needs()'s fallback line."""
    found, fenced = [], False
    for n, line in enumerate(rendered.splitlines(), start=1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced or _NOT_A_SENTENCE.match(line):
            continue
        found += [(n, k.group(1) if (k := _KEY.search(m.group(0))) else "?") for m in _DASH.finditer(line)]
    return found
