"""Typed, validated editorial config (universe.yml, facts.yml).

Errors name the file and the field, for example
`build_data/universe.yml: symbols.rut.ticker: Field required`.
"""
from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from build_data.errors import ConfigError

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
    unit: Literal["points", "usd"] | None = None

    @property
    def label(self) -> str:
        return self.short or self.name

    @property
    def price_unit(self) -> str:
        return self.unit or ("points" if self.ticker.startswith("^") else "usd")


class MacroSeries(_Strict):
    series: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: str
    unit: Literal["count", "percent", "index"]
    # Days from the observation date until the figure is public: `--as-of` never sees it earlier.
    release_lag_days: int = Field(default=0, ge=0)
    # Metrics derived from the series besides `latest` (see the catalog's MACRO_DERIVED).
    derived: list[Literal["avg_4w", "yoy"]] = []


class Range(_Strict):
    """A range published as two series (a lower and an upper bound), shown as one metric."""
    lo: str
    hi: str
    name: str


class Charts(_Strict):
    """Which series each chart shows: aliases and pairs from this file, never names in code."""
    performance: list[str]     # symbols rebased to 100 at the previous year-end
    trend: str                 # symbol shown with its averages, levels and targets (and its RSI)
    volume: str                # a symbol listed in volume_symbols
    ratio: str                 # a pair
    macro: list[str]           # macro aliases or range names, one panel each


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


class Condition(_Strict):
    """One test `metric op threshold`; with `clear`, a state once begun lasts while `metric op clear`."""
    metric: str
    op: Op
    threshold: float | None = None
    clear: float | None = None
    near: float | None = Field(default=None, ge=0)  # watch items: "near" within this of the threshold

    @model_validator(mode="after")
    def _consistent(self):
        _check_condition(self.op, self.threshold, self.clear)
        return self


class _Signal(_Strict):
    """One condition written inline (`metric`, `op`, `threshold`), or a compound `all:` / `any:` list.

    `confirm`: sessions a new state must hold before it counts (one-session blips never reach the
    change log); its `since` is then the first session of that run."""
    metric: str | None = None
    op: Op | None = None
    threshold: float | None = None
    clear: float | None = None
    all: list[Condition] | None = Field(default=None, min_length=1)
    any: list[Condition] | None = Field(default=None, min_length=1)
    confirm: int = Field(default=2, ge=1, le=63)

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
    """An argument on the bull or bear page whose truth is checked against metrics."""
    page: Literal["bull", "bear"]
    title: str
    holds: str
    fails: str


class WatchItem(_Signal):
    """A catalyst or risk: triggered when its condition holds; near within `near` of the threshold."""
    kind: Literal["catalyst", "risk"]
    title: str
    near: float | None = Field(default=None, ge=0)
    why: str

    @model_validator(mode="after")
    def _numeric(self):
        for c in self.conditions:
            if c.op not in ORDERING:
                raise ValueError(f"watch items compare numbers: op must be one of {', '.join(ORDERING)}, not {c.op!r}")
        if self.metric is not None and self.near is None:
            raise ValueError("near: Field required")
        if self.metric is None and self.near is not None:
            raise ValueError("near belongs inside each all:/any: condition")
        return self


