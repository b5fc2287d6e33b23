"""Chart specs (Vega-Lite v6, as Altair writes them): one builder per chart kind, dispatched by `BUILDERS`.

Config declares the charts (`charts:` in the site config: id -> kind, series, optional title,
annotations, card); this module knows kinds, never ids or aliases. Every plotted series is a
metric's daily history from the catalog, so a chart can never disagree with the numbers on the page.

Data is trimmed to the window each chart shows. Dates are written as plain `YYYY-MM-DD`
strings on a UTC time scale, so a session reads as the same day in every time zone.

Specs are assembled as plain dicts by a few helpers, one per Vega-Lite construct (`_enc` a
channel, `_mark`, `_chart` a unit view, `_layer`, `_vconcat`, `_finish` the top level), giving
exactly what Altair's `alt.layer(...).to_dict()` gives for these charts (the same keys in the same
order, data in top-level `datasets` named by Altair's hash, selections lifted to the views that
hold them). Altair itself gives the theme, the schema URL and the values of a frame of a column
type charts do not use. Building the specs through Altair objects deep-copied every layer, data
included, several times per chart (tests/test_charts_config.py checks the two ways agree).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd
from altair.utils import update_nested

from build_data import formatting
from build_data.compute import catalog
from build_data.compute import metrics as m
from build_data.compute.values import Data, Metric, history
from build_data.config import RETURN_HORIZONS

WIDTH_FALLBACK = 720  # SVG fallbacks need a fixed width; the interactive chart fills its container
# Line colours of the performance chart, in the order config lists its symbols. Hue is never the
# only difference: each series also has its own dash pattern and end marker, and its name at its end.
PALETTE = ["#d9480f", "#1c7ed6", "#343a40", "#2b8a3e", "#ae3ec9"]
DASHES = [[1, 0], [7, 3], [2, 2], [8, 3, 2, 3], [4, 4]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross"]
# Bar colours of a returns chart, one per horizon, in the order config lists them.
HORIZON_COLOURS = ["#1c7ed6", "#a5d8ff", "#7048e8", "#d0bfff", "#495057"]
ANNOTATION_COLOUR = "#495057"
LEVEL_COLOUR, TARGET_COLOUR, THRESHOLD_COLOUR = "#2b8a3e", "#ae3ec9", "#868e96"
PLATE_COLOUR = "#fffffe"  # the page's background behind labels (DARK_COLOURS gives the dark page's)
# Text size of axes, legends, titles and labels inside the plot, in SVG pixels. The published
# SVGs are fitted to the text column they are shown in (build_data/publish/render.py), so this is
# about the size a reader sees at 1400 px and on a 390 px phone: at least 11 px.
FONT = 13
CONFIG = {"axis": {"labelFontSize": FONT, "titleFontSize": FONT},
          "legend": {"labelFontSize": FONT, "titleFontSize": FONT},
          "title": {"fontSize": FONT + 1}, "header": {"labelFontSize": FONT, "titleFontSize": FONT}}
# Labels inside a plot (a line's name at its end, a level's name over its rule) keep this many
# pixels apart vertically, so two lines ending close together keep legible names.
LABEL_GAP = FONT + 2
# The colours of a dark-palette drawing: every colour a spec uses, made lighter for a dark page
# (build_data/publish/render.py draws the dark SVGs with it; assets/charts.js redraws live views with it).
DARK_COLOURS = {"#d9480f": "#ff922b", "#1c7ed6": "#4dabf7", "#343a40": "#e9ecef", "#2b8a3e": "#69db7c",
                "#ae3ec9": "#e599f7", "#7048e8": "#9775fa", "#495057": "#ced4da", "#868e96": "#adb5bd",
                "#a5d8ff": "#1864ab", "#d0bfff": "#5f3dc4", "#74c0fc": "#1c7ed6", "#e8590c": "#ffa94d",
                "#e03131": "#ff6b6b", "#c92a2a": "#ff8787", "#fffffe": "#1e2129"}


@dataclass
class Chart:
    id: str
    title: str
    description: str
    spec: dict | None
    reason: str | None = None     # why there is no spec (a series the chart needs has no data)
    kind: str = ""
    card: bool = False            # rendered as the link-preview PNG too


# ---- Vega-Lite constructs, as plain dicts ----------------------------------------------------------
# Vega-Lite objects are written with their keys in alphabetical order (a mark's `type` first), as
# Altair writes them.
_TYPES = {"Q": "quantitative", "N": "nominal", "T": "temporal", "O": "ordinal"}


def _obj(**props) -> dict:
    """A Vega-Lite object (scale, axis, legend, ...): its properties in alphabetical order."""
    return dict(sorted(props.items()))


def _enc(shorthand: str | None = None, **props) -> dict:
    """An encoding channel: "field:T" (the type letter left out for x2/y2, which have none) and
    its properties. A property given as None is written as null (no title, no legend, no scale)."""
    if shorthand is not None:
        name, _, kind = shorthand.partition(":")
        props["field"] = name
        if kind:
            props["type"] = _TYPES[kind]
    return _obj(**props)


def _const(value) -> dict:
    """A channel set to a constant (alt.value)."""
    return {"value": value}


def _mark(kind: str, **props) -> dict:
    return {"type": kind, **_obj(**props)}


def _nearest(name: str) -> dict:
    """A point selection of the nearest date under the pointer, cleared when the pointer leaves."""
    return {"name": name, "select": {"type": "point", "clear": "pointerout", "fields": ["date"],
                                     "nearest": True, "on": "pointerover"}}


@dataclass(eq=False)
class _View:
    """A view being assembled: its own Vega-Lite properties, its data frame (named in `datasets`
    by _finish), its selections and, for a layer or a concatenation, its views. Each view is
    placed in one parent only (assembling one may rename its layers and move its data)."""
    props: dict
    data: pd.DataFrame | None = None
    params: list[dict] = field(default_factory=list)
    views: list[_View] = field(default_factory=list)
    compose: str = ""  # "layer" or "vconcat"; "" for a unit view

    def properties(self, **props) -> _View:
        self.props.update(props)
        return self


def _chart(data: pd.DataFrame, mark: dict, *, name: str | None = None, params: list[dict] | None = None,
           **encoding) -> _View:
    """A unit view: `data` drawn as `mark` with these encoding channels."""
    props = {"mark": mark, "encoding": _obj(**encoding)}
    if name is not None:
        props["name"] = name
    return _View(props, data, list(params or []))


def _layer(*views: _View, **props) -> _View:
    return _compose("layer", views, props)


def _vconcat(*views: _View, **props) -> _View:
    return _compose("vconcat", views, props)


def _view_base(name: str) -> str:
    head, _, tail = name.rpartition("_")
    return (head or name) if head and tail.isdigit() else name


def _compose(how: str, views, props: dict) -> _View:
    """A layer or a concatenation of `views`, combined as Altair combines them: data shared by
    every view (the same frame) moves up to the parent; selections move up to the parent, each
    naming the views it applies to; with more than one view, the named layers of a layer view are
    renamed `<name>_<position>` (so the same layer in two panels stays two views). Selection
    names are unique within a chart (each `_hits` has its own), so none is merged or dropped."""
    views = list(views)
    data = views[0].data if views else None
    if data is not None and all(v.data is data for v in views):
        for v in views:
            v.data = None
    else:
        data = None
    params, many = [], len(views) > 1
    for i, view in enumerate(views):
        named = []
        if not view.compose:
            named = [view.props["name"]] if "name" in view.props else []
        elif many and view.compose == "layer":
            for unit in view.views:
                if not unit.compose and "name" in unit.props:
                    unit.props["name"] = f"{_view_base(unit.props['name'])}_{i}"
                    named.append(unit.props["name"])
        for param in view.params:
            params.append({**param, "views": named if named else param.get("views", [])})
        view.params = []
    return _View(dict(props), data, params, views, how)


# The keys a view's spec starts with; the others follow in alphabetical order.
_HEAD = {"": ("data", "mark"), "layer": ("layer",), "vconcat": ("vconcat",)}


def _plain(value):
    """A fresh copy of a spec fragment, numpy numbers as floats (as Altair writes them)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.number):
        return float(value)
    return value


