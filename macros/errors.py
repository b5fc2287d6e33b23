"""Author errors as a block the page and the terminal both show: the page, the line in the
source file (front matter counted), the call, what went wrong and the closest valid names.

mkdocs-macros passes every rendering error through its `format_error`. Under `make serve`
(`on_error_fail: false`) the block replaces the page and the server keeps running; in a
strict build (`make site`, CI) the plugin prints it and stops.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from jinja2 import TemplateSyntaxError, UndefinedError

# The names a page can call, refreshed by define_env: macros, filters and variables.
KNOWN_NAMES: set[str] = set()
# Pages whose macros failed in this render (their Markdown is now the error block): the hooks
# that run after the macros skip them, since the page's own text and sections are gone.
FAILED_PAGES: set[str] = set()


def front_matter_lines(source: str, markdown: str) -> int:
    """How many lines of the source file come before the Markdown that Jinja renders."""
    if markdown and source.endswith(markdown):
        return source[: len(source) - len(markdown)].count("\n")
    return 0


def template_line(error: BaseException) -> int | None:
    """The template line a rendering error came from (Jinja rewrites its traceback for this)."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    line, tb = None, error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def explain(error: BaseException) -> str:
    """The message, with "did you mean" for an undefined macro or variable name."""
    message = str(getattr(error, "message", None) or error)
    if isinstance(error, UndefinedError):
        name = re.search(r"'([^']+)' is undefined", message)
        if name:
            close = difflib.get_close_matches(name.group(1), sorted(KNOWN_NAMES), n=3, cutoff=0.5)
            message += f"; did you mean {', '.join(close)}?" if close else "; no macro or variable has a close name"
    return re.sub(r"^page [^:]+: ", "", message)


def error_block(error: BaseException, markdown: str, src: str, docs_dir: str | None) -> str:
    """A Markdown admonition (readable as text in the terminal too) naming page, line and cause."""
    source = ""
    if docs_dir and src:
        try:
            source = (Path(docs_dir) / src).read_text(encoding="utf-8")
        except OSError:
            pass
    line = template_line(error)
    where = src
    text_line = ""
    if line is not None:
        number = line + front_matter_lines(source, markdown)
        where += f", line {number}"
        lines = (source or markdown).splitlines()
        index = number - 1 if source else line - 1
        text_line = lines[index].strip() if 0 <= index < len(lines) else ""
    # Code spans and a fenced block: Markdown shows them literally and escapes any HTML.
    tick = lambda s: s.replace("`", "'")
    block = [f'!!! failure "Macro error in {where.replace(chr(34), chr(39))}"', "",
             f"    ``{tick(type(error).__name__)}: {tick(explain(error))}``"]
    if text_line:
        block += ["", "    ```text", f"    {text_line}", "    ```"]
    return "\n".join(block) + "\n"


def register(docs_dir: str | None) -> None:
    """Route mkdocs-macros' error formatting through error_block (absent under Zensical)."""
    try:
        from mkdocs_macros.errors import format_error
    except ImportError:
        return

    def _format(error, markdown, page):
        src = getattr(getattr(page, "file", None), "src_path", None) or "?"
        FAILED_PAGES.add(src)
        return error_block(error, markdown, src, docs_dir)

    for kind in (Exception, TemplateSyntaxError):  # the plugin registers its own for syntax errors
        format_error.register(kind, _format)
