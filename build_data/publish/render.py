"""The only writer of build output: metrics.json (and metrics.csv), chart specs, SVG fallbacks,
chart data as CSV, the chart runtime.

Each chart is written four ways: the Vega-Lite source (`<id>.vl.json`), the Vega spec compiled
from it at the fallback's fixed width (`<id>.vg.json`, what the browser draws, so the page needs
no Vega-Lite compiler), the static SVG shown first (`<id>.svg`), and the data it shows
(`<id>.csv`). The compiled view and the SVG have the same size, so hydrating a chart moves nothing.

Phones get a narrow variant of both (`<id>.narrow.vg.json`, `<id>.narrow.svg`): the wide chart
scaled down to a 390 px screen would make its labels about 5 px tall. Each variant is fitted to
the text column it is shown in (FIT_WIDE at 1400 px, FIT_NARROW on a 390 px phone): its plot
width is set so that the whole SVG, axes and labels included, is that wide, so the text a reader
sees is the spec's size (charts.FONT), not a scaled-down one. The page serves the narrow one to
narrow screens (<picture>), and assets/charts.js draws the Vega spec that matches the image the
browser chose.

Both SVGs come in the light and the dark palette (`<id>.dark.svg`, `<id>.narrow.dark.svg`, with
charts.DARK_COLOURS and DARK_CONFIG): the page shows the dark ones under Material's dark scheme
with CSS alone, before any script runs (assets/site.css). A dark SVG is the light one recoloured
where that is exactly what drawing the dark spec gives (`_recoloured`), else drawn.

Drawing is the costly part (a Vega render each): the drawing that sizes a chart is kept when it
is the final one, and the widths the last build fitted a chart to are tried first
(`previous_widths`), so a daily rebuild draws each variant once.

`publish` renders one build into a staging folder and swaps it in for the output folder in one
step, so the output is always one build's, whole. Every file is written atomically too.
"""
from __future__ import annotations

import copy
import csv
import io
import json
import re
import time
from pathlib import Path

from build_data import atomic
from build_data.errors import BuildError
from build_data.publish import contract, feeds, output
from build_data.compute.charts import DARK_COLOURS, WIDTH_FALLBACK, Chart


def chart_entries(charts: list[Chart], missing_reason: str = "no data for this chart", universe=None) -> dict:
    """The snapshot's `charts` table, in config order: every chart the config declares (`universe`;
    else those given), with a reason where it could not be drawn. The card chart (config
    `card: true`, else the first) has `card: true` and, once drawn, a PNG for link previews."""
    built = {c.id: c for c in charts}
    ids = list(universe.charts) if universe is not None else []
    ids += [cid for cid in built if cid not in ids]
    card = universe.card_chart if universe is not None else next((c.id for c in charts if c.card), None)
    out = {}
    for cid in ids:
        c = built.get(cid)
        kind = c.kind if c is not None else universe.charts[cid].kind
        title = c.title if c is not None else universe.chart_title(cid)
        if c is not None and c.spec is not None:
            # `spec` is what the page draws (Vega); `source` the Vega-Lite it was compiled from.
            # `narrow_spec` and `narrow_svg`: the same chart drawn for phones (WIDTH_NARROW).
            out[cid] = {"title": title, "description": c.description, "kind": kind, "card": cid == card,
                        "spec": f"charts/{cid}.vg.json", "source": f"charts/{cid}.vl.json",
                        "svg": f"charts/{cid}.svg", "csv": f"charts/{cid}.csv",
                        "narrow_spec": f"charts/{cid}.narrow.vg.json", "narrow_svg": f"charts/{cid}.narrow.svg",
                        # The same SVGs for the dark palette.
                        "svg_dark": f"charts/{cid}.dark.svg", "narrow_svg_dark": f"charts/{cid}.narrow.dark.svg"}
            if cid == card:
                # Rendered once more as a PNG: link previews (Open Graph cards) do not show SVG.
                out[cid]["png"] = f"charts/{cid}.png"
        else:
            reason = c.reason if c is not None and c.reason else missing_reason
            out[cid] = {"title": title, "description": reason, "kind": kind, "card": cid == card,
                        "spec": None, "svg": None, "reason": reason}
    return out


