"""Typed, validated editorial config (universe.yml, facts.yml).

Errors name the file and the field, for example
`build_data/universe.yml: symbols.rut.ticker: Field required`.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from build_data.errors import ConfigError

PACKAGE_DIR = Path(__file__).parent
DEFAULT_UNIVERSE = PACKAGE_DIR / "universe.yml"
DEFAULT_FACTS = PACKAGE_DIR / "facts.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Symbol(_Strict):
    ticker: str
    name: str


class MacroSeries(_Strict):
    series: str
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


class Thresholds(_Strict):
    rsi_overbought: float = Field(gt=0, lt=100)
    rsi_oversold: float = Field(gt=0, lt=100)
    near_band: float = Field(ge=0, le=0.5)


class Level(_Strict):
    value: float = Field(gt=0)
    label: str
    source: str | None = None
    date: dt.date | None = None


class LevelSet(_Strict):
    symbol: str
    items: dict[str, Level]


class Claim(_Strict):
    """An argument on the bull or bear page whose truth is checked against a metric."""
    page: Literal["bull", "bear"]
    title: str
    metric: str
    op: Literal[">", ">=", "<", "<=", "==", "true", "false"]
    threshold: float | None = None
    holds: str
    fails: str

    @model_validator(mode="after")
    def _threshold_needed(self):
        if self.op not in ("true", "false") and self.threshold is None:
            raise ValueError(f"op {self.op!r} needs a threshold")
        return self


class WatchItem(_Strict):
    """A catalyst or risk: triggered when `metric op threshold`, near within `near` of it."""
    kind: Literal["catalyst", "risk"]
    title: str
    metric: str
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    near: float = Field(ge=0)
    why: str


class Universe(_Strict):
    calendar: str
    history_start: dt.date
    symbols: dict[str, Symbol]
    sectors: list[str]
    breadth_basket: list[str]
    volume_symbols: list[str]
    pairs: dict[str, Pair]
    macro: dict[str, MacroSeries]
    validation: Validation
    thresholds: Thresholds
    levels: LevelSet
    targets: LevelSet
    ranges: dict[str, Range] = {}
    charts: Charts
    claims: dict[str, Claim] = {}
    watchlist: dict[str, WatchItem] = {}

    @model_validator(mode="after")
    def _aliases_exist(self):
        known = set(self.symbols)
        refs = {"sectors": self.sectors, "breadth_basket": self.breadth_basket,
                "volume_symbols": self.volume_symbols,
                "levels.symbol": [self.levels.symbol], "targets.symbol": [self.targets.symbol]}
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


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _parse(model: type[BaseModel], path: Path):
    raw = _load_yaml(path)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {field}: {first['msg']}{more}") from None


def load_universe(path: Path = DEFAULT_UNIVERSE) -> Universe:
    return _parse(Universe, Path(path))


def load_facts(path: Path = DEFAULT_FACTS) -> Facts:
    return _parse(Facts, Path(path))
