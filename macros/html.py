"""HTML fragments from the Jinja templates in macros/templates/.

Every value a template prints is plain text, escaped by `formatting.esc` (HTML-escaped and inert
to the Markdown that MkDocs runs over the page afterwards), unless it is already a rendered
fragment. Each fragment comes out on one line, so a macro can sit in a list item or admonition:
line breaks in a template, with the indentation after them, are dropped.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from .formatting import esc

_LINE_BREAKS = re.compile(r"\n\s*")


def _plain(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup("" if value is None else esc(value))


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    finalize=_plain,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)


def render(template: str, **context: object) -> Markup:
    """The named template with `context`, as one line of HTML."""
    return Markup(_LINE_BREAKS.sub("", _ENV.get_template(template).render(**context)))


def fragment(html: str) -> Markup:
    """HTML built by another macro or template, to be inserted as it is."""
    return Markup(html)