# The widths the SVGs are fitted to: the text column at 1400 px (Material's content column, 688 px)
# and on a 390 px phone (390 px less the page's 16 px margins). The narrow one starts from a plot
# WIDTH_NARROW wide.
FIT_WIDE, FIT_NARROW = 688, 358
WIDTH_NARROW = 300
# The static drawings' text and axis colours (the live views take the page's, assets/charts.js).
LIGHT_CONFIG = {"axis": {"labelColor": "#4b4f57", "titleColor": "#1f2127", "domainColor": "#aeb3bb",
                         "tickColor": "#aeb3bb", "gridColor": "#e3e6ea"},
                "legend": {"labelColor": "#4b4f57", "titleColor": "#1f2127"},
                "title": {"color": "#1f2127", "subtitleColor": "#4b4f57"}}
DARK_CONFIG = {"background": "transparent",
               "axis": {"labelColor": "#c3c7d1", "titleColor": "#e6e8ee", "domainColor": "#6b7180",
                        "tickColor": "#6b7180", "gridColor": "#3a3f4b"},
               "legend": {"labelColor": "#c3c7d1", "titleColor": "#e6e8ee"},
               "title": {"color": "#e6e8ee", "subtitleColor": "#c3c7d1"}}
_HEX = re.compile("|".join(sorted(map(re.escape, DARK_COLOURS), key=len, reverse=True)), re.IGNORECASE)


def dark(spec: dict) -> dict:
    """The spec for the dark palette: every colour of charts.DARK_COLOURS swapped in one pass
    (data included: labelled rules carry their colour as data), and DARK_CONFIG's text colours."""
    text = _HEX.sub(lambda m: DARK_COLOURS[m.group(0).lower()], json.dumps(spec))
    out = json.loads(text)
    return _with_config(out, DARK_CONFIG)


def _with_config(spec: dict, extra: dict) -> dict:
    out = copy.deepcopy(spec)
    config = out.setdefault("config", {})
    for section, values in extra.items():
        config[section] = {**(config.get(section) or {}), **values} if isinstance(values, dict) else values
    return out


def _static(spec: dict, width: int = WIDTH_FALLBACK) -> dict:
    """A copy of the spec with a fixed plot width: "container" becomes `width`, and the panels of
    a concatenation get `width` less the room of their axes."""
    fixed = copy.deepcopy(spec)
    if fixed.get("width") == "container":
        fixed["width"] = width
    for key in ("vconcat", "hconcat", "concat"):
        for panel in fixed.get(key) or []:
            if isinstance(panel, dict) and isinstance(panel.get("width"), (int, float)):
                panel["width"] = max(120, width - 80)
    return fixed


def _still(spec: dict) -> dict:
    """The spec without what only a live view uses: the invisible layers that find the nearest
    point for tooltips (charts._hits, named "hits_…") and their selections."""
    hits = lambda name: str(name or "").startswith("hits_")

    def strip(node):
        if isinstance(node, dict):
            out = {k: strip(v) for k, v in node.items()}
            if isinstance(out.get("params"), list):  # Altair lifts a layer's selections to the top
                out["params"] = [p for p in out["params"] if not (p.get("views") and all(map(hits, p["views"])))]
                if not out["params"]:
                    del out["params"]
            return out
        if isinstance(node, list):
            return [strip(v) for v in node if not (isinstance(v, dict) and hits(v.get("name")))]
        return node
    return strip(spec)


def _svg(spec: dict) -> str:
    import vl_convert

    from build_data.publish.chart_runtime import vegalite_version
    return vl_convert.vegalite_to_svg(spec, vl_version=vegalite_version())


