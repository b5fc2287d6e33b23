"""Chart specs (Altair -> Vega-Lite v6), one per chart, named after what it shows.

Every plotted series is a metric's daily history from the catalog, and config names the series
each chart shows, so a chart can never disagree with the numbers on the page.

Data is trimmed to the window each chart shows. Dates are written as plain `YYYY-MM-DD`
strings on a UTC time scale, so a session reads as the same day in every time zone.
"""
from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from build_data.compute import metrics as m
from build_data.compute.values import Data, Metric, history

WIDTH_FALLBACK = 720  # SVG fallbacks need a fixed width; the interactive chart fills its container
# Line colours of the performance chart, in the order config lists its symbols.
PALETTE = ["#d9480f", "#1c7ed6", "#7048e8", "#2b8a3e", "#495057"]
CHART_IDS = ["performance-ytd", "rut-trend", "rsi", "iwm-volume", "rut-spx-ratio", "sector-returns", "macro-panel"]


@dataclass
class Chart:
    id: str
    title: str
    description: str
    spec: dict | None
    reason: str | None = None     # why there is no spec (a series the chart needs has no data)


def _x(title: str | None = None, fmt: str = "%b %Y") -> alt.X:
    return alt.X("date:T", title=title, scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=fmt, tickCount="month", labelOverlap=True, grid=False))


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


def _finish(chart: alt.TopLevelMixin, cid: str, title: str, description: str) -> Chart:
    spec = chart.properties(description=description).to_dict()
    spec["usermeta"] = {"id": cid}
    return Chart(cid, title, description, spec)


def _window(s: pd.Series, start) -> pd.Series:
    return s.loc[start:].dropna()


