"""mkdocs-macros entry point (`module_name: macros`): wiring only.

Loads the snapshot that `python -m build_data` wrote, registers its macros and a few
formatting filters, and hands the data-mode banner to the theme (macros/theme/main.html).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# build_data (the snapshot contract, the review of claims) sits beside macros/ in the project;
# MkDocs puts only the config's folder on the path, and a fixture site links macros/ alone.
_PROJECT = str(Path(__file__).resolve().parents[1])
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

import functools  # noqa: E402
import inspect  # noqa: E402

from build_data import formatting  # noqa: E402
from build_data.prose import naked, review  # noqa: E402
from build_data.publish.contract import STAMP  # noqa: E402
from build_data.site import DEFAULT_SNAPSHOT  # noqa: E402

from . import errors  # noqa: E402
from .html import TEMPLATES, T  # noqa: E402
from .snapshot import MacroError, PageRef, Snapshot, SnapshotError  # noqa: E402

# Page macros, in the order the authoring page lists them. Each is a Snapshot method.
MACROS = ("metric", "period", "holds", "by_state", "needs", "until", "key_numbers", "asof", "data_status", "chart", "claim",
          "threshold", "claims_tally", "this_week", "base_rate", "history_note", "watch_table",
          "events_calendar",
          "fact", "changes_list", "sector_table", "levels_table", "targets_table", "series_table", "data_sources",
          "revisions_table", "metrics_table",
          "metric_reference", "config_reference")
BLOCK_MACROS = ("by_state", "needs", "until")
# Jinja filters for numbers an author writes into a page: {{ 0.0776 | pct }} -> 7.8%.
FILTERS = {name: getattr(formatting, f"fmt_{name}") for name in ("pct", "signed_pct", "pp", "price", "compact",
                                                                   "number", "date")}


def snapshot_path(conf) -> Path:
    """SNAPSHOT_PATH if set, else `extra.snapshot` relative to docs_dir."""
    override = os.environ.get("SNAPSHOT_PATH")
    if override:
        return Path(override).resolve()
    return Path(conf["docs_dir"]) / conf["extra"].get("snapshot", DEFAULT_SNAPSHOT)


def page_ref(env) -> PageRef:
    """The page being rendered. Guarded: Zensical's re-implementation differs on page.file."""
    try:
        page = env.page
    except AttributeError:
        return PageRef()
    try:
        src = page.file.src_path
    except Exception:
        src = getattr(page, "path", None) or getattr(page, "url", None) or "?"
    return PageRef(src=str(src), url=str(getattr(page, "url", "") or ""))


def describe(macros: dict) -> str:
    """A reference table of macros: call signature (optional arguments in brackets, as
    `metric(key, [fmt])`) and the first paragraph of each docstring."""
    rows = []
    for name, func in macros.items():
        # `caller` is Jinja's, for a {% call %} block: not an argument an author passes.
        params = [p for p in inspect.signature(func).parameters.values() if p.name != "caller"]
        sig = ", ".join(p.name if p.default is inspect.Parameter.empty else f"[{p.name}]" for p in params)
        rows.append([f"{name}({sig})", " ".join((inspect.getdoc(func) or "").split("\n\n", 1)[0].split())])
    return T.reference_table("macro-reference", ["Macro", "What it shows"], rows)


def _build_error(message: str) -> Exception:
    """MkDocs prints a PluginError as one line and aborts; elsewhere, a plain error."""
    try:
        from mkdocs.exceptions import PluginError
    except ImportError:
        return SnapshotError(message)
    return PluginError(message)


_loaded: dict[str, Snapshot] = {}
# Within one process (a `make serve` session), a macro called again with the same snapshot and
# templates, on the same page with the same arguments, gives the same HTML: a live reload after an
# edit to the prose reuses it instead of formatting every number again.
_reused: dict[tuple, object] = {}


def _reusing(snap: Snapshot, name: str, func):
    version = snap.data.get(STAMP), max(p.stat().st_mtime_ns for p in TEMPLATES.iterdir())
    if version[0] is None:
        return func
    if _reused and next(iter(_reused))[0] != version:
        _reused.clear()

    @functools.wraps(func)
    def call(*args, **kwargs):
        key = (version, snap.page, name, repr(args), repr(kwargs))
        if key not in _reused:
            _reused[key] = func(*args, **kwargs)
        return _reused[key]

    return call