def fit(spec: dict, target: int, start: int) -> dict:
    """The spec at the plot width that makes its whole drawing `target` px wide (axes, labels and
    legend take what they take; the plot gets the rest)."""
    return _fitted(spec, target, start)[0]


def _fitted(spec: dict, target: int, start: int, guess: int | None = None) -> tuple[dict, str | None]:
    """`fit`, and the light drawing of its result when the sizing drawing is that drawing (the
    width it was drawn at is the fitted one), else None. The sizing drawing is the light one:
    colours do not move anything.

    `guess`, the plot width the last build fitted this chart to, is tried first: drawn at it, the
    chart is `target` wide exactly when its axes take the room they took at `start` (the room
    of the axes and labels does not grow with the plot), which is `fit`'s answer; that drawing is
    then the final one. Otherwise the chart is fitted from `start` as always."""
    tried = None
    if guess is not None and guess != start and guess >= 120:
        fixed = _static(spec, guess)
        tried = _svg(_light(fixed))
        if (svg_size_of(tried) or (None,))[0] == target:
            return fixed, tried
    first = _static(spec, start)
    light = _svg(_light(first))
    size = svg_size_of(light)
    if size is None:
        return first, light
    width = max(120, start - (size[0] - target))
    if width == start:
        return first, light
    return _static(spec, width), tried if width == guess else None


def _light(fixed: dict) -> dict:
    """What the light static drawing of a fixed-width spec draws."""
    return _with_config(_still(fixed), LIGHT_CONFIG)


# The light drawing's colours that the dark drawing has in their place: the text and axis colours
# (LIGHT_CONFIG -> DARK_CONFIG) and the palette's (charts.DARK_COLOURS).
def _dark_swaps() -> dict[str, str] | None:
    swaps: dict[str, str] = {}
    pairs = [(light.lower(), DARK_CONFIG[section][key].lower()) for section, values in LIGHT_CONFIG.items()
             for key, light in values.items()] + [(k.lower(), v.lower()) for k, v in DARK_COLOURS.items()]
    for light, dark_colour in pairs:
        if swaps.setdefault(light, dark_colour) != dark_colour:
            return None  # one light colour, two dark ones: only a drawing can tell
    return swaps


_SWAPS = _dark_swaps()
_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b")
_BACKDROP = re.compile(r'^(<svg\b[^>]*>)<rect width="[0-9.]+" height="[0-9.]+" fill="white"/>')


def _recoloured(still: dict, light_svg: str) -> str | None:
    """The dark drawing of `still` made from its light drawing, when that gives the very SVG the
    dark spec draws: the same shapes, with every swapped colour exchanged and no white backdrop
    (DARK_CONFIG's background is transparent). None when it might not: a colour of the light
    text palette used by the spec itself, a colour not written as hex, or a backdrop of its own."""
    if _SWAPS is None or "background" in (still.get("config") or {}) or "rgb(" in light_svg:
        return None
    text = json.dumps(still).lower()
    spec_colours = set(_COLOUR.findall(text))
    config_only = {c for c in _SWAPS if c not in DARK_COLOURS}  # LIGHT_CONFIG's colours
    if spec_colours & config_only:
        return None
    drawn = {c.lower() for c in _COLOUR.findall(light_svg)}
    if any(c in _SWAPS and c not in config_only and c not in spec_colours for c in drawn):
        return None  # a palette colour the spec does not name: Vega's own, which the dark spec keeps
    body, n = _BACKDROP.subn(r"\1", light_svg, count=1)
    if n != 1:
        return None
    return _COLOUR.sub(lambda m: _SWAPS.get(m.group(0).lower(), m.group(0)), body)