def performance_ytd(data: Data, metrics: dict[str, Metric]) -> Chart:
    aliases = [a for a in data.universe.charts.performance if a in data.closes.columns]
    as_of, names = data.as_of, data.names
    base = m.ytd_base_date(as_of)
    sessions_in_base_year = data.closes.index[data.closes.index <= base]
    series = {}
    for a in aliases:
        # Strictly after the base session: on the base session itself (the previous year's last
        # close) ret_ytd is that whole previous year's return, not 0.
        ytd = history(f"{a}.ret_ytd", data)
        ytd = ytd[ytd.index > base]
        if not len(sessions_in_base_year) or pd.isna(data.closes[a].get(sessions_in_base_year[-1])):
            continue  # no close at the previous year-end: nothing to rebase on
        base_point = pd.Series([100.0], index=sessions_in_base_year[-1:])
        series[names[a]] = pd.concat([base_point, (1 + ytd.dropna()) * 100])
    data_long = _frame(series)
    colors = [PALETTE[i % len(PALETTE)] for i, _ in enumerate(series)]
    line = alt.Chart(data_long).mark_line(strokeWidth=2).encode(
        x=_x(), y=alt.Y("value:Q", title="Rebased (previous year-end = 100)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=list(series), range=colors),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("date:N", title="Session"), "series:N", alt.Tooltip("value:Q", format=".1f", title="Rebased")])
    rule = alt.Chart(pd.DataFrame({"y": [100]})).mark_rule(strokeDash=[4, 4], opacity=0.5).encode(y="y:Q")
    desc = "Year-to-date performance, rebased to 100 at the previous year's last close: " + "; ".join(
        f"{names[a]} {_pct(metrics[f'{a}.ret_ytd'].value)}" for a in aliases) + f", as of {as_of.date()}."
    title = " vs ".join(names[a] for a in data.universe.charts.performance) + ", year to date"
    return _finish(alt.layer(line, rule).properties(width="container", height=320), "performance-ytd", title, desc)


def trend(data: Data, metrics: dict[str, Metric]) -> Chart:
    alias, universe, as_of = data.universe.charts.trend, data.universe, data.as_of
    name = data.names[alias]
    start = as_of - pd.DateOffset(years=1)
    series = {"Close": _window(history(f"{alias}.close", data), start),
              "50-day average": _window(history(f"{alias}.sma_50", data), start),
              "200-day average": _window(history(f"{alias}.sma_200", data), start)}
    lines = alt.Chart(_frame(series)).mark_line().encode(
        x=_x(), y=alt.Y("value:Q", title=f"{name} (points)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(series), range=["#d9480f", "#1c7ed6", "#868e96"])),
        strokeDash=alt.StrokeDash("series:N", title=None,
                                  scale=alt.Scale(domain=list(series), range=[[1, 0], [6, 3], [2, 2]])),
        tooltip=[alt.Tooltip("date:N", title="Session"), "series:N", alt.Tooltip("value:Q", format=",.2f")])
    levels = [{"label": lv.label, "value": lv.value, "kind": "level"}
              for lv in universe.levels.values() if lv.symbol == alias]
    levels += [{"label": t.label, "value": t.value, "kind": "target"}
               for t in universe.targets.values() if t.symbol == alias]
    lv = pd.DataFrame(levels, columns=["label", "value", "kind"])
    rules = alt.Chart(lv).mark_rule(opacity=0.6).encode(
        y="value:Q", strokeDash=alt.condition(alt.datum.kind == "target", alt.value([2, 4]), alt.value([8, 3])),
        color=alt.value("#2b8a3e"), tooltip=["label:N", alt.Tooltip("value:Q", format=",.0f")])
    text = alt.Chart(lv).mark_text(align="left", dx=4, dy=-6, fontSize=11).encode(
        x=alt.value(0), y="value:Q", text="label:N", color=alt.value("#2b8a3e"))
    desc = (f"{name} over the past year with its 50- and 200-day averages, the author's levels and the "
            f"analyst targets. Close {_num(metrics[f'{alias}.close'].value, 2)}; 50-day "
            f"{_num(metrics[f'{alias}.sma_50'].value, 2)}; 200-day {_num(metrics[f'{alias}.sma_200'].value, 2)}.")
    return _finish(alt.layer(lines, rules, text).properties(width="container", height=340),
                   "rut-trend", f"{name} with its moving averages, levels and targets", desc)


def rsi(data: Data, metrics: dict[str, Metric]) -> Chart:
    alias, universe, as_of = data.universe.charts.trend, data.universe, data.as_of
    name = data.names[alias]
    r = _window(history(f"{alias}.rsi_14", data), as_of - pd.DateOffset(years=1))
    hi, lo = universe.thresholds.rsi_overbought, universe.thresholds.rsi_oversold
    line = alt.Chart(_frame({"RSI-14": r})).mark_line(color="#d9480f").encode(
        x=_x(), y=alt.Y("value:Q", title="RSI-14", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=".1f", title="RSI-14")])
    bands = alt.Chart(pd.DataFrame({"y": [lo, hi], "label": [f"{lo:g} oversold", f"{hi:g} overbought"]})).mark_rule(
        strokeDash=[4, 4], color="#868e96").encode(y="y:Q", tooltip=["label:N"])
    desc = (f"Wilder RSI-14 of the {name} over the past year, with the {hi:g} and {lo:g} bands; latest "
            f"{_num(metrics[f'{alias}.rsi_14'].value, 1)}.")
    return _finish(alt.layer(bands, line).properties(width="container", height=220), "rsi", f"{name} RSI-14", desc)


def volume(data: Data, metrics: dict[str, Metric]) -> Chart:
    alias, as_of = data.universe.charts.volume, data.as_of
    name = data.names[alias]
    start = as_of - pd.DateOffset(months=6)
    bars = _frame({"Volume": _window(history(f"{alias}.volume", data), start)})
    line = _frame({"63-session average": _window(history(f"{alias}.volume_avg_63", data), start)})
    b = alt.Chart(bars).mark_bar(color="#74c0fc").encode(
        x=_x(), y=alt.Y("value:Q", title="Shares", axis=alt.Axis(format="~s")),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=",.0f", title="Volume")])
    ln = alt.Chart(line).mark_line(color="#e8590c", strokeWidth=2).encode(
        x=_x(), y="value:Q", tooltip=[alt.Tooltip("date:N", title="Session"),
                                      alt.Tooltip("value:Q", format=",.0f", title="63-session average")])
    desc = (f"Daily {name} volume over six months against its 63-session average; last session "
            f"{_num(metrics[f'{alias}.volume'].value)} shares, average {_num(metrics[f'{alias}.volume_avg_63'].value)}.")
    return _finish(alt.layer(b, ln).properties(width="container", height=220),
                   "iwm-volume", f"{name} volume vs its 3-month average", desc)


