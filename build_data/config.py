"""Typed, validated editorial config (universe.yml, facts.yml).

Errors name the file and the field, for example
`build_data/universe.yml: symbols.rut.ticker: Field required`.
"""
from __future__ import annotations

import datetime as dt
import difflib
import string
from pathlib import Path
import re
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from build_data import formatting
from build_data.errors import ConfigError
from build_data.publish.contract import CLAIM_GROUP
from build_data.units import FACT_UNITS, MACRO_UNITS, PRICE_UNITS

PACKAGE_DIR = Path(__file__).parent
DEFAULT_UNIVERSE = PACKAGE_DIR / "universe.yml"
DEFAULT_FACTS = PACKAGE_DIR / "facts.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Symbol(_Strict):
    # Checked before it becomes a cache file name: Yahoo's symbols (^RUT, BRK-B, EURUSD=X).
    ticker: str = Field(pattern=r"^[A-Za-z0-9^][A-Za-z0-9^.=_-]{0,31}$")
    name: str
    # For labels and legends ("SMH vs SPY: YTD return gap"); the name when not given.
    short: str | None = None
    # What a close is counted in: index points or US dollars (a fund). Default: points for a
    # ticker starting with "^" (an index on Yahoo), else dollars.
    unit: Literal[PRICE_UNITS] | None = None
    # What its returns count: `price` (the quoted close) or `total` (the adjusted close, with
    # dividends reinvested). Default: price for an index (unit points), total for a fund, where
    # the source has adjusted closes (else price, and the labels say so).
    returns: Literal["price", "total"] | None = None

    @property
    def label(self) -> str:
        return self.short or self.name

    @property
    def price_unit(self) -> str:
        return self.unit or ("points" if self.ticker.startswith("^") else "usd")

    @property
    def return_basis(self) -> str:
        """"price" or "total": what this symbol's returns are meant to count (see `returns`)."""
        return self.returns or ("price" if self.price_unit == "points" else "total")


class Derived(_Strict):
    """A series computed from two symbols' closes on each session: `ratio: [a, b]` is a / b,
    `spread: [a, b]` is a - b. It gets every per-symbol metric and goes wherever a symbol does."""
    ratio: tuple[str, str] | None = None
    spread: tuple[str, str] | None = None
    # Default: from its legs' short names, "SMH / SPY" (a ratio) or "DGS10 - DGS2" (a spread).
    name: str
    short: str | None = None

    @model_validator(mode="after")
    def _one_form(self):
        if (self.ratio is None) == (self.spread is None):
            raise ValueError("give exactly one of ratio: [a, b] or spread: [a, b]")
        return self

    @property
    def kind(self) -> Literal["ratio", "spread"]:
        return "ratio" if self.ratio is not None else "spread"

    @property
    def legs(self) -> tuple[str, str]:
        return self.ratio or self.spread

    @property
    def label(self) -> str:
        return self.short or self.name

    def source(self, universe: "Universe") -> str:
        """Where its numbers come from, for the metrics' `source`: "computed: SMH / SPY"."""
        a, b = (universe.symbols[leg].label for leg in self.legs)
        return f"computed: {a} {'/' if self.kind == 'ratio' else '-'} {b}"


