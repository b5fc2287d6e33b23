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
    ticker: str
    name: str


class MacroSeries(_Strict):
    series: str
    name: str
    unit: Literal["count", "percent", "index"]
    # Days from the observation date until the figure is public: `--as-of` never sees it earlier.
    release_lag_days: int = Field(default=0, ge=0)


class Pair(_Strict):
    a: str
    b: str


class Validation(_Strict):
    max_daily_move: float = Field(gt=0, le=1)
    max_stale_sessions: int = Field(ge=0)
    revision_tolerance: float = Field(ge=0, le=0.5)


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
    calendar: str = Field(description="an exchange_calendars name, such as XNYS")
    history_start: dt.date
    symbols: dict[str, Symbol]
    sectors: list[str]
    breadth_basket: list[str]
    volume_symbols: list[str]
    pairs: dict[str, Pair]
    macro: dict[str, MacroSeries]
    validation: Validation
    publish: Publish
    thresholds: Thresholds
    levels: LevelSet
    targets: LevelSet
    claims: dict[str, Claim] = {}
    watchlist: dict[str, WatchItem] = {}

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, name: str) -> str:
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
                "volume_symbols": self.volume_symbols,
                "levels.symbol": [self.levels.symbol], "targets.symbol": [self.targets.symbol]}
        refs |= {f"pairs.{k}": [p.a, p.b] for k, p in self.pairs.items()}
        for field, aliases in refs.items():
            for alias in aliases:
                if alias not in known:
                    raise ValueError(f"{field}: unknown symbol alias {alias!r} (known: {', '.join(sorted(known))})")
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


def _parse(model: type[BaseModel], path: Path):
    raw = _load_yaml(path)
    try:
        return model.model_validate(raw)
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


def load_universe(path: Path = DEFAULT_UNIVERSE) -> Universe:
    return _parse(Universe, Path(path))


def load_facts(path: Path = DEFAULT_FACTS) -> Facts:
    return _parse(Facts, Path(path))