def ratio(data: Data, metrics: dict[str, Metric]) -> Chart:
    pair = data.universe.charts.ratio
    p, names = data.universe.pairs[pair], data.names
    r = _window(history(f"{pair}.ratio", data), data.as_of - pd.DateOffset(years=2))
    line = alt.Chart(_frame({"Ratio": r})).mark_line(color="#d9480f").encode(
        x=_x(), y=alt.Y("value:Q", title=f"{names[p.a]} / {names[p.b]}", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=".4f", title="Ratio")])
    desc = (f"{names[p.a]} divided by the {names[p.b]} over two years; a rising line means the {names[p.a]} outperforms. "
            f"Current streak of sessions beating the {names[p.b]}: {_num(metrics[f'{pair}.outperf_streak'].value)}.")
    return _finish(line.properties(width="container", height=220), "rut-spx-ratio",
                   f"Relative strength: {names[p.a]} vs {names[p.b]}", desc)


def sectors(data: Data, metrics: dict[str, Metric]) -> Chart:
    aliases = [a for a in data.universe.sectors if a in data.closes.columns]
    names = data.names
    rows = [{"sector": names[a], "horizon": h, "value": metrics[f"{a}.ret_{k}"].value}
            for a in aliases for k, h in (("1m", "1 month"), ("ytd", "Year to date"))
            if metrics[f"{a}.ret_{k}"].value is not None]
    frame = pd.DataFrame(rows, columns=["sector", "horizon", "value"])
    order = (frame[frame.horizon == "Year to date"].sort_values("value", ascending=False)["sector"].tolist()
             if len(frame) else [])
    bars = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("sector:N", sort=order, title=None),
        x=alt.X("value:Q", title="Return", axis=alt.Axis(format="%")),
        yOffset=alt.YOffset("horizon:N", sort=["Year to date", "1 month"]),
        color=alt.Color("horizon:N", title=None, sort=["Year to date", "1 month"],
                        scale=alt.Scale(range=["#1c7ed6", "#a5d8ff"]), legend=alt.Legend(orient="top")),
        tooltip=["sector:N", "horizon:N", alt.Tooltip("value:Q", format="+.1%", title="Return")])
    leader, laggard = metrics["sectors.leader_ytd"].value, metrics["sectors.laggard_ytd"].value
    desc = (f"Year-to-date and 1-month returns of the {len(aliases)} sector funds as of {data.as_of.date()}; "
            f"leader this year: {leader or 'n/a'}, laggard: {laggard or 'n/a'}.")
    # The height follows the number of bars; only the width fits the container.
    sized = bars.properties(width="container", height=alt.Step(11),
                            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    return _finish(sized, "sector-returns", "Sector returns", desc)


def _panel_key(data: Data, name: str) -> str:
    """The metric a macro panel plots: a range, else the series' first derived metric, else its latest."""
    if name in data.universe.ranges:
        return f"{name}.range"
    derived = data.universe.macro[name].derived
    return f"{name}.{derived[-1] if derived and derived[-1] == 'yoy' else 'latest'}"


def macro_panel(data: Data, metrics: dict[str, Metric]) -> Chart:
    start = data.as_of - pd.DateOffset(years=3)
    panels, parts = [], []
    for name in data.universe.charts.macro:
        key = _panel_key(data, name)
        s = history(key, data).loc[start:]
        met = metrics[key]
        title = data.universe.ranges[name].name if name in data.universe.ranges else (
            met.label if key.endswith(".yoy") else data.universe.macro[name].name)
        if not len(s):
            continue
        if met.unit == "percent_range":
            band = pd.DataFrame({"date": s.index.strftime("%Y-%m-%d"), "lo": [v[0] for v in s], "hi": [v[1] for v in s]})
            # Daily observations of a step function: keep only the days the range changed, plus the first and last.
            changed = (band[["lo", "hi"]].diff().abs().sum(axis=1) > 0) | (band.index == band.index[0]) | (
                band.index == band.index[-1])
            panels.append(alt.Chart(band[changed], title=f"{title} (%)").mark_area(
                interpolate="step-after", color="#7048e8", opacity=0.5).encode(
                x=_x(), y=alt.Y("lo:Q", title=None), y2="hi:Q",
                tooltip=[alt.Tooltip("date:N", title="From"), "lo:Q", "hi:Q"]))
            now = "n/a" if met.value is None else f"{met.value[0]:.2f}–{met.value[1]:.2f}%"
        else:
            fraction = met.unit == "fraction"
            panels.append(alt.Chart(_frame({title: s}), title=title).mark_line(
                color="#e8590c" if fraction else "#1c7ed6").encode(
                x=_x(), y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%" if fraction else "~s"),
                                scale=alt.Scale(zero=False)),
                tooltip=[alt.Tooltip("date:N", title="Observed"),
                         alt.Tooltip("value:Q", format=".1%" if fraction else ",.2f", title=title)]))
            now = _pct(met.value) if fraction else _num(met.value, 0 if met.unit == "count" else 2)
        parts.append(f"{title} (latest {now})")
    desc = "Macro panel over three years: " + "; ".join(parts) + "."
    chart = alt.vconcat(*[p.properties(width=WIDTH_FALLBACK - 80, height=120) for p in panels], spacing=18)
    u = data.universe
    title = "Macro panel: " + ", ".join(u.ranges[n].name if n in u.ranges else u.macro[n].name for n in u.charts.macro)
    return _finish(chart, "macro-panel", title, desc)