class Universe(_Strict):
    calendar: str = Field(description="an exchange_calendars name, such as XNYS")
    history_start: dt.date
    symbols: dict[str, Symbol]
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
    charts: Charts
    claims: dict[str, Claim] = {}
    watchlist: dict[str, WatchItem] = {}

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

    @model_validator(mode="after")
    def _aliases_exist(self):
        known = set(self.symbols)
        refs = {"sectors": self.sectors, "breadth_basket": self.breadth_basket, "publish.core": self.publish.core,
                "volume_symbols": self.volume_symbols}
        refs |= {f"{group}.{k}.symbol": [lv.symbol] for group in ("levels", "targets")
                 for k, lv in getattr(self, group).items()}
        refs |= {f"pairs.{k}": [p.a, p.b] for k, p in self.pairs.items()}
        refs |= {"charts.performance": self.charts.performance, "charts.trend": [self.charts.trend]}
        for field, aliases in refs.items():
            for alias in aliases:
                if alias not in known:
                    raise ValueError(f"{field}: unknown symbol alias {alias!r} (known: {', '.join(sorted(known))})")
        for name, r in self.ranges.items():
            for bound in (r.lo, r.hi):
                if bound not in self.macro:
                    raise ValueError(f"ranges.{name}: unknown macro alias {bound!r} (known: {', '.join(sorted(self.macro))})")
        if self.charts.volume not in self.volume_symbols:
            raise ValueError(f"charts.volume: {self.charts.volume!r} is not in volume_symbols")
        if self.charts.ratio not in self.pairs:
            raise ValueError(f"charts.ratio: unknown pair {self.charts.ratio!r} (known: {', '.join(sorted(self.pairs))})")
        for name in self.charts.macro:
            if name not in self.macro and name not in self.ranges:
                raise ValueError(f"charts.macro: {name!r} is neither a macro alias nor a range")
        return self

    @property
    def tickers(self) -> dict[str, str]:
        """alias -> ticker"""
        return {alias: s.ticker for alias, s in self.symbols.items()}


class Fact(_Strict):
    """A figure that cannot be fetched live: it always travels with its source and date."""
    text: str
    value: float | None = None
    unit: Literal["fraction", "percent", "usd_bn", "multiple", "count", "index", "price", "text"] = "text"
    source: str
    date: dt.date
    max_age_days: int = Field(gt=0)
    url: str | None = None


class Facts(_Strict):
    facts: dict[str, Fact]


class _UniqueKeyLoader(yaml.SafeLoader):
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


def _load_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None


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
            field, message = parent, f"unknown field {first['loc'][-1]!r}"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {field}: {message}{more}") from None


# Units a comparison with a number can apply to ("native" never reaches here: macro series carry their own).
NUMERIC_UNITS = {"fraction", "percent", "price", "index", "count", "ratio", "sessions"}


def _signal_problem(cond: Condition, keys: dict, watch: bool) -> str | None:
    """Why a condition cannot be checked against the catalog's keys, or None."""
    spec = keys.get(cond.metric)
    if spec is None:
        near = difflib.get_close_matches(cond.metric, keys, n=3, cutoff=0.5)
        return f"unknown metric key {cond.metric!r}" + (f"; closest: {', '.join(near)}" if near else "")
    if cond.op in ("true", "false"):
        if spec.unit != "bool":
            return f"op {cond.op!r} needs a yes/no metric; {cond.metric!r} is in unit {spec.unit!r}"
    elif spec.unit not in NUMERIC_UNITS:
        return f"op {cond.op!r} cannot compare {cond.metric!r} (unit {spec.unit!r}) with a number"
    if watch and spec.unit not in NUMERIC_UNITS:
        return f"watch items need a numeric metric; {cond.metric!r} is in unit {spec.unit!r}"
    return None


def check_signals(universe: Universe, path: Path | str = DEFAULT_UNIVERSE) -> None:
    """Every claim and watch item names a catalog key, with a comparison its unit allows."""
    from build_data.compute.catalog import keys_for  # lazy: config stays import-light

    keys = keys_for(universe)
    for section, items in (("claims", universe.claims), ("watchlist", universe.watchlist)):
        for item_id, item in items.items():
            for i, cond in enumerate(item.conditions):
                problem = _signal_problem(cond, keys, watch=section == "watchlist")
                if problem:
                    where = f"{section}.{item_id}" + (f".{item.mode}[{i}]" if item.metric is None else "")
                    raise ConfigError(f"{path}: {where}: {problem}")


def load_universe(path: Path = DEFAULT_UNIVERSE, *, keys_only: bool = False) -> Universe:
    """The editorial config, validated. `keys_only` skips the exchange-calendar check, for
    commands that only list keys (and must not wait for pandas to load)."""
    universe = _parse(Universe, Path(path), {"keys_only": keys_only})
    check_signals(universe, path)
    return universe


def load_facts(path: Path = DEFAULT_FACTS) -> Facts:
    return _parse(Facts, Path(path))
