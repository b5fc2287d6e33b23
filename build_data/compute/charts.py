"""Chart specs (Altair -> Vega-Lite v6), one per chart, named after what it shows.

Data is trimmed to the window each chart shows. Dates are written as plain `YYYY-MM-DD`
strings on a UTC time scale, so a session reads as the same day in every time zone.
"""
from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from build_data.compute import metrics as m
from build_data.compute.values import Metric
from build_data.config import Universe

WIDTH_FALLBACK = 720  # SVG fallbacks need a fixed width; the interactive chart fills its container
PALETTE = {"Russell 2000": "#d9480f", "S&P 500": "#1c7ed6", "Nasdaq-100": "#7048e8"}


@dataclass
class Chart:
    id: str
    title: str
    description: str
    spec: dict


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


def performance_ytd(closes, names, aliases, as_of, metrics) -> Chart:
    base = m.ytd_base_date(as_of)
    series = {}
    for a in aliases:
        c = closes[a].dropna().loc[base - pd.Timedelta(days=10): as_of]
        if c.empty or c.index[0] > base:
            continue
        start = c.loc[:base].iloc[-1]
        series[names[a]] = (c.loc[c.index >= c.loc[:base].index[-1]] / start * 100)
    data = _frame(series)
    colors = [PALETTE.get(n, "#495057") for n in series]
    line = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=_x(), y=alt.Y("value:Q", title="Rebased (previous year-end = 100)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=list(series), range=colors),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("date:N", title="Session"), "series:N", alt.Tooltip("value:Q", format=".1f", title="Rebased")])
    rule = alt.Chart(pd.DataFrame({"y": [100]})).mark_rule(strokeDash=[4, 4], opacity=0.5).encode(y="y:Q")
    desc = "Year-to-date performance, rebased to 100 at the previous year's last close: " + "; ".join(
        f"{names[a]} {_pct(metrics[f'{a}.ret_ytd'].value)}" for a in aliases) + f", as of {as_of.date()}."
    return _finish(alt.layer(line, rule).properties(width="container", height=320),
                   "performance-ytd", "Russell 2000 vs S&P 500 vs Nasdaq-100, year to date", desc)


def rut_trend(closes, names, alias, universe: Universe, as_of, metrics) -> Chart:
    c = closes[alias].dropna()
    window = c.loc[as_of - pd.DateOffset(years=1): as_of].index
    series = {"Close": c, "50-day average": m.to_sma(c, 50), "200-day average": m.to_sma(c, 200)}
    data = _frame({k: v.reindex(window) for k, v in series.items()})
    lines = alt.Chart(data).mark_line().encode(
        x=_x(), y=alt.Y("value:Q", title=f"{names[alias]} (points)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(series), range=["#d9480f", "#1c7ed6", "#868e96"])),
        strokeDash=alt.StrokeDash("series:N", title=None,
                                  scale=alt.Scale(domain=list(series), range=[[1, 0], [6, 3], [2, 2]])),
        tooltip=[alt.Tooltip("date:N", title="Session"), "series:N", alt.Tooltip("value:Q", format=",.2f")])
    levels = [{"label": lv.label, "value": lv.value, "kind": "level"} for lv in universe.levels.items.values()]
    levels += [{"label": t.label, "value": t.value, "kind": "target"} for t in universe.targets.items.values()]
    lv = pd.DataFrame(levels)
    rules = alt.Chart(lv).mark_rule(opacity=0.6).encode(
        y="value:Q", strokeDash=alt.condition(alt.datum.kind == "target", alt.value([2, 4]), alt.value([8, 3])),
        color=alt.value("#2b8a3e"), tooltip=["label:N", alt.Tooltip("value:Q", format=",.0f")])
    text = alt.Chart(lv).mark_text(align="left", dx=4, dy=-6, fontSize=11).encode(
        x=alt.value(0), y="value:Q", text="label:N", color=alt.value("#2b8a3e"))
    desc = (f"{names[alias]} over the past year with its 50- and 200-day averages, the author's levels and the "
            f"analyst targets. Close {_num(metrics[f'{alias}.close'].value, 2)}; 50-day "
            f"{_num(metrics[f'{alias}.sma_50'].value, 2)}; 200-day {_num(metrics[f'{alias}.sma_200'].value, 2)}.")
    return _finish(alt.layer(lines, rules, text).properties(width="container", height=340),
                   "rut-trend", f"{names[alias]} with its moving averages, levels and targets", desc)


def rsi(closes, names, alias, universe: Universe, as_of, metrics) -> Chart:
    r = m.to_rsi(closes[alias].dropna()).loc[as_of - pd.DateOffset(years=1): as_of]
    data = _frame({"RSI-14": r})
    hi, lo = universe.thresholds.rsi_overbought, universe.thresholds.rsi_oversold
    line = alt.Chart(data).mark_line(color="#d9480f").encode(
        x=_x(), y=alt.Y("value:Q", title="RSI-14", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=".1f", title="RSI-14")])
    bands = alt.Chart(pd.DataFrame({"y": [lo, hi], "label": [f"{lo:g} oversold", f"{hi:g} overbought"]})).mark_rule(
        strokeDash=[4, 4], color="#868e96").encode(y="y:Q", tooltip=["label:N"])
    desc = (f"Wilder RSI-14 of the {names[alias]} over the past year, with the {hi:g} and {lo:g} bands; latest "
            f"{_num(metrics[f'{alias}.rsi_14'].value, 1)}.")
    return _finish(alt.layer(bands, line).properties(width="container", height=220),
                   "rsi", f"{names[alias]} RSI-14", desc)


def volume(volumes, names, alias, as_of, metrics) -> Chart:
    v = volumes[alias].dropna()
    avg = v.rolling(63, min_periods=63).mean()
    window = v.loc[as_of - pd.DateOffset(months=6): as_of].index
    bars = _frame({"Volume": v.reindex(window)})
    line = _frame({"63-session average": avg.reindex(window)})
    b = alt.Chart(bars).mark_bar(color="#74c0fc").encode(
        x=_x(), y=alt.Y("value:Q", title="Shares", axis=alt.Axis(format="~s")),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=",.0f", title="Volume")])
    ln = alt.Chart(line).mark_line(color="#e8590c", strokeWidth=2).encode(
        x=_x(), y="value:Q", tooltip=[alt.Tooltip("date:N", title="Session"),
                                      alt.Tooltip("value:Q", format=",.0f", title="63-session average")])
    desc = (f"Daily {names[alias]} volume over six months against its 63-session average; last session "
            f"{_num(metrics[f'{alias}.volume'].value)} shares, average {_num(metrics[f'{alias}.volume_avg_63'].value)}.")
    return _finish(alt.layer(b, ln).properties(width="container", height=220),
                   "iwm-volume", f"{names[alias]} volume vs its 3-month average", desc)