def define_env(env):
    """Expose the build snapshot, its macros and formatters to the pages."""
    try:
        snap = Snapshot.load(snapshot_path(env.conf), docs_dir=env.conf["docs_dir"])
    except SnapshotError as e:
        raise _build_error(str(e)) from None
    _loaded["snapshot"] = snap
    if env.conf["extra"].get("archive"):  # an archived week (build_data/archive.py): the list is one level up
        snap.archive_root = "../"
    elif not has_archive(env.conf):  # no weeks archived (`make archive`): no link to a 404
        snap.archive_root = None
    snap.current_page = lambda: page_ref(env)
    # Block macros ({% call %}) render the caller's body: their output is not theirs to reuse.
    macros = {name: getattr(snap, name) if name in BLOCK_MACROS else _reusing(snap, name, getattr(snap, name))
              for name in MACROS}
    for name, func in macros.items():
        env.macro(func, name)

    def macro_reference() -> str:
        """This table: every macro with its signature and what it shows."""
        return describe({**macros, "macro_reference": macro_reference})

    env.macro(macro_reference, "macro_reference")
    for name, func in FILTERS.items():
        env.filter(func, name)
    env.variables["data_mode"] = snap.data["data_mode"]
    errors.register(env.conf["docs_dir"])
    errors.KNOWN_NAMES.update(env.macros, env.filters, env.variables)
    # The theme override reads this, so every page carries the banner without authors writing it.
    env.conf["extra"]["data_banner"] = snap.banner()
    env.conf["extra"]["social_card"] = social_card(snap)
    env.conf["extra"]["feeds"] = feeds(snap)
    # Zensical runs define_env per page and renders the theme from its first config: hand the
    # banner over through the page's metadata too (macros/theme/main.html reads either).
    page = getattr(env, "page", None)
    if isinstance(getattr(page, "meta", None), dict):
        page.meta["data_banner"] = env.conf["extra"]["data_banner"]
        page.meta["social_card"] = env.conf["extra"]["social_card"]
        page.meta["feeds"] = env.conf["extra"]["feeds"]


def has_archive(conf) -> bool:
    """Whether the site has archived weeks: the ones in the site folder the build replaces (the
    Makefile carries site/archive/ over) or already in the one it writes."""
    folders = [Path(conf["config_file_path"]).parent / "site"] if conf.get("config_file_path") else []
    folders += [Path(conf["site_dir"])] if conf.get("site_dir") else []
    return any((folder / "archive" / "index.html").is_file() for folder in folders)


def feeds(snap: Snapshot) -> dict[str, str] | None:
    """The change log's feeds, relative to the site root, for <link rel="alternate"> in every
    page's head (the build writes them beside metrics.json, with the empty sitemap.xml that
    Material's instant navigation fetches beside any rel=alternate link); None outside docs_dir,
    or where the build wrote no feeds (a link to nothing would be a 404 on every page)."""
    if snap.site_folder is None or not (snap.path.parent / "changes.xml").is_file() \
            or not (snap.path.parent / "sitemap.xml").is_file():
        return None
    return {"rss": snap.site_folder + "changes.xml", "json": snap.site_folder + "changes.json"}


def social_card(snap: Snapshot) -> str | None:
    """The link-preview image, relative to the site root: the PNG of the chart the snapshot marks
    as the card (config `card: true`, else the first chart); None if it has none."""
    png = next((c.get("png") for c in snap.data.get("charts", {}).values() if c.get("card") and c.get("png")), None)
    return None if png is None or snap.site_folder is None else snap.site_folder + png


def on_pre_page_macros(env):
    """Before a page's macros run: warn about naked numbers in its prose (page, line, macro)."""
    meta = getattr(getattr(env, "page", None), "meta", None) or {}
    if "snapshot" not in _loaded or meta.get("render_macros") is False:
        return
    src = page_ref(env).src
    try:
        source = (Path(env.conf["docs_dir"]) / src).read_text(encoding="utf-8")
    except OSError:
        source = ""
    first = errors.front_matter_lines(source, env.markdown) + 1
    data = _loaded["snapshot"].data
    for warning in naked.warnings(env.markdown, data, src, first) + review.prose_warnings(
            env.markdown, src, data["as_of"], first):
        print(f"WARNING -  {warning}", file=sys.stderr)


def on_post_page_macros(env):
    """After a page's macros ran: a note under each section whose claims no longer hold, and the
    page's notes (sources, dates, reasons) numbered, at its end."""
    page = getattr(env, "page", None)
    meta = getattr(page, "meta", None) or {}
    _dump_rendered(env, page)
    src = page_ref(env).src
    if meta.get("render_macros") is not False:
        for n, key in naked.placeholders(env.markdown):
            print(f"WARNING -  placeholder in prose: {src}, line {n} of the rendered page: {key!r} has no value "
                  f"and its sentence shows a dash; wrap the sentence in {{% call needs(\"{key}\") %}}…{{% endcall %}}",
                  file=sys.stderr)
    if src in errors.FAILED_PAGES:
        # A macro failed: the page is now its error block, without the sections `rests_on` names.
        errors.FAILED_PAGES.discard(src)
        return
    if "snapshot" not in _loaded:
        return
    try:
        if "rests_on" in meta:
            env.markdown = _loaded["snapshot"].under_review(env.markdown, meta)
        env.markdown = _loaded["snapshot"].source_notes(env.markdown)
    except MacroError as e:
        if env.config.get("on_error_fail", True):
            raise _build_error(str(e)) from None
        env.markdown = errors.error_block(e, env.markdown, src, env.conf["docs_dir"]) + env.markdown


def _dump_rendered(env, page) -> None:
    """For `make bench`: with MACROS_DUMP_DIR set, each page's Markdown after its macros ran, so
    the same pages can be built without the plugin to measure what the macros cost."""
    folder = os.environ.get("MACROS_DUMP_DIR")
    if folder and page is not None:
        target = Path(folder) / page_ref(env).src
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env.markdown, encoding="utf-8")