def _needs(data: Data) -> dict[str, list[str]]:
    """Per chart, the aliases whose data it cannot be drawn without."""
    u = data.universe
    p = u.pairs[u.charts.ratio]
    return {"performance-ytd": [], "rut-trend": [u.charts.trend], "rsi": [u.charts.trend],
            "iwm-volume": [u.charts.volume], "rut-spx-ratio": [p.a, p.b], "sector-returns": [], "macro-panel": []}


BUILDERS = {"performance-ytd": performance_ytd, "rut-trend": trend, "rsi": rsi, "iwm-volume": volume,
            "rut-spx-ratio": ratio, "sector-returns": sectors, "macro-panel": macro_panel}


def build_charts(data: Data, metrics: dict[str, Metric]) -> list[Chart]:
    """Every chart the site shows; one whose data is missing comes back with the reason instead of a spec."""
    u = data.universe
    have = set(data.closes.columns[data.closes.notna().any()])
    anything = {"performance-ytd": [a for a in u.charts.performance if a in have],
                "sector-returns": [a for a in u.sectors if a in have],
                "macro-panel": [n for n in u.charts.macro if len(history(_panel_key(data, n), data))]}
    charts = []
    for cid in CHART_IDS:
        missing = [a for a in _needs(data)[cid] if a not in have]
        if missing:
            why = "; ".join(f"{a}: {data.missing.get(a, 'no data')}" for a in missing)
            charts.append(Chart(cid, cid, f"No data: {why}", None, f"no data for {why}"))
        elif cid in anything and not anything[cid]:
            charts.append(Chart(cid, cid, "No data for any of its series", None, "no data for any of its series"))
        else:
            charts.append(BUILDERS[cid](data, metrics))
    return charts