def ratio(closes, names, pair, a, b, as_of, metrics) -> Chart:
    both = closes[[a, b]].dropna().loc[as_of - pd.DateOffset(years=2): as_of]
    data = _frame({"Ratio": both[a] / both[b]})
    line = alt.Chart(data).mark_line(color="#d9480f").encode(
        x=_x(), y=alt.Y("value:Q", title=f"{names[a]} / {names[b]}", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("date:N", title="Session"), alt.Tooltip("value:Q", format=".4f", title="Ratio")])
    desc = (f"{names[a]} divided by the {names[b]} over two years; a rising line means small caps outperform. "
            f"Current streak of sessions beating the {names[b]}: {_num(metrics[f'{pair}.outperf_streak'].value)}.")
    return _finish(line.properties(width="container", height=220), "rut-spx-ratio",
                   f"Relative strength: {names[a]} vs {names[b]}", desc)


def sectors(names, aliases, metrics, as_of) -> Chart:
    rows = [{"sector": names[a], "horizon": h, "value": metrics[f"{a}.ret_{k}"].value}
            for a in aliases for k, h in (("1m", "1 month"), ("ytd", "Year to date"))
            if metrics[f"{a}.ret_{k}"].value is not None]
    data = pd.DataFrame(rows)
    order = (data[data.horizon == "Year to date"].sort_values("value", ascending=False)["sector"].tolist()
             if len(data) else [])
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("sector:N", sort=order, title=None),
        x=alt.X("value:Q", title="Return", axis=alt.Axis(format="%")),
        yOffset=alt.YOffset("horizon:N", sort=["Year to date", "1 month"]),
        color=alt.Color("horizon:N", title=None, sort=["Year to date", "1 month"],
                        scale=alt.Scale(range=["#1c7ed6", "#a5d8ff"]), legend=alt.Legend(orient="top")),
        tooltip=["sector:N", "horizon:N", alt.Tooltip("value:Q", format="+.1%", title="Return")])
    leader, laggard = metrics["sectors.leader_ytd"].value, metrics["sectors.laggard_ytd"].value
    desc = (f"Year-to-date and 1-month returns of the {len(aliases)} sector funds as of {as_of.date()}; "
            f"leader this year: {leader or 'n/a'}, laggard: {laggard or 'n/a'}.")
    # The height follows the number of bars; only the width fits the container.
    sized = bars.properties(width="container", height=alt.Step(11),
                            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    return _finish(sized, "sector-returns",
                   "Sector returns", desc)


def macro_panel(macro: dict[str, pd.Series], as_of, metrics) -> Chart:
    start = as_of - pd.DateOffset(years=3)
    panels = []
    if "claims" in macro:
        claims = _frame({"Initial claims": macro["claims"].loc[start:]})
        panels.append(alt.Chart(claims, title="Initial jobless claims (weekly)").mark_line(color="#1c7ed6").encode(
            x=_x(), y=alt.Y("value:Q", title=None, axis=alt.Axis(format="~s"), scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("date:N", title="Week ending"), alt.Tooltip("value:Q", format=",.0f")]))
    if "fed_lo" in macro and "fed_hi" in macro:
        lo, hi = macro["fed_lo"].loc[start:], macro["fed_hi"].loc[start:]
        band = pd.DataFrame({"date": lo.index.strftime("%Y-%m-%d"), "lo": lo.values, "hi": hi.reindex(lo.index).values})
        band = band[band["date"].ne(band["date"].shift())]
        # Daily observations of a step function: keep only the days the range changed, plus the last.
        changed = (band[["lo", "hi"]].diff().abs().sum(axis=1) > 0) | (band.index == band.index[0]) | (band.index == band.index[-1])
        band = band[changed]
        panels.append(alt.Chart(band, title="Fed funds target range (%)").mark_area(
            interpolate="step-after", color="#7048e8", opacity=0.5).encode(
            x=_x(), y=alt.Y("lo:Q", title=None), y2="hi:Q",
            tooltip=[alt.Tooltip("date:N", title="From"), "lo:Q", "hi:Q"]))
    if "cpi" in macro:
        cpi = macro["cpi"]
        yoy = (cpi / cpi.shift(1, freq=pd.DateOffset(years=1)).reindex(cpi.index) - 1).loc[start:]
        panels.append(alt.Chart(_frame({"CPI YoY": yoy}), title="CPI inflation, year over year").mark_line(
            color="#e8590c").encode(x=_x(), y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%")),
                                    tooltip=[alt.Tooltip("date:N", title="Month"),
                                             alt.Tooltip("value:Q", format=".1%", title="CPI YoY")]))
    fed = metrics["fed.range"].value
    desc = ("Macro panel over three years: weekly initial jobless claims (latest "
            f"{_num(metrics['claims.latest'].value)}), the Fed funds target range (now "
            f"{'n/a' if fed is None else f'{fed[0]:.2f}–{fed[1]:.2f}%'}) and CPI inflation year over year "
            f"(latest {_pct(metrics['cpi.yoy'].value)}).")
    chart = alt.vconcat(*[p.properties(width=WIDTH_FALLBACK - 80, height=120) for p in panels], spacing=18)
    return _finish(chart, "macro-panel", "Macro panel: claims, Fed funds, CPI", desc)


def build_charts(*, closes: pd.DataFrame, volumes: pd.DataFrame, macro: dict[str, pd.Series],
                 metrics: dict[str, Metric], universe: Universe, as_of: pd.Timestamp) -> list[Chart]:
    """Every chart the site shows, skipping those whose data is missing."""
    names = {a: s.name for a, s in universe.symbols.items()}
    have = set(closes.columns)
    charts: list[Chart] = []
    main = [a for a in ("rut", "spx", "ndx") if a in have]
    if main:
        charts.append(performance_ytd(closes, names, main, as_of, metrics))
    focus = universe.levels.symbol
    if focus in have:
        charts.append(rut_trend(closes, names, focus, universe, as_of, metrics))
        charts.append(rsi(closes, names, focus, universe, as_of, metrics))
    for alias in universe.volume_symbols[:1]:
        if alias in volumes.columns and volumes[alias].notna().any():
            charts.append(volume(volumes, names, alias, as_of, metrics))
    if "rut_vs_spx" in universe.pairs:
        p = universe.pairs["rut_vs_spx"]
        if {p.a, p.b} <= have:
            charts.append(ratio(closes, names, "rut_vs_spx", p.a, p.b, as_of, metrics))
    secs = [a for a in universe.sectors if a in have]
    if secs:
        charts.append(sectors(names, secs, metrics, as_of))
    if macro:
        charts.append(macro_panel(macro, as_of, metrics))
    return charts