def _unknown(field: str, alias: str, known, what: str = "symbol alias") -> ValueError:
    """One line: the field, the alias and the closest valid ones."""
    close = difflib.get_close_matches(alias, sorted(known), n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else f" (known: {', '.join(sorted(known))})"
    return ValueError(f"{field}: unknown {what} {alias!r}{hint}")


Cadence = Literal["daily", "weekly", "monthly", "quarterly"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Days a period of each cadence spans (a month and a quarter at their longest), and the default
# grace after the next period's figure is due before a series counts as stale.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92}
DEFAULT_GRACE_DAYS = {"daily": 5, "weekly": 10, "monthly": 30, "quarterly": 45}


class ReleaseRule(_Strict):
    """When an observation is public at the latest, counted from the end of its period (the
    observation date for a daily or weekly series stamped with the week's last day, the month's
    or quarter's last day otherwise). Used without a FRED API key: a conservative rule that is
    never earlier than the real release, so an `--as-of` build never shows a figure early.
    The latest of: period end + `after_days`, rolled forward to `weekday`; and `day` of the
    month after the period ends."""
    after_days: int = Field(default=0, ge=0, le=400, description="Days after the period's end.")
    weekday: Literal[WEEKDAYS] | None = Field(default=None, description=(
        "Then the next such weekday, on or after (weekly claims: thursday)."))
    day: int | None = Field(default=None, ge=1, le=31, description=(
        "At the latest this day of the month after the period ends (31: its last day)."))


class MacroSeries(_Strict):
    series: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: str
    unit: Literal[MACRO_UNITS]
    # How often the series is published: its period ("Dec 2025", "week to Jan 10", "Q1 2025").
    cadence: Cadence = Field(default="daily", description=(
        "How often it is published: daily, weekly, monthly or quarterly. Pages name its period "
        "(\"Dec 2025\", \"week to Jan 10, 2026\", \"Q1 2025\")."))
    # When each figure is public at the latest (without FRED's real-time data): `--as-of`
    # never sees it earlier. Default: the day after the period ends.
    release: ReleaseRule = Field(default=ReleaseRule(after_days=1), description=(
        "When each figure is public at the latest, without FRED's real-time data (FRED_API_KEY): "
        "an --as-of build never shows it earlier, and labels it \"latest revision\"."))
    # Stale once the period ended more than one cadence plus this many days before the as-of
    # date: shown and labelled stale, never as current. Default by cadence (see DEFAULT_GRACE_DAYS).
    grace_days: int | None = Field(default=None, ge=0, le=400, description=(
        "Stale once its period ended more than one cadence plus this many days before the as-of date "
        "(default 5, 10, 30, 45 days for daily to quarterly)."))
    # Metrics derived from the series besides `latest` (see the catalog's MACRO_DERIVED).
    derived: list[Literal["avg_4w", "yoy"]] = []

    @property
    def stale_after_days(self) -> int:
        """Days after the period's end beyond which the figure is stale."""
        grace = DEFAULT_GRACE_DAYS[self.cadence] if self.grace_days is None else self.grace_days
        return CADENCE_DAYS[self.cadence] + grace


class Range(_Strict):
    """A range published as two series (a lower and an upper bound), shown as one metric."""
    lo: str
    hi: str
    name: str


# ---------------------------------------------------------------- charts
# Each chart is declared under `charts:` by an id the pages call (`chart("index-trend")`), with a
# kind and the series it shows: aliases from this file, never names in code.
CHART_ID = r"^[a-z0-9][a-z0-9-]*$"
# A kind of scheduled event (events.calendar), as a watch item's `next:` names it.
EVENT_KIND = r"^[a-z0-9][a-z0-9_-]*$"
# How far back each time chart reaches (the performance chart: the year to date).
RETURN_HORIZONS = {"1d": "1 day", "1m": "1 month", "3m": "3 months", "ytd": "Year to date", "1y": "1 year"}


class Annotation(_Strict):
    """A labelled vertical rule on a time chart."""
    date: dt.date
    text: str = Field(min_length=1)


class _Chart(_Strict):
    title: str | None = None               # default: from the names of the series shown
    annotations: list[Annotation] = []     # on time charts
    card: bool = False                     # the chart rendered as the link-preview PNG (at most one)

    def series_list(self) -> list[str]:
        return [self.series] if isinstance(self.series, str) else list(self.series)

    def default_title(self, names: dict[str, str]) -> str:
        raise NotImplementedError


class PerformanceChart(_Chart):
    """Symbols rebased to 100 at the previous year-end."""
    kind: Literal["performance"]
    series: list[str] = Field(min_length=1)

    def default_title(self, names):
        return " vs ".join(names[a] for a in self.series) + ", year to date"


class TrendChart(_Chart):
    """A symbol's close with its 50- and 200-day averages, and the levels and targets set on it."""
    kind: Literal["trend"]
    series: str

    def default_title(self, names):
        return f"{names[self.series]} with its moving averages, levels and targets"


class IndicatorChart(_Chart):
    """A symbol's RSI-14 with the overbought and oversold bands of `thresholds`."""
    kind: Literal["indicator"]
    series: str

    def default_title(self, names):
        return f"{names[self.series]} RSI-14"


class VolumeChart(_Chart):
    """Daily volume of a `volume_symbols` alias against its 63-session average."""
    kind: Literal["volume"]
    series: str

    def default_title(self, names):
        return f"{names[self.series]} volume vs its 3-month average"


class RatioChart(_Chart):
    """The first series' close over the second's: relative strength."""
    kind: Literal["ratio"]
    series: list[str] = Field(min_length=2, max_length=2)

    def default_title(self, names):
        return f"Relative strength: {names[self.series[0]]} vs {names[self.series[1]]}"


class ReturnsChart(_Chart):
    """Bars of a basket's returns over one or more horizons, sorted by the first."""
    kind: Literal["returns"]
    series: list[str] = Field(min_length=1)
    horizons: list[Literal["1d", "1m", "3m", "ytd", "1y"]] = Field(default=["ytd", "1m"], min_length=1)

    def default_title(self, names):
        words = [RETURN_HORIZONS[h].lower() if i else RETURN_HORIZONS[h] for i, h in enumerate(self.horizons)]
        return (", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]) + " returns"


class MacroChart(_Chart):
    """One panel per macro alias or range."""
    kind: Literal["macro"]
    series: list[str] = Field(min_length=1)

    def default_title(self, names):
        return "Macro panel: " + ", ".join(names[n] for n in self.series)


class DrawdownChart(_Chart):
    """A symbol's distance below its record close (the catalog's `X.drawdown`)."""
    kind: Literal["drawdown"]
    series: str

    def default_title(self, names):
        return f"{names[self.series]}: drawdown from its record close"


ChartSpec = Annotated[PerformanceChart | TrendChart | IndicatorChart | VolumeChart | RatioChart | ReturnsChart
                      | MacroChart | DrawdownChart, Field(discriminator="kind")]
CHART_KINDS = {"performance": PerformanceChart, "trend": TrendChart, "indicator": IndicatorChart,
               "volume": VolumeChart, "ratio": RatioChart, "returns": ReturnsChart, "macro": MacroChart,
               "drawdown": DrawdownChart}
# Charts drawn against time, which take annotations.
TIME_KINDS = frozenset(CHART_KINDS) - {"returns"}


def _closest(name: str, valid) -> str:
    near = difflib.get_close_matches(str(name), sorted(valid), n=3, cutoff=0.5)
    return f"; closest valid names: {', '.join(near)}" if near else (
        f"; valid names: {', '.join(sorted(valid))}" if valid else "; none are defined")


def _chart_error(message: str) -> PydanticCustomError:
    """A chart config error whose message is printed as is (no "Value error, " before it)."""
    return PydanticCustomError("chart_config", message)


def _chart_shapes(raw: object) -> None:
    """Before the models: chart ids and kinds, with the closest valid names (pydantic's own
    message for an unknown tag lists every kind, not the one meant)."""
    if not isinstance(raw, dict):
        return
    for cid, decl in raw.items():
        if not isinstance(cid, str) or not re.match(CHART_ID, cid):
            raise _chart_error(f"charts.{cid}: a chart id is lower-case letters, digits and hyphens, "
                               "starting with a letter or digit (such as index-trend)")
        if not isinstance(decl, dict):
            raise _chart_error(f"charts.{cid}: a chart is a mapping with a kind and its series, such as "
                               "{kind: trend, series: ALIAS}" + f" (got {decl!r})")
        kind = decl.get("kind")
        if kind is None:
            raise _chart_error(f"charts.{cid}.kind: Field required (one of {', '.join(CHART_KINDS)})")
        if not isinstance(kind, str) or kind not in CHART_KINDS:
            raise _chart_error(f"charts.{cid}.kind: unknown chart kind {kind!r}{_closest(kind, CHART_KINDS)}")
        # The kind's own model, so an error's path is the chart's (the union would add the kind to it).
        try:
            CHART_KINDS[kind].model_validate(decl)
        except ValidationError as exc:
            first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
            loc, message = [str(p) for p in first["loc"]], first["msg"]
            if first["type"] == "extra_forbidden":
                message = f"unknown field {loc[-1]!r}"
                if len(loc) == 1:
                    valid = sorted(CHART_KINDS[kind].model_fields)
                    near = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.6)
                    message += (f"; closest valid name: {near[0]}" if near else "") + (
                        f" (a {kind} chart takes {', '.join(valid)})")
                loc = loc[:-1]
            raise _chart_error(".".join([f"charts.{cid}", *loc]) + f": {message}") from None


def _chart_problems(universe) -> None:
    """Every chart names series that exist for its kind; at most one is the card; annotations
    only on time charts."""
    symbols = set(universe.symbols) | set(getattr(universe, "derived", None) or {})
    macro = set(universe.macro) | set(universe.ranges)
    card = None
    for cid, c in universe.charts.items():
        valid, what = {"volume": (set(universe.volume_symbols), "volume_symbols alias"),
                       "macro": (macro, "macro alias or range")}.get(c.kind, (symbols, "symbol"))
        for i, alias in enumerate(c.series_list()):
            if alias not in valid:
                where = f"charts.{cid}.series" + (f"[{i}]" if not isinstance(c.series, str) else "")
                raise _chart_error(f"{where}: unknown {what} {alias!r}{_closest(alias, valid)}")
        if c.annotations and c.kind not in TIME_KINDS:
            raise _chart_error(f"charts.{cid}.annotations: a {c.kind} chart has no time axis to mark "
                               f"(annotations go on {', '.join(k for k in CHART_KINDS if k in TIME_KINDS)} charts)")
        if c.card:
            if card is not None:
                raise _chart_error(f"charts.{cid}.card: charts.{card} is already the card; at most one chart "
                                   "has card: true")
            card = cid


def _event_problems(universe) -> None:
    """Watch items' `next:` name a calendar kind; events.records symbols and events.streaks pairs exist."""
    kinds = set(universe.events.calendar)
    for wid, w in universe.watchlist.items():
        if w.next is not None and w.next not in kinds:
            raise _chart_error(f"watchlist.{wid}.next: unknown events.calendar kind {w.next!r}{_closest(w.next, kinds)}")
    series = set(universe.symbols) | set(universe.derived)
    for i, alias in enumerate(universe.events.records or []):
        if alias not in series:
            raise _chart_error(f"events.records[{i}]: unknown symbol {alias!r}{_closest(alias, series)}")
    for i, pair in enumerate(universe.events.streaks):
        if pair not in universe.pairs:
            raise _chart_error(f"events.streaks[{i}]: unknown pair {pair!r}{_closest(pair, universe.pairs)}")


class Pair(_Strict):
    a: str
    b: str


class Validation(_Strict):
    max_daily_move: float = Field(gt=0, le=1)
    max_stale_sessions: int = Field(ge=0)
    revision_tolerance: float = Field(ge=0, le=0.5)
    # The source may correct the cache's last this-many sessions freely (a bad print fixed the
    # next day); an older correction beyond the tolerance needs a second sighting or a cross-check.
    provisional_sessions: int = Field(default=3, ge=0, le=20)
    # A session counts as complete this many minutes after its calendar close (early closes
    # included); a run inside that window builds as of the previous session.
    settle_minutes: int = Field(default=15, ge=0, le=24 * 60)


class Publish(_Strict):
    """What may be published: the fail-closed policy the scheduled deploy obeys."""
    # The snapshot may trail the last completed session by at most this many sessions.
    max_stale_sessions: int = Field(ge=0)
    # No deploy unless each of these has usable data.
    core: list[str]
    # cache: a series that fails validation keeps its last good cache, labelled on the page;
    # block: any such failure blocks the deploy.
    on_validation_failure: Literal["cache", "block"] = "cache"
    # Whether the built-in sample may ever be deployed.
    allow_sample: bool = False


class Thresholds(_Strict):
    rsi_overbought: float = Field(gt=0, lt=100)
    rsi_oversold: float = Field(gt=0, lt=100)
    near_band: float = Field(ge=0, le=0.5)


class Level(_Strict):
    """A price level on one symbol: the author's (levels) or an analyst's, sourced and dated (targets)."""
    symbol: str
    value: float = Field(gt=0)
    label: str
    source: str | None = None
    date: dt.date | None = None
    # From when the level exists: an `--as-of` build before it leaves it empty, with the reason.
    # Default: a target's `date` (the day it was set); a level without either always exists.
    effective: dt.date | None = Field(default=None, description=(
        "The day it takes effect (default: its date, if any); an --as-of build before it leaves it empty."))

    @property
    def effective_from(self) -> dt.date | None:
        return self.effective or self.date


Op = Literal[">", ">=", "<", "<=", "==", "true", "false"]
ORDERING = (">", ">=", "<", "<=")


def _check_condition(op: str | None, threshold: float | None, clear: float | None) -> None:
    """The threshold an op needs, and a `clear` level on the far side of it (hysteresis)."""
    if op in ("true", "false"):
        if threshold is not None or clear is not None:
            raise ValueError(f"op {op!r} takes no threshold or clear")
        return
    if threshold is None:
        raise ValueError(f"op {op!r} needs a threshold")
    if clear is None:
        return
    if op not in ORDERING:
        raise ValueError(f"clear only applies to {', '.join(ORDERING)}, not {op!r}")
    # The state begins at `op threshold` and ends only once `op clear` fails: clear lies beyond the threshold.
    if (op in (">", ">=") and clear > threshold) or (op in ("<", "<=") and clear < threshold):
        side = "at or below" if op in (">", ">=") else "at or above"
        raise ValueError(f"clear {clear:g} must be {side} the threshold {threshold:g} for op {op!r}")


_METRIC = "A metric key (`python -m build_data list` prints them all), e.g. rut.rsi_14."
_OP = "How the metric compares with the threshold; \"true\"/\"false\" test a yes/no metric (no threshold)."
_THRESHOLD = "The number the metric is compared with, in the metric's unit (a fraction: 0.03 for 3%)."
_CLEAR = ("Hysteresis: a state begun at `op threshold` lasts until `op clear` fails "
          "(RSI overbought from 70, cleared only below 67).")


class Condition(_Strict):
    """One test `metric op threshold`; with `clear`, a state once begun lasts while `metric op clear`."""
    metric: str = Field(description=_METRIC)
    op: Op = Field(description=_OP)
    threshold: float | None = Field(default=None, description=_THRESHOLD)
    clear: float | None = Field(default=None, description=_CLEAR)
    near: float | None = Field(default=None, ge=0, description=(
        "Watch items: 'near' when the metric is within this distance of the threshold (metric units)."))

    @model_validator(mode="after")
    def _consistent(self):
        _check_condition(self.op, self.threshold, self.clear)
        return self


# What a claim's or watch item's texts may name: `{threshold}` and `{clear}`, replaced when the
# snapshot is built by the number in the metric's unit ("3%", "70", "250,000").
PLACEHOLDERS = ("threshold", "clear")


def placeholders(text: str) -> list[str]:
    """The placeholders a text uses, in order; a ValueError for any other `{...}` (write `{{`
    and `}}` for a literal brace)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"{exc} (write {{{{ and }}}} for a literal brace)") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            near = difflib.get_close_matches(name, PLACEHOLDERS, n=1, cutoff=0.5)
            hint = f"did you mean {{{near[0]}}}?" if near and name not in PLACEHOLDERS else \
                "use {threshold} or {clear}"
            raise ValueError(f"unknown placeholder {written!r}; {hint}")
        names.append(name)
    return names


class _Signal(_Strict):
    """One condition written inline (`metric`, `op`, `threshold`), or a compound `all:` / `any:` list.

    `confirm`: sessions a new state must hold before it counts (one-session blips never reach the
    change log); its `since` is then the first session of that run."""
    metric: str | None = Field(default=None, description=_METRIC + " Or give all: / any: instead.")
    op: Op | None = Field(default=None, description=_OP)
    threshold: float | None = Field(default=None, description=_THRESHOLD)
    clear: float | None = Field(default=None, description=_CLEAR)
    all: list[Condition] | None = Field(default=None, min_length=1, description=(
        "Instead of metric/op/threshold: every one of these conditions must hold."))
    any: list[Condition] | None = Field(default=None, min_length=1, description=(
        "Instead of metric/op/threshold: one of these conditions is enough."))
    confirm: int = Field(default=2, ge=1, le=63, description=(
        "Sessions a new state must hold in a row before it counts (1 for weekly and monthly releases)."))

    @model_validator(mode="after")
    def _one_form(self):
        forms = [name for name, given in (("metric", self.metric is not None), ("all", self.all is not None),
                                           ("any", self.any is not None)) if given]
        if len(forms) != 1:
            raise ValueError("give either metric/op/threshold or one list of conditions under all: or any:"
                             + (f" (got {' and '.join(forms)})" if forms else ""))
        if self.metric is None and (self.op, self.threshold, self.clear) != (None, None, None):
            raise ValueError("op, threshold and clear belong inside each all:/any: condition")
        if self.metric is not None:
            if self.op is None:
                raise ValueError("metric needs an op")
            _check_condition(self.op, self.threshold, self.clear)
        return self

    def _check_texts(self, fields: tuple[str, ...]) -> None:
        """Each text's placeholders exist and have a number to stand for."""
        for name in fields:
            try:
                used = placeholders(getattr(self, name))
            except ValueError as exc:
                raise PydanticCustomError("placeholder", f"{name}: {exc}") from None
            if "threshold" in used and self.threshold is None:
                why = ("a compound item has no single threshold" if self.metric is None
                       else f"op {self.op!r} takes no threshold")
                raise PydanticCustomError("placeholder", f"{name}: {{threshold}} has no number to show: {why}")
            if "clear" in used and self.clear is None:
                raise PydanticCustomError("placeholder", f"{name}: {{clear}} has no number to show: "
                                                         "the item has no clear level (clear: N)")

    @property
    def mode(self) -> Literal["all", "any"]:
        return "any" if self.any is not None else "all"

    @property
    def conditions(self) -> list[Condition]:
        if self.metric is not None:
            return [Condition(metric=self.metric, op=self.op, threshold=self.threshold, clear=self.clear,
                              near=getattr(self, "near", None))]
        return list(self.all or self.any or [])


class Claim(_Signal):
    """An argument in the prose whose truth is checked against metrics."""
    page: str = Field(pattern=CLAIM_GROUP, description=(
        "The claim's group: any name of lowercase letters, digits, '-' and '_', usually the page it argues on "
        "(bull, bear). claims_tally(\"group\") counts the group's claims."))
    title: str = Field(description="A short name for the claim; may use {threshold} and {clear}.")
    holds: str = Field(description="The sentence shown while the claim holds; {threshold} and {clear} are "
                                   "replaced by the numbers in the metric's unit (\"3%\", \"70\", \"250,000\").")
    fails: str = Field(description="The sentence shown while it does not hold; same placeholders as holds.")

    @model_validator(mode="after")
    def _texts(self):
        self._check_texts(("title", "holds", "fails"))
        return self


class WatchItem(_Signal):
    """A catalyst or risk: triggered when its condition holds; near within `near` of the threshold."""
    kind: Literal["catalyst", "risk"] = Field(description="catalyst (good for the case if triggered) or risk.")
    title: str = Field(description="What is watched, e.g. \"RSI-14 above {threshold}\"; may use {threshold} and {clear}.")
    near: float | None = Field(default=None, ge=0, description=(
        "The item is 'near' when the metric is within this distance of the threshold (metric units)."))
    why: str = Field(description="Why it matters; may use {threshold} and {clear}.")
    next: str | None = Field(default=None, pattern=EVENT_KIND, description=(
        "A kind of scheduled event under events.calendar (fomc, cpi, jobs, ...): the watchlist shows "
        "the next one as the item's \"next:\" date."))

    @model_validator(mode="after")
    def _numeric(self):
        for c in self.conditions:
            if c.op not in ORDERING:
                raise ValueError(f"watch items compare numbers: op must be one of {', '.join(ORDERING)}, not {c.op!r}")
        if self.metric is not None and self.near is None:
            raise ValueError("near: Field required")
        if self.metric is None and self.near is not None:
            raise ValueError("near belongs inside each all:/any: condition")
        self._check_texts(("title", "why"))
        return self


# ---------------------------------------------------------------- events
# Scheduled releases and meetings (events.calendar) and the events the numbers make themselves:
# record closes after a drought, the end of an outperformance streak (levels and targets are
# always tracked: first reached or broken, with the date).
class ScheduledEvents(_Strict):
    """One kind of scheduled event (FOMC meetings, CPI releases, ...): its dates, each sourced."""
    name: str = Field(min_length=1, description="What each date is, e.g. \"FOMC decision\" or \"CPI release\".")
    source: str = Field(min_length=1, description="Who publishes the schedule, e.g. \"Federal Reserve\".")
    url: str | None = Field(default=None, description=(
        "The published schedule (pages link it only when it is an http(s) address)."))
    dates: list[dt.date] = Field(min_length=1, description="The scheduled dates (the decision or release day).")

    @field_validator("dates")
    @classmethod
    def _distinct(cls, dates: list[dt.date]) -> list[dt.date]:
        seen = set()
        for d in dates:
            if d in seen:
                raise ValueError(f"{d.isoformat()} is listed twice")
            seen.add(d)
        return sorted(dates)


class Events(_Strict):
    """The events calendar and which number-made events reach the change log."""
    calendar: dict[Annotated[str, Field(pattern=EVENT_KIND)], ScheduledEvents] = Field(default={}, description=(
        "Scheduled events by kind (fomc, cpi, jobs, ...); a watch item's `next:` names a kind."))
    records: list[str] | None = Field(default=None, description=(
        "Symbols whose record closes are events (default: publish.core)."))
    record_drought: int = Field(default=20, ge=1, description=(
        "A record close is news when it is the first in at least this many sessions."))
    streaks: list[str] = Field(default=[], description=(
        "Pairs whose outperformance streaks are tracked: the end of a long streak is an event."))
    min_streak: int = Field(default=5, ge=2, description="A streak's end is news when it lasted at least this many sessions.")


class Universe(_Strict):
    calendar: str = Field(description="an exchange_calendars name, such as XNYS")
    history_start: dt.date
    symbols: dict[str, Symbol]
    derived: dict[str, Derived] = {}
    sectors: list[str] = []
    breadth_basket: list[str] = []
    volume_symbols: list[str] = []
    pairs: dict[str, Pair] = {}
    macro: dict[str, MacroSeries] = {}
    validation: Validation
    publish: Publish
    thresholds: Thresholds
    levels: dict[str, Level] = {}
    targets: dict[str, Level] = {}
    ranges: dict[str, Range] = {}
    charts: dict[str, ChartSpec] = {}
    claims: dict[str, Claim] = {}
    watchlist: dict[str, WatchItem] = {}
    events: Events = Events()
    # The file it was read from (errors found later name it); None when built in code.
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, name: str, info) -> str:
        if (info.context or {}).get("keys_only"):
            return name  # `list` reads keys and labels only: no calendar (and no pandas) to load
        import exchange_calendars as xc

        if name not in xc.get_calendar_names():
            close = difflib.get_close_matches(name, xc.get_calendar_names(), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else " (for example XNYS)"
            raise ValueError(f"unknown exchange calendar {name!r}{hint}")
        return name

    @model_validator(mode="before")
    @classmethod
    def _derived_names(cls, raw):
        """A derived series without a name is named after its legs, so changing a ticker renames it."""
        if isinstance(raw, dict) and isinstance(raw.get("derived"), dict) and isinstance(raw.get("symbols"), dict):
            named = {}
            for alias, d in raw["derived"].items():
                legs = isinstance(d, dict) and (d.get("ratio") or d.get("spread"))
                if isinstance(d, dict) and "name" not in d and isinstance(legs, (list, tuple)) and len(legs) == 2:
                    sym = [raw["symbols"].get(leg) if isinstance(raw["symbols"].get(leg), dict) else None for leg in legs]
                    if all(sym):
                        shown = [s.get("short") or s.get("name") or leg for s, leg in zip(sym, legs)]
                        d = {**d, "name": f" {'/' if d.get('ratio') else '-'} ".join(map(str, shown))}
                named[alias] = d
            raw = {**raw, "derived": named}
        return raw

    @model_validator(mode="before")
    @classmethod
    def _chart_kinds(cls, raw):
        if isinstance(raw, dict):
            if "charts" in raw and raw["charts"] is None:  # `charts:` with nothing under it: no charts
                raw = {**raw, "charts": {}}
            _chart_shapes(raw.get("charts"))
        return raw

    @model_validator(mode="after")
    def _aliases_exist(self):
        known = set(self.symbols)
        taken = {**{a: "a symbol's" for a in known}, **{a: "a pair's" for a in self.pairs},
                 **{a: "a macro series'" for a in self.macro}, **{a: "a range's" for a in self.ranges},
                 **{a: "a metric group's" for a in ("sectors", "breadth", "levels", "targets")}}
        for alias, d in self.derived.items():
            if alias in taken:  # its keys (alias.close, ...) would sit among the other's
                raise ValueError(f"derived.{alias}: the alias is already {taken[alias]}; give the derived series another")
            for leg in d.legs:
                if leg not in known:
                    raise _unknown(f"derived.{alias}.{d.kind}", leg, known)
        # Fetched series only: these need a ticker (and volume_symbols a volume).
        refs = {"sectors": self.sectors, "breadth_basket": self.breadth_basket, "publish.core": self.publish.core,
                "volume_symbols": self.volume_symbols}
        for field, aliases in refs.items():
            for alias in aliases:
                if alias not in known:
                    raise _unknown(field, alias, known)
        # Any series: a symbol or a derived one.
        series = known | set(self.derived)
        refs = {f"{group}.{k}.symbol": [lv.symbol] for group in ("levels", "targets")
                for k, lv in getattr(self, group).items()}
        refs |= {f"pairs.{k}": [p.a, p.b] for k, p in self.pairs.items()}
        for field, aliases in refs.items():
            for alias in aliases:
                if alias not in series:
                    raise _unknown(field, alias, series)
        for name, r in self.ranges.items():
            for bound in (r.lo, r.hi):
                if bound not in self.macro:
                    raise ValueError(f"ranges.{name}: unknown macro alias {bound!r} (known: {', '.join(sorted(self.macro))})")
        _chart_problems(self)
        _event_problems(self)
        return self

    @property
    def card_chart(self) -> str | None:
        """The chart drawn as the link-preview PNG: the one with `card: true`, else the first."""
        return next((cid for cid, c in self.charts.items() if c.card), next(iter(self.charts), None))

    def series_names(self) -> dict[str, str]:
        """Display names of everything a chart can show: symbols (derived series too), macro
        aliases and ranges."""
        names = {a: s.name for a, s in self.symbols.items()}
        names |= {a: d.name for a, d in (getattr(self, "derived", None) or {}).items()}
        names |= {a: m.name for a, m in self.macro.items()} | {a: r.name for a, r in self.ranges.items()}
        return names

    def chart_title(self, cid: str) -> str:
        """A chart's title: its own, else one made from the names of its series (their short
        names where it names several, as legends do)."""
        c = self.charts[cid]
        names = self.series_names()
        if len(c.series_list()) > 1:
            names |= {a: s.label for a, s in self.symbols.items()}
            names |= {a: d.label for a, d in self.derived.items()}
        return c.title or c.default_title(names)

    @property
    def tickers(self) -> dict[str, str]:
        """alias -> ticker"""
        return {alias: s.ticker for alias, s in self.symbols.items()}


class Fact(_Strict):
    """A figure that cannot be fetched live: it always travels with its source and date."""
    text: str
    value: float | None = None
    unit: Literal[FACT_UNITS] = "text"
    source: str
    date: dt.date
    max_age_days: int = Field(gt=0)
    url: str | None = None
    # The decimals the value shows with ("61%": 0). Unset, the value's own as the YAML writes it
    # (0.61 -> "61%", 0.610 -> "61.0%"), so a fact keeps the precision it was published with.
    decimals: int | None = Field(default=None, ge=0, le=6)
    # The day the fact became public: an `--as-of` build before it shows it absent, with the
    # reason. Default: its `date`.
    effective: dt.date | None = Field(default=None, description=(
        "The day it became public (default: its date); an --as-of build before it shows it absent."))

    @property
    def effective_from(self) -> dt.date:
        return self.effective or self.date


class Facts(_Strict):
    facts: dict[str, Fact]


class _UniqueKeys:
    """Safe YAML that rejects a key repeated in one mapping (plain YAML lets the last one win,
    so a second `spx:` entry would silently replace the first)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"line {line}: duplicate key {key!r} (first defined on line {seen[key]})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    pass


# libyaml's parser where PyYAML was built with it: ten times faster on a large universe file.
class _FastUniqueKeyLoader(_UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _load_yaml(path: Path) -> object:
    """The file's YAML. A file that does not parse is read again by the pure-Python parser, whose
    message quotes the offending line (libyaml's does not)."""
    try:
        text = path.read_text(encoding="utf-8")
        try:
            return yaml.load(text, Loader=_FastUniqueKeyLoader)
        except yaml.YAMLError:
            return yaml.load(text, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model whose fields sit at `loc` (through dict keys, list items and optional fields)."""
    current: object = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:
            current = _item_type(current)
            if current is None:
                return None
    current = _item_type(current) if not (isinstance(current, type) and issubclass(current, BaseModel)) else current
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _item_type(annotation: object) -> object:
    """What a dict's values, a list's items or an optional field hold, when it is a model."""
    for arg in reversed(get_args(annotation)):  # dict[str, X]: X is last
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _item_type(arg)
        if inner is not None:
            return inner
    return None


def unknown_field(model: type[BaseModel], loc: tuple) -> str:
    """"unknown field 'treshold'; did you mean 'threshold'?", from the fields of the model at `loc`."""
    name = str(loc[-1])
    owner = _model_at(model, loc[:-1])
    if owner is None:
        return f"unknown field {name!r}"
    fields = list(owner.model_fields)
    near = difflib.get_close_matches(name, fields, n=3, cutoff=0.7)
    if near:
        return f"unknown field {name!r}; did you mean {' or '.join(repr(n) for n in near)}?"
    return f"unknown field {name!r}; valid fields: {', '.join(fields)}"


def _parse(model: type[BaseModel], path: Path, context: dict | None = None):
    raw = _load_yaml(path)
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        # A misspelt field also shows up as the real one "missing": name the unknown one first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in first["loc"][:-1]) or "(top level)"
            field, message = parent, unknown_field(model, tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {field}: {message}{more}") from None


def load_universe(path: Path = DEFAULT_UNIVERSE, *, keys_only: bool = False) -> Universe:
    """The editorial config, validated field by field. `keys_only` skips the exchange-calendar
    check, for commands that only list keys (and must not wait for pandas to load). That its
    claims and watch items name metric keys is checked against the catalog by
    `compute.keys.check_signals` (`compute.keys.load_universe` does both)."""
    universe = _parse(Universe, Path(path), {"keys_only": keys_only})
    universe._path = Path(path)
    return universe


def load_facts(path: Path = DEFAULT_FACTS) -> Facts:
    """The sourced facts; each number without `decimals:` keeps the decimals it is written with."""
    facts = _parse(Facts, Path(path))
    written = _written_values(Path(path))
    return facts.model_copy(update={"facts": {
        key: fact if fact.decimals is not None or key not in written else
        fact.model_copy(update={"decimals": formatting.written_decimals(written[key], fact.unit)})
        for key, fact in facts.facts.items()}})


def _written_values(path: Path) -> dict[str, str]:
    """Each fact's `value` as the YAML text writes it ("0.610", not the float 0.61)."""
    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    out: dict[str, str] = {}
    for key, node in _mapping(root).items():
        if key == "facts":
            for fact_key, fact in _mapping(node).items():
                value = _mapping(fact).get("value")
                if isinstance(value, yaml.ScalarNode):
                    out[fact_key] = value.value
    return out


def _mapping(node: object) -> dict[str, object]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