def chart_rows(spec: dict) -> tuple[list[str], list[dict]]:
    """The rows a chart shows: every inline dataset of the spec, as (columns, rows).

    Layers with their own data (a reference line, a panel of a concatenation) add their rows;
    columns are the union, in order of first appearance, blank where a row has no such field."""
    # The largest dataset (the chart's series) first, then reference layers; stable whatever the
    # order of the spec's keys.
    named = sorted((spec.get("datasets") or {}).items(), key=lambda kv: (-len(kv[1]), kv[0]))
    datasets = [values for _, values in named]
    stack = [spec]
    while stack:  # inline `data.values` anywhere in the spec (Altair normally uses `datasets`)
        node = stack.pop()
        if isinstance(node, dict):
            values = (node.get("data") or {}).get("values") if isinstance(node.get("data"), dict) else None
            if isinstance(values, list):
                datasets.append(values)
            stack.extend(v for k, v in node.items() if k not in ("datasets", "data"))
        elif isinstance(node, list):
            stack.extend(node)
    columns: list[str] = []
    rows, seen = [], set()
    for row in (row for data in datasets for row in data if isinstance(row, dict)):
        # Drawing aids (where a label goes, a rule's colour) are not data; a line's end point,
        # drawn again for its label, is listed once.
        row = {k: v for k, v in row.items() if k not in DRAWING_FIELDS}
        key = json.dumps(row, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns, rows


# Fields of a chart's data that only place or colour marks (build_data/compute/charts.py).
DRAWING_FIELDS = frozenset({"label_y", "colour", "dash"})


# A spreadsheet runs a cell that starts with one of these as a formula: text from config or a
# source (a label, a fact) is written with a leading apostrophe instead. Numbers stay numbers.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(columns: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows({k: _cell(row.get(k)) for k in columns} for row in rows)
    return buf.getvalue()


def metrics_csv(snapshot: dict) -> str:
    """Every number in the snapshot, one row per metric key (empty value with the reason)."""
    columns = ["key", "value", "unit", "as_of", "label", "source", "reason"]
    rows = [{"key": k, **{c: m.get(c) for c in columns[1:]}} for k, m in sorted(snapshot.get("metrics", {}).items())]
    return to_csv(columns, rows)


def _reuse(previous: Path | None, out_dir: Path, names: list[str], source: str) -> bool:
    """Copy `names` from the previous output when its `source` file (the first name) holds exactly
    `source`: what is rendered from an unchanged spec or runtime version needs no rendering again."""
    if previous is None or not all((previous / n).is_file() for n in names):
        return False
    if (previous / names[0]).read_text(encoding="utf-8") != source:
        return False
    for n in names[1:]:
        atomic.write_bytes(out_dir / n, (previous / n).read_bytes())
    atomic.write_text(out_dir / names[0], source)
    return True


# What each chart is drawn as, besides its Vega-Lite source `<id>.vl.json` (see draw_chart).
CHART_FILES = ("vg.json", "svg", "dark.svg", "csv", "narrow.vg.json", "narrow.svg", "narrow.dark.svg")


def draw_chart(spec: dict, *, card: bool = False, widths: dict[str, int] | None = None) -> dict[str, str | bytes]:
    """{file extension: content} for one chart's Vega-Lite spec: the Vega spec and the SVGs (light
    and dark) fitted to the 1400 px text column, the data as CSV, the narrow Vega spec and SVGs
    fitted to a phone's, and with `card`, a PNG for link previews. `widths` ({"": wide,
    "narrow.": narrow}, see `previous_widths`): the plot widths the last build fitted it to,
    tried first (see `_fitted`)."""
    import vl_convert  # loaded only when a chart must be drawn

    from build_data.publish.chart_runtime import compile_to_vega

    def vega(fixed: dict) -> str:
        return json.dumps(compile_to_vega(fixed), sort_keys=True, separators=(",", ":"))

    files: dict[str, str | bytes] = {}
    for prefix, target, start in (("", FIT_WIDE, WIDTH_FALLBACK), ("narrow.", FIT_NARROW, WIDTH_NARROW)):
        fixed, light = _fitted(spec, target, start, (widths or {}).get(prefix))
        light = light if light is not None else _svg(_light(fixed))
        still = _still(fixed)
        files[f"{prefix}vg.json"] = vega(fixed)
        files[f"{prefix}svg"] = light
        # The dark drawing: the light one recoloured where that is exactly what Vega draws.
        files[f"{prefix}dark.svg"] = _recoloured(still, light) or _svg(dark(still))
        if not prefix:
            files["csv"] = to_csv(*chart_rows(spec))
    if card:  # the light wide drawing rasterized (what vegalite_to_png draws of the same spec)
        files["png"] = vl_convert.svg_to_png(files["svg"], scale=1.5)
    return files


def previous_widths(previous: Path | None, cid: str, spec: dict) -> dict[str, int]:
    """The plot widths (wide "", narrow "narrow.") a chart was fitted to in the last output, read
    back from its Vega specs there: a single view's `width`; a concatenation's panels are drawn
    80 px narrower than the plot width (`_static`)."""
    out: dict[str, int] = {}
    if previous is None:
        return out
    panels = any(isinstance(p, dict) and isinstance(p.get("width"), (int, float))
                 for key in ("vconcat", "hconcat", "concat") for p in spec.get(key) or [])
    if not panels and spec.get("width") != "container":
        return out
    for prefix in ("", "narrow."):
        try:
            width = json.loads((previous / "charts" / f"{cid}.{prefix}vg.json").read_text(encoding="utf-8")).get("width")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(width, int) and not isinstance(width, bool):
            if panels:
                if width > 120:  # a panel at its floor (120) does not tell the plot width
                    out[prefix] = width + 80
            else:
                out[prefix] = width
    return out


def write_charts(out_dir: Path, charts: list[Chart], log, previous: Path | None = None) -> list[Path]:
    written = []
    for c in (c for c in charts if c.spec is not None):
        spec_text = json.dumps(c.spec, sort_keys=True, separators=(",", ":"))
        card = c.card
        names = [f"charts/{c.id}.{ext}" for ext in ("vl.json", *CHART_FILES, *(["png"] if card else []))]
        written += [out_dir / n for n in names]
        t0 = time.perf_counter()
        if _reuse(previous, out_dir, names, spec_text):
            log(f"  chart {c.id}: unchanged, kept")
            continue
        atomic.write_text(out_dir / names[0], spec_text)
        widths = previous_widths(previous, c.id, c.spec)
        for ext, content in draw_chart(c.spec, card=card, widths=widths).items():
            path = out_dir / "charts" / f"{c.id}.{ext}"
            if isinstance(content, bytes):
                atomic.write_bytes(path, content)
            else:
                atomic.write_text(path, content)
        log(f"  chart {c.id}: Vega, SVG and CSV, wide and narrow ({time.perf_counter() - t0:.2f}s)")
    return written


def svg_size(path: Path) -> tuple[int, int] | None:
    """The width and height of an SVG's root element, so the page reserves the chart's space."""
    return svg_size_of(path.read_text(encoding="utf-8", errors="replace"))


def svg_size_of(text: str) -> tuple[int, int] | None:
    root = re.search(r"<svg\b[^>]*>", text[:2000])
    size = [re.search(rf'\s{name}="(\d+(?:\.\d+)?)"', root.group(0)) if root else None for name in ("width", "height")]
    return (round(float(size[0].group(1))), round(float(size[1].group(1)))) if all(size) else None


def with_chart_files(out_dir: Path, snapshot: str | dict, vendor: bool) -> str:
    """The snapshot's text with each drawn chart's SVG size, after checking that every file a chart
    entry names was written: the pages then need no file of their own to read or check.
    `snapshot` is metrics.json's text, or the dict `snapshot.to_dict` gives (not changed here)."""
    data = json.loads(snapshot) if isinstance(snapshot, str) else {**snapshot, "charts": {
        cid: dict(entry) for cid, entry in snapshot.get("charts", {}).items()}}
    for cid, entry in data["charts"].items():
        if not entry.get("spec"):
            continue
        names = [entry[k] for k in ("spec", "source", "svg", "svg_dark", "csv", "narrow_spec", "narrow_svg",
                                    "narrow_svg_dark", "png") if entry.get(k)]
        names += [contract.VENDOR_BUNDLE] if vendor else []
        missing = [n for n in names if not (out_dir / n).is_file()]
        if missing:
            raise BuildError(f"chart {cid}: {', '.join(missing)} not written to {out_dir.name}/")
        entry.update(dict(zip(("width", "height"), svg_size(out_dir / entry["svg"]) or (None, None))))
        if entry.get("narrow_svg"):
            entry.update(dict(zip(("narrow_width", "narrow_height"), svg_size(out_dir / entry["narrow_svg"]) or (None, None))))
    return contract.dumps(data)


def write_vendor(out_dir: Path) -> list[Path]:
    from build_data.publish.chart_runtime import chart_js_bundle

    written = []
    for name, text in chart_js_bundle().items():
        path = out_dir / "vendor" / name
        atomic.write_text(path, text)
        written.append(path)
    return written


def write_feeds(out_dir: Path, changes: list[dict], site_url: str, site_name: str | None = None,
                folder: str = "generated/") -> list[Path]:
    paths = [out_dir / "changes.json", out_dir / "changes.xml", out_dir / "sitemap.xml"]
    title = feeds.feed_title(site_name)
    atomic.write_text(paths[0], feeds.json_feed(changes, site_url, title=title, folder=folder))
    atomic.write_text(paths[1], feeds.rss_feed(changes, site_url, title=title))
    atomic.write_text(paths[2], feeds.EMPTY_SITEMAP)
    return paths


def write_all(out_dir: Path, snapshot: str | dict, charts: list[Chart], log, *, vendor: bool = True,
              changes: list[dict] | None = None, site_url: str = "http://127.0.0.1:8000/",
              site_name: str | None = None, feed_folder: str = "generated/",
              previous: Path | None = None) -> list[Path]:
    """Write charts (those whose spec is unchanged since `previous`, the last output, are copied
    from it), the chart runtime, the change feeds, then metrics.json last (pages read it), then
    prune leftovers. `snapshot`: metrics.json's text, or `snapshot.to_dict`'s dict, checked
    against the contract once, here, with the charts' sizes."""
    out_dir = Path(out_dir)
    written = write_charts(out_dir, charts, log, previous=previous)
    written += write_feeds(out_dir, changes or [], site_url, site_name, feed_folder)
    if vendor:
        written += write_vendor(out_dir)
    snapshot_json = with_chart_files(out_dir, snapshot, vendor)
    atomic.write_text(out_dir / "metrics.csv", metrics_csv(json.loads(snapshot_json)))
    written.append(out_dir / "metrics.csv")
    metrics_path = out_dir / "metrics.json"
    atomic.write_text(metrics_path, snapshot_json)
    written.append(metrics_path)
    keep = {p.resolve() for p in written}
    for sub in ("charts",):
        for old in (out_dir / sub).glob("*"):
            if old.is_file() and old.resolve() not in keep:
                old.unlink()
    return written


def publish(out_dir: Path, snapshot: str | dict, charts: list[Chart], log, **kwargs) -> list[Path]:
    """Render everything into a fresh staging folder, then swap it in for `out_dir` in one step:
    a kill, a full disk or an error leaves the previous output whole."""
    with output.staged(Path(out_dir)) as stage:
        written = write_all(stage, snapshot, charts, log, previous=Path(out_dir), **kwargs)
    return [Path(out_dir) / p.relative_to(stage) for p in written]
