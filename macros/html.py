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

import html
import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from build_data.publish import formatting as f

_MARKDOWN_INERT = {ord(c): f"&#{ord(c)};" for c in "[]()*`\\{}|"}
# An underscore starts emphasis only at a word edge; inside a word (rut_vs_spx) it is text.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_BREAKS = re.compile(r"\n\s*")


def esc(text: object) -> str:
    """Plain text for element content or a double-quoted attribute: HTML-escaped, on one line,
    and inert to Markdown."""
    one_line = " ".join(str(text).split("\n")).replace("\r", " ")
    return _EDGE_UNDERSCORE.sub("&#95;", html.escape(one_line, quote=True).translate(_MARKDOWN_INERT))


def md_text(text: object) -> Markup:
    """Plain text inside Markdown's own syntax (an image's alt text): Markdown's escapable
    characters backslash-escaped, on one line."""
    return Markup(re.sub(r"([\\`*_{}\[\]()|])", r"\\\1", " ".join(str(text).split())))


def _plain(value: object) -> Markup:
    return value if isinstance(value, Markup) else Markup("" if value is None else esc(value))


_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                          autoescape=True, finalize=_plain, undefined=jinja2.StrictUndefined)
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