def _rows(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as Altair writes them (its data transformer: sanitize, then records):
    strings, Python ints, Python floats with NaN and infinities as null. Read column by column
    for the column types charts use (Altair's own conversion costs a few milliseconds a frame
    however small); any other frame is left to Altair."""
    columns = []
    if len(frame.columns) and all(isinstance(c, str) for c in frame.columns) and not frame.columns.has_duplicates:
        for name in frame.columns:
            col = frame[name]
            kind = str(col.dtype)
            if kind in ("str", "string"):
                columns.append(col.to_numpy(dtype=object, na_value=None).tolist())
            elif kind == "float64":
                values = col.to_numpy()
                bad = ~np.isfinite(values)
                columns.append([None if b else v for v, b in zip(values.tolist(), bad.tolist())] if bad.any()
                               else values.tolist())
            elif kind == "int64":
                columns.append(col.to_numpy().tolist())
            else:
                break
        else:
            names = frame.columns.tolist()
            return [dict(zip(names, row)) for row in zip(*columns)]
    return alt.data_transformers.get()(frame)["values"]


def _dataset(frame: pd.DataFrame, datasets: dict, names: dict) -> str:
    """The name of `frame`'s rows in the chart's `datasets` (added there on first use), by
    Altair's hash of them."""
    key = id(frame)
    if key not in names:
        values = _rows(frame)
        text = json.dumps(values, sort_keys=True, default=str)
        name = "empty" if values == [{}] else "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]
        datasets.setdefault(name, values)
        names[key] = (name, frame)  # the frame is kept so its id is not reused during this chart
    return names[key][0]


def _spec(view: _View, datasets: dict, names: dict, inherited: bool = False) -> dict:
    """The Vega-Lite dict of `view` and its views; their data goes to `datasets`."""
    out = _plain(view.props)
    if view.data is not None:
        out["data"] = {"name": _dataset(view.data, datasets, names)}
    elif not view.compose and not inherited:
        out["data"] = {"name": "empty"}
        datasets.setdefault("empty", [{}])
    if view.params:
        out["params"] = _plain(view.params)
    if view.compose:
        out[view.compose] = [_spec(v, datasets, names, inherited or view.data is not None) for v in view.views]
    head = _HEAD[view.compose]
    return {**{k: out[k] for k in head if k in out}, **{k: out[k] for k in sorted(out) if k not in head}}


def _x(title: str | None = None, fmt: str = "%b %Y") -> dict:
    return _enc("date:T", title=title, scale={"type": "utc"},
                axis=_obj(format=fmt, tickCount="month", labelOverlap=True, grid=False))


def _frame(series: dict[str, pd.Series]) -> pd.DataFrame:
    """Long format with string dates: date | series | value."""
    parts = []
    for name, s in series.items():
        s = s.dropna()
        parts.append(pd.DataFrame({"date": s.index.strftime("%Y-%m-%d"), "series": name, "value": s.values}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["date", "series", "value"])


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:+.1%}"


def _num(v, digits: int = 0) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def _value(metrics: dict[str, Metric], key: str):
    met = metrics.get(key)
    return None if met is None else met.value


def _finish(chart: _View, cid: str, title: str, description: str) -> Chart:
    """The chart's top-level spec: Altair's theme under it, CONFIG, the schema URL and every
    frame as a named dataset. Not checked against the Vega-Lite schema here: the tests check
    every kind of chart's spec (tests/test_charts_config.py)."""
    chart.properties(description=description, config=_obj(**CONFIG))
    datasets: dict = {}
    spec = _spec(chart, datasets, {})
    spec["$schema"] = alt.SCHEMA_URL
    spec = update_nested(alt.theme.get()(), spec, copy=True)
    spec["datasets"] = datasets
    # The live view swaps these colours in under the dark palette (assets/charts.js), as the dark SVGs do.
    spec["usermeta"] = {"id": cid, "dark_colours": DARK_COLOURS}
    return Chart(cid, title, description, spec)


def _domain(values, pad: float = 0.04) -> list[float]:
    """A y domain over `values` with a little room at both ends, fixed (no "nice" rounding), so
    label positions computed here land where the chart draws them."""
    vals = [float(v) for v in values if v is not None and pd.notna(v)]
    if not vals:
        return [0.0, 1.0]
    lo, hi = min(vals), max(vals)
    room = (hi - lo) * pad or abs(hi) * pad or 1.0
    return [lo - room, hi + room]


def spread_labels(values: list[float], domain: list[float], height: float, gap: float = LABEL_GAP) -> list[float]:
    """Label positions (in data units) for labels wanted at `values`, moved apart just enough that
    any two are at least `gap` pixels apart on a plot `height` pixels tall over `domain`, and kept
    inside it. Order is kept: a label never jumps over its neighbour."""
    lo, hi = domain
    if not values or hi <= lo:
        return list(values)
    scale = height / (hi - lo)
    px = [(hi - v) * scale for v in values]  # from the top
    order = sorted(range(len(px)), key=lambda i: px[i])
    placed = [px[i] for i in order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    placed[-1] = min(placed[-1], height)
    for k in range(len(placed) - 2, -1, -1):
        placed[k] = min(placed[k], placed[k + 1] - gap)
    out = [0.0] * len(px)
    for k, i in enumerate(order):
        out[i] = hi - placed[k] / scale
    return out


def _ends(frame: pd.DataFrame, domain: list[float], height: float) -> pd.DataFrame:
    """Each series' last point, with `label_y`: where its name goes (spread apart)."""
    ends = frame.groupby("series", sort=False).tail(1).reset_index(drop=True)
    ends["label_y"] = spread_labels(ends["value"].tolist(), domain, height)
    return ends


def _fixed(domain: list[float]) -> dict:
    """A scale over exactly `domain` (no "nice" rounding, no zero)."""
    return _obj(domain=domain, nice=False, zero=False)


def _end_labels(ends: pd.DataFrame, y: dict, domain: list[float], colour: dict,
                shape: dict | None = None) -> list[_View]:
    """Direct labels: a marker on each line's last point and its name just right of it."""
    point = _chart(ends, _mark("point", filled=True, size=45, opacity=1),
                   x=_x(), y=y, color=colour, **({"shape": shape} if shape is not None else {}))
    label_y = _enc("label_y:Q", scale=_fixed(domain))
    text = _chart(ends, _mark("text", align="left", baseline="middle", dx=8, fontSize=FONT, fontWeight="bold"),
                  x=_x(), y=label_y, text=_enc("series:N"), color=colour)
    return [point, text]


def _hits(frame: pd.DataFrame, y: dict, tooltip: list[dict], name: str) -> _View:
    """What a pointer or a tap finds: the nearest point of the chart's data (a Voronoi cell around
    each, invisible), whose tooltip the live view shows. Left out of the static SVGs."""
    return _chart(frame, _mark("point", opacity=0, size=1), name=f"hits_{name}", params=[_nearest(name)],
                  x=_x(), y=y, tooltip=tooltip)


def _rules(rows: list[dict], domain: list[float], height: float) -> tuple[list[_View], list[_View]]:
    """Labelled horizontal lines (levels, targets, thresholds): rows of value, label, colour, dash.
    Each label sits just above its rule at the plot's left edge, spread apart when rules are close.
    (rules, labels): the rules go under the chart's lines, the labels over them."""
    if not rows:
        return [], []
    frame = pd.DataFrame(rows)
    frame["label_y"] = spread_labels(frame["value"].tolist(), domain, height)
    frame["dash"] = frame["dash"].map(lambda d: ",".join(map(str, d)))
    scale = _fixed(domain)
    rules, layers = [], []
    for dash, group in frame.groupby("dash", sort=False):
        rules.append(_chart(group, _mark("rule", strokeWidth=1.5, strokeDash=[int(x) for x in dash.split(",")]),
                            y=_enc("value:Q", scale=scale), color=_enc("colour:N", scale=None)))
    # A plate of the page's colour behind each label, so a line crossing it does not cross the text.
    unit = (domain[1] - domain[0]) / height
    for row in frame.itertuples():
        plate = pd.DataFrame({"top": [row.label_y + (FONT + 3) * unit], "bottom": [row.label_y + unit]})
        layers.append(_chart(plate, _mark("rect", color=PLATE_COLOUR, opacity=0.85),
                             x=_const(2), x2=_const(round(8 + len(str(row.label)) * (FONT - 1) * 0.56)),
                             y=_enc("top:Q", scale=scale), y2=_enc("bottom")))
    layers.append(_chart(frame, _mark("text", align="left", baseline="bottom", dx=4, dy=-2, fontSize=FONT - 1),
                         x=_const(0), y=_enc("label_y:Q", scale=scale), text=_enc("label:N"),
                         color=_enc("colour:N", scale=None)))
    return rules, layers


def _unit_of(metrics: dict[str, Metric]):
    return lambda key: metrics[key].unit if key in metrics else "index"


def signal_thresholds(universe, metric_keys, unit_of) -> list[dict]:
    """Thresholds of the claims and watch items that test any of `metric_keys`, one per value:
    value and label (the item's title, which names the number, else the title and the number)."""
    out: dict[float, tuple[bool, str]] = {}
    keys = set(metric_keys)
    for item in [*universe.claims.values(), *universe.watchlist.values()]:
        for cond in item.conditions:
            if cond.metric not in keys or cond.threshold is None:
                continue
            number = formatting.format_threshold(cond.threshold, unit_of(cond.metric),
                                                 formatting.display_format(cond.metric))
            title = item.title.format(threshold=number, clear="" if cond.clear is None else formatting.format_threshold(
                cond.clear, unit_of(cond.metric), formatting.display_format(cond.metric)))
            named = number in title
            # One label per value: the first title that names the number, else the first title.
            if float(cond.threshold) not in out or (named and not out[float(cond.threshold)][0]):
                out[float(cond.threshold)] = (named, title if named else f"{title}: {number}")
    return [{"value": v, "label": label} for v, (_, label) in sorted(out.items())]


def _tested(universe) -> list[str]:
    """The metrics the conditions of the claims and watch items test, in their order."""
    items = [*universe.claims.values(), *universe.watchlist.values()]
    return list(dict.fromkeys(cond.metric for item in items for cond in item.conditions))


def _window(s: pd.Series, start) -> pd.Series:
    return s.loc[start:].dropna()


def _annotations(decl, start, end) -> list[_View]:
    """The chart's annotations inside its window, as labelled vertical rules (no layers if none)."""
    rows = [{"date": a.date.isoformat(), "text": a.text} for a in decl.annotations
            if pd.Timestamp(start) <= pd.Timestamp(a.date) <= pd.Timestamp(end)]
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["date", "text"])
    rule = _chart(frame, _mark("rule", strokeDash=[3, 3], color=ANNOTATION_COLOUR),
                  x=_x(), tooltip=[_enc("date:N", title="Date"), _enc("text:N", title="Note")])
    text = _chart(frame, _mark("text", align="left", baseline="top", dx=3, dy=2, fontSize=FONT - 1,
                               color=ANNOTATION_COLOUR), x=_x(), y=_const(0), text=_enc("text:N"))
    return [rule, text]


def _names(data: Data) -> dict[str, str]:
    return data.universe.series_names()


def _label(data: Data, alias: str) -> str:
    """Short name for legends and bars: a symbol's `short`, else its name."""
    sym = data.universe.symbols.get(alias)
    if sym is not None:
        return sym.label
    derived = (getattr(data.universe, "derived", None) or {}).get(alias)
    return getattr(derived, "short", None) or _names(data)[alias]


def _unit_title(data: Data, alias: str) -> str:
    """What a price axis counts: index points or dollars (config `unit`), or a plain ratio."""
    sym = data.universe.symbols.get(alias)
    unit = sym.price_unit if sym is not None else getattr(
        (getattr(data.universe, "derived", None) or {}).get(alias), "unit", None)
    suffix = {"points": " (points)", "usd": " ($)"}.get(unit, "")
    return f"{_names(data)[alias]}{suffix}"


def performance(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    have = _with_data(data, decl.series)
    aliases = [a for a in decl.series if a in have]
    as_of = data.as_of
    base = m.ytd_base_date(as_of)
    sessions_in_base_year = data.closes.index[data.closes.index <= base]
    series = {}
    for a in aliases:
        # Strictly after the base session: on the base session itself (the previous year's last
        # close) ret_ytd is that whole previous year's return, not 0.
        ytd = history(f"{a}.ret_ytd", data)
        ytd = ytd[ytd.index > base]
        close = history(f"{a}.close", data)
        if not len(sessions_in_base_year) or pd.isna(close.get(sessions_in_base_year[-1])):
            continue  # no close at the previous year-end: nothing to rebase on
        base_point = pd.Series([100.0], index=sessions_in_base_year[-1:])
        series[_label(data, a)] = pd.concat([base_point, (1 + ytd.dropna()) * 100])
    data_long = _frame(series)
    labels = list(series)
    n, height = len(labels), 320
    pick = lambda seq: [seq[k % len(seq)] for k in range(n)]
    domain = _domain([*data_long["value"], 100.0])
    y = _enc("value:Q", title="Rebased (previous year-end = 100)", scale=_fixed(domain))
    colour = _enc("series:N", title=None, legend=None, scale=_obj(domain=labels, range=pick(PALETTE)))
    dash = _enc("series:N", title=None, legend=None, scale=_obj(domain=labels, range=pick(DASHES)))
    shape = _enc("series:N", title=None, legend=None, scale=_obj(domain=labels, range=pick(SHAPES)))
    line = _chart(data_long, _mark("line", strokeWidth=2), x=_x(), y=y, color=colour, strokeDash=dash)
    rule = _chart(pd.DataFrame({"y": [100]}), _mark("rule", strokeDash=[4, 4], color=THRESHOLD_COLOUR),
                  y=_enc("y:Q", scale=_fixed(domain)))
    hits = _hits(data_long, y, [_enc("date:N", title="Session"), _enc("series:N", title="Series"),
                                _enc("value:Q", format=".1f", title="Rebased")], "perf")
    names = _names(data)
    kind = catalog.combined([data.bases.get(a, "") for a in aliases])
    basis = f" ({kind} return)" if kind in ("price", "total") else ""
    desc = f"Year-to-date performance{basis}, rebased to 100 at the previous year's last close: " + "; ".join(
        f"{names[a]} {_pct(_value(metrics, f'{a}.ret_ytd'))}" for a in aliases) + f", as of {as_of.date()}."
    ends = _end_labels(_ends(data_long, domain, height), y, domain, colour, shape) if len(data_long) else []
    layers = [rule, line, *ends, *_annotations(decl, base, as_of), hits]
    return _finish(_layer(*layers).properties(width="container", height=height), cid,
                   data.universe.chart_title(cid), desc)


def trend(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    alias, universe, as_of = decl.series, data.universe, data.as_of
    name = _names(data)[alias]
    start = as_of - pd.DateOffset(years=1)
    series = {"Close": _window(history(f"{alias}.close", data), start),
              "50-day avg": _window(history(f"{alias}.sma_50", data), start),
              "200-day avg": _window(history(f"{alias}.sma_200", data), start)}
    frame, height = _frame(series), 340

    def known(item) -> bool:  # only levels and targets set by the as-of date
        return item.effective_from is None or pd.Timestamp(item.effective_from) <= data.as_of

    levels = [{"label": lv.label, "value": lv.value, "colour": LEVEL_COLOUR, "dash": [8, 3]}
              for lv in universe.levels.values() if lv.symbol == alias and known(lv)]
    levels += [{"label": t.label, "value": t.value, "colour": TARGET_COLOUR, "dash": [2, 3]}
               for t in universe.targets.values() if t.symbol == alias and known(t)]
    domain = _domain([*frame["value"], *(lv["value"] for lv in levels)])
    y = _enc("value:Q", title=_unit_title(data, alias), scale=_fixed(domain))
    names_ = list(series)
    colour = _enc("series:N", title=None, legend=None,
                  scale=_obj(domain=names_, range=["#d9480f", "#1c7ed6", "#868e96"]))
    lines = _chart(frame, _mark("line", strokeWidth=2),
                   x=_x(), y=y, color=colour,
                   strokeDash=_enc("series:N", title=None, legend=None,
                                   scale=_obj(domain=names_, range=[[1, 0], [7, 3], [2, 2]])))
    hits = _hits(frame, y, [_enc("date:N", title="Session"), _enc("series:N", title="Series"),
                            _enc("value:Q", format=",.2f", title="Value")], "trend")
    ends = _end_labels(_ends(frame, domain, height), y, domain, colour) if len(frame) else []
    desc = (f"{name} over the past year with its 50- and 200-day averages, the author's levels and the "
            f"analyst targets. Close {_num(_value(metrics, f'{alias}.close'), 2)}; 50-day "
            f"{_num(_value(metrics, f'{alias}.sma_50'), 2)}; 200-day {_num(_value(metrics, f'{alias}.sma_200'), 2)}.")
    rules, labels = _rules(levels, domain, height)
    layers = [*rules, lines, *labels, *ends, *_annotations(decl, start, as_of), hits]
    return _finish(_layer(*layers).properties(width="container", height=height), cid,
                   universe.chart_title(cid), desc)


def indicator(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    alias, universe, as_of = decl.series, data.universe, data.as_of
    name = _names(data)[alias]
    start = as_of - pd.DateOffset(years=1)
    r = _window(history(f"{alias}.rsi_14", data), start)
    hi, lo = universe.thresholds.rsi_overbought, universe.thresholds.rsi_oversold
    height, domain = 220, [0.0, 100.0]
    # The bands of `thresholds`, and the thresholds of the claims and watch items on this RSI.
    marks = {float(hi): f"{hi:g} overbought", float(lo): f"{lo:g} oversold"}
    for row in signal_thresholds(universe, [f"{alias}.rsi_14"], _unit_of(metrics)):
        marks.setdefault(row["value"], row["label"])
    rows = [{"value": v, "label": label, "colour": THRESHOLD_COLOUR, "dash": [4, 4]} for v, label in sorted(marks.items())]
    y = _enc("value:Q", title="RSI-14", scale=_fixed(domain))
    frame = _frame({"RSI-14": r})
    line = _chart(frame, _mark("line", color="#d9480f", strokeWidth=2), x=_x(), y=y)
    hits = _hits(frame, y, [_enc("date:N", title="Session"), _enc("value:Q", format=".1f", title="RSI-14")],
                 "rsi")
    desc = (f"Wilder RSI-14 of the {name} over the past year, with the {hi:g} and {lo:g} bands; latest "
            f"{_num(_value(metrics, f'{alias}.rsi_14'), 1)}.")
    rules, labels = _rules(rows, domain, height)
    layers = [*rules, line, *labels, *_annotations(decl, start, as_of), hits]
    return _finish(_layer(*layers).properties(width="container", height=height), cid,
                   universe.chart_title(cid), desc)


def volume(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    alias, as_of = decl.series, data.as_of
    name = _names(data)[alias]
    start = as_of - pd.DateOffset(months=6)
    bars = _frame({"Volume": _window(history(f"{alias}.volume", data), start)})
    line = _frame({"63-session average": _window(history(f"{alias}.volume_avg_63", data), start)})
    height = 220
    y = _enc("value:Q", title="Shares", axis={"format": "~s"})
    b = _chart(bars, _mark("bar", color="#74c0fc"),
               x=_x(), y=y,
               tooltip=[_enc("date:N", title="Session"), _enc("value:Q", format=",.0f", title="Volume")])
    ln = _chart(line, _mark("line", color="#e8590c", strokeWidth=2.5), x=_x(), y=_enc("value:Q"))
    colour = _enc("series:N", legend=None, scale=_obj(domain=["63-session average"], range=["#e8590c"]))
    ends = []
    if len(line):
        end = line.tail(1).assign(label_y=line["value"].iloc[-1])
        ends = [_chart(end, _mark("point", filled=True, size=45, opacity=1), x=_x(), y=_enc("value:Q"), color=colour),
                _chart(end, _mark("text", align="left", baseline="middle", dx=8, fontSize=FONT, fontWeight="bold"),
                       x=_x(), y=_enc("label_y:Q"), text=_const("63-session avg"), color=colour)]
    desc = (f"Daily {name} volume over six months against its 63-session average; last session "
            f"{_num(_value(metrics, f'{alias}.volume'))} shares, average {_num(_value(metrics, f'{alias}.volume_avg_63'))}.")
    layers = [b, ln, *ends, *_annotations(decl, start, as_of)]
    return _finish(_layer(*layers).properties(width="container", height=height), cid,
                   data.universe.chart_title(cid), desc)


def ratio(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    a, b = decl.series
    names = _names(data)
    start = data.as_of - pd.DateOffset(years=2)
    # A configured pair of the same two series has this ratio as a metric already: the same numbers.
    pair = next((k for k, p in data.universe.pairs.items() if (p.a, p.b) == (a, b)), None)
    r = history(f"{pair}.ratio", data) if pair else history(f"{a}.close", data) / history(f"{b}.close", data)
    r = _window(r, start)
    frame = _frame({"Ratio": r})
    # The axis title runs along a 220 px axis: short names ("SMH / SOXX"), as legends use.
    y = _enc("value:Q", title=f"{_label(data, a)} / {_label(data, b)}", scale={"zero": False})
    line = _chart(frame, _mark("line", color="#d9480f", strokeWidth=2), x=_x(), y=y)
    hits = _hits(frame, y, [_enc("date:N", title="Session"), _enc("value:Q", format=".4f", title="Ratio")],
                 "ratio")
    desc = f"{names[a]} divided by the {names[b]} over two years; a rising line means the {names[a]} outperforms. "
    if pair:
        desc += (f"Current streak of sessions beating the {names[b]}: "
                 f"{_num(_value(metrics, f'{pair}.outperf_streak'))}.")
    else:
        desc += f"Latest ratio: {_num(r.iloc[-1] if len(r) else None, 4)}."
    layers = [line, *_annotations(decl, start, data.as_of), hits]
    return _finish(_layer(*layers).properties(width="container", height=220), cid, data.universe.chart_title(cid), desc)


# How a horizon reads before "returns" ("Year-to-date and 1-month returns").
_HORIZON_ADJ = {"1d": "1-day", "1m": "1-month", "3m": "3-month", "ytd": "year-to-date", "1y": "1-year"}


def returns(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    have = _with_data(data, decl.series)
    aliases = [a for a in decl.series if a in have]
    labels = [RETURN_HORIZONS[h] for h in decl.horizons]
    rows = [{"sector": _label(data, a), "horizon": RETURN_HORIZONS[h], "value": _value(metrics, f"{a}.ret_{h}")}
            for a in aliases for h in reversed(decl.horizons)]
    rows = [r for r in rows if r["value"] is not None]
    kind = catalog.combined([data.bases.get(a, "") for a in aliases])
    word = f"{kind} return" if kind in ("price", "total") else "return"   # what the bars count
    frame = pd.DataFrame(rows, columns=["sector", "horizon", "value"])
    first = frame[frame.horizon == labels[0]].sort_values("value", ascending=False)
    order = first["sector"].tolist()
    bars = _chart(frame, _mark("bar"),
                  y=_enc("sector:N", sort=order, title=None),
                  x=_enc("value:Q", title=word.capitalize(), axis={"format": "%"}),
                  yOffset=_enc("horizon:N", sort=labels),
                  color=_enc("horizon:N", title=None, sort=labels,
                             scale={"range": HORIZON_COLOURS[:len(labels)]}, legend={"orient": "top"}),
                  tooltip=[_enc("sector:N"), _enc("horizon:N"),
                           _enc("value:Q", format="+.1%", title=word.capitalize())])
    adjs = [_HORIZON_ADJ[h] for h in decl.horizons]
    what = (", ".join(adjs[:-1]) + " and " + adjs[-1]) if len(adjs) > 1 else adjs[0]
    noun = "sector funds" if set(decl.series) == set(data.universe.sectors) else "series"
    leader, laggard = (order[0], order[-1]) if order else (None, None)
    when = "this year" if decl.horizons[0] == "ytd" else f"over {RETURN_HORIZONS[decl.horizons[0]].lower()}"
    desc = (f"{what[0].upper() + what[1:]} {word}s of the {len(aliases)} {noun} as of {data.as_of.date()}; "
            f"leader {when}: {leader or 'n/a'}, laggard: {laggard or 'n/a'}.")
    # The height follows the number of bars; only the width fits the container.
    sized = bars.properties(width="container", height={"step": 11}, autosize=_obj(type="fit-x", contains="padding"))
    return _finish(sized, cid, data.universe.chart_title(cid), desc)


def _panel_key(data: Data, name: str) -> str:
    """The metric a macro panel plots: a range, else the series' first derived metric, else its latest."""
    if name in data.universe.ranges:
        return f"{name}.range"
    derived = data.universe.macro[name].derived
    return f"{name}.{derived[-1] if derived and derived[-1] == 'yoy' else 'latest'}"


MACRO_PANEL_HEIGHT = 120


def macro(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    start = data.as_of - pd.DateOffset(years=3)
    panels, parts = [], []
    for name in decl.series:
        key = _panel_key(data, name)
        s = history(key, data).loc[start:]
        met = metrics[key]
        title = data.universe.ranges[name].name if name in data.universe.ranges else (
            met.label if key.endswith(".yoy") else data.universe.macro[name].name)
        if not len(s):
            continue
        if met.unit == "percent_range":
            ranges = s.tolist()
            band = pd.DataFrame({"date": s.index.strftime("%Y-%m-%d"), "lo": [v[0] for v in ranges],
                                 "hi": [v[1] for v in ranges]})
            # Daily observations of a step function: keep only the days the range changed, plus the first and last.
            changed = (band[["lo", "hi"]].diff().abs().sum(axis=1) > 0) | (band.index == band.index[0]) | (
                band.index == band.index[-1])
            panel, title = _chart(band[changed], _mark("area", interpolate="step-after", color="#7048e8", opacity=0.5),
                                  x=_x(), y=_enc("lo:Q", title=None), y2=_enc("hi"),
                                  tooltip=[_enc("date:N", title="From"), _enc("lo:Q"), _enc("hi:Q")]), f"{title} (%)"
            now = "n/a" if met.value is None else f"{met.value[0]:.2f}–{met.value[1]:.2f}%"
        else:
            fraction = met.unit == "fraction"
            frame = _frame({title: s})
            # The thresholds of the claims and watch items on this series, in the panel's unit (the
            # metrics their conditions test, not every metric: there are thousands).
            keys = [k for k in _tested(data.universe) if k.startswith(f"{name}.") and k in metrics
                    and metrics[k].unit == met.unit]
            rows = [{**row, "colour": THRESHOLD_COLOUR, "dash": [4, 4]}
                    for row in signal_thresholds(data.universe, keys, _unit_of(metrics))]
            domain = _domain([*frame["value"], *(row["value"] for row in rows)], pad=0.08)
            y = _enc("value:Q", title=None, axis={"format": "%" if fraction else "~s"}, scale=_fixed(domain))
            line = _chart(frame, _mark("line", color="#e8590c" if fraction else "#1c7ed6", strokeWidth=2), x=_x(), y=y)
            hits = _hits(frame, y, [_enc("date:N", title="Observed"),
                                    _enc("value:Q", format=".1%" if fraction else ",.2f", title=title)],
                         f"macro{len(panels)}")
            rules, labels = _rules(rows, domain, MACRO_PANEL_HEIGHT)
            panel = _layer(*rules, line, *labels, hits)
            now = _pct(met.value) if fraction else _num(met.value, 0 if met.unit == "count" else 2)
        marks = _annotations(decl, s.index[0], data.as_of)
        panel = _layer(panel, *marks, title=title)
        panels.append(panel)
        parts.append(f"{title.removesuffix(' (%)')} (latest {now})")
    desc = "Macro panel over three years: " + "; ".join(parts) + "."
    chart = _vconcat(*[p.properties(width=WIDTH_FALLBACK - 80, height=MACRO_PANEL_HEIGHT) for p in panels], spacing=18)
    return _finish(chart, cid, data.universe.chart_title(cid), desc)


def drawdown(data: Data, metrics: dict[str, Metric], cid: str, decl) -> Chart:
    alias, as_of = decl.series, data.as_of
    name = _names(data)[alias]
    start = as_of - pd.DateOffset(years=2)
    dd = _window(history(f"{alias}.drawdown", data), start)
    frame = _frame({"Drawdown": dd})
    y = _enc("value:Q", title="Below the record close", axis={"format": "%"})
    area = _chart(frame, _mark("area", color="#e03131", opacity=0.35, line={"color": "#c92a2a"}), x=_x(), y=y)
    hits = _hits(frame, y, [_enc("date:N", title="Session"), _enc("value:Q", format=".1%", title="Drawdown")],
                 "drawdown")
    record, day = _value(metrics, f"{alias}.record_close"), _value(metrics, f"{alias}.record_date")
    desc = (f"How far the {name} closed below its record close, over two years; now {_pct(_value(metrics, f'{alias}.drawdown'))}, "
            f"record close {_num(record, 2)}" + (f" on {day}." if day else "."))
    layers = [area, *_annotations(decl, start, as_of), hits]
    return _finish(_layer(*layers).properties(width="container", height=220), cid, data.universe.chart_title(cid), desc)


# One builder per kind: (data, metrics, chart id, declaration) -> Chart.
BUILDERS = {"performance": performance, "trend": trend, "indicator": indicator, "volume": volume, "ratio": ratio,
            "returns": returns, "macro": macro, "drawdown": drawdown}
# Kinds that show each of their series on its own and cannot be drawn without every one of them;
# the others (a basket, a panel) are drawn with whichever of their series have data.
NEEDS_ALL = frozenset({"trend", "indicator", "volume", "ratio", "drawdown"})


def _with_data(data: Data, aliases) -> set[str]:
    """The aliases among `aliases` with at least one value: a close (a symbol, a derived series),
    volume (a volume chart), or a macro panel's metric."""
    out = set()
    for a in aliases:
        if a in data.closes.columns:
            ok = data.closes[a].notna().any()
        elif a in data.universe.macro or a in data.universe.ranges:
            ok = bool(len(history(_panel_key(data, a), data).dropna()))
        elif f"{a}.close" in data.entries:
            ok = history(f"{a}.close", data).notna().any()
        else:
            ok = False
        if ok:
            out.add(a)
    return out


def build_charts(data: Data, metrics: dict[str, Metric]) -> list[Chart]:
    """Every chart config declares, in its order; one whose data is missing comes back with the
    reason instead of a spec."""
    u = data.universe
    card = u.card_chart
    charts = []
    for cid, decl in u.charts.items():
        aliases = decl.series_list()
        have = _with_data(data, aliases)
        if decl.kind == "volume":
            have = {a for a in have if a in data.volumes.columns and data.volumes[a].notna().any()}
        missing = [a for a in aliases if a not in have]
        title = u.chart_title(cid)
        if decl.kind in NEEDS_ALL and missing:
            why = "; ".join(f"{a}: {data.missing.get(a, 'no data')}" for a in missing)
            chart = Chart(cid, title, f"No data: {why}", None, f"no data for {why}")
        elif not have:
            chart = Chart(cid, title, "No data for any of its series", None, "no data for any of its series")
        else:
            chart = BUILDERS[decl.kind](data, metrics, cid, decl)
        chart.kind, chart.card = decl.kind, cid == card
        charts.append(chart)
    return charts
