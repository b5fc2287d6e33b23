"""HTML from the Jinja templates in macros/templates/: `render` for a whole template, `T.name(...)`
for one of the macros in fragments.html.

Every value a template prints is plain text, escaped by `esc`, unless it is already a rendered
fragment. MkDocs runs Markdown over the pages after the macros, attribute values included, so
`esc` also writes the characters Markdown could read as syntax as character references: a link,
emphasis or `{: attr }` in an editorial text stays literal text. Each fragment comes out on one
line, so a macro can sit in a list item or an admonition: a line break in a template, with the
indentation after it, is dropped.
"""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from build_data import formatting as f

_MARKDOWN_INERT = {ord(c): f"&#{ord(c)};" for c in "[]()*`\\{}|"}
# An underscore starts emphasis only at a word edge; inside a word (rut_vs_spx) it is text.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_BREAKS = re.compile(r"\n\s*")
TEMPLATES = Path(__file__).with_name("templates")


@functools.lru_cache(maxsize=8192)
def _esc(text: str) -> Markup:
    one_line = " ".join(text.split("\n")).replace("\r", " ")
    return Markup(_EDGE_UNDERSCORE.sub("&#95;", html.escape(one_line, quote=True).translate(_MARKDOWN_INERT)))


def esc(text: object) -> str:
    """Plain text for element content or a double-quoted attribute: HTML-escaped, on one line,
    and inert to Markdown."""
    return _esc(str(text))


def md_text(text: object) -> Markup:
    """Plain text inside Markdown's own syntax (an image's alt text): Markdown's escapable
    characters backslash-escaped, on one line."""
    return Markup(re.sub(r"([\\`*_{}\[\]()|])", r"\\\1", " ".join(str(text).split())))


def _plain(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return _esc("" if value is None else str(value))


def _compiled_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the temp folder (per user) between builds: compiling them costs
    a site build about a tenth of a second. A template's cache entry is keyed by its source."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          finalize=_plain, undefined=jinja2.StrictUndefined, bytecode_cache=_compiled_cache())
_ENV.filters.update(fmt_date=f.fmt_date, fmt_month=f.fmt_month, fmt_int=f.fmt_int)


def render(template: str, **context: object) -> Markup:
    """The named template with `context`, as one line of HTML."""
    return Markup(_LINE_BREAKS.sub("", _ENV.get_template(template).render(**context)))


class _Fragments:
    """`T.claim(...)` calls the macro `claim` of templates/fragments.html; the result is one line."""

    def __getattr__(self, name: str):
        macro = getattr(_ENV.get_template("fragments.html").module, name)
        return lambda *args, **kwargs: Markup(_LINE_BREAKS.sub("", macro(*args, **kwargs)))


T = _Fragments()
