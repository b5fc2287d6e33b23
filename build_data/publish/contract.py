"""The snapshot contract: the shape of metrics.json, which build_data writes and macros/ reads.

One module for both packages (pydantic, no pandas): the schema version, the data modes, the
units, the claim groups' names, the watch statuses and the chart runtime's path are written here once.
build_data writes metrics.json only through `dumps`, which validates it, fills in the defaults
and stamps it with the digest of what it checked; macros/ reads it through `load`, which checks
again only a file whose digest does not match (edited by hand, or written by an older build).
So a site build need not import pydantic (a tenth of a second or more) for a file already checked.
Entries allow extra fields, so a new field is not a break.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal, get_args

from build_data.units import METRIC_UNITS

SCHEMA = 1
DataMode = Literal["live", "cache", "csv", "sample"]
DATA_MODES = get_args(DataMode)
Unit = Literal[METRIC_UNITS]
UNITS = frozenset(get_args(Unit))
# A claim's group: any name (usually the page it argues on, "bull", "bear"); the tally counts per group.
CLAIM_GROUP = r"^[a-z0-9][a-z0-9_-]*$"
WatchStatus = Literal["clear", "near", "triggered", "unknown"]
WATCH_STATUSES = get_args(WatchStatus)
# The chart runtime, relative to metrics.json's folder (macros/theme/assets/charts.js loads the same file).
VENDOR_BUNDLE = "vendor/vega-bundle.js"
# The key of metrics.json that holds the digest `dumps` stamped it with.
STAMP = "checked_sha256"
BUILD_HINT = "build it with `python -m build_data` (or `make data`)"


class ContractError(ValueError):
    """metrics.json is missing, unreadable, or breaks the contract; names the file and field."""


@functools.cache
def model() -> type:
    """The pydantic model of metrics.json, defined on first use."""
    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

    class _Entry(BaseModel):
        model_config = ConfigDict(extra="allow")


    class Metric(_Entry):
        value: Any
        unit: Unit
        label: str = ""
        as_of: str | None = None
        source: str = ""
        reason: str | None = None

        @model_validator(mode="after")
        def _reason_when_empty(self):
            if self.value is None and not (self.reason and self.reason.strip()):
                raise ValueError("a metric with no value needs a reason")
            return self


    class Claim(_Entry):
        page: str = Field(pattern=CLAIM_GROUP)
        title: str
        metric: str
        holds: bool | None
        value: Any = None
        threshold: float | None = None
        since: str | None = None
        # How the value and threshold read, in the metric's unit ("pp" for a return spread).
        fmt: str | None = None
        # The threshold and clear level as the texts show them ("3%", "70"): threshold() prints them.
        threshold_text: str | None = None
        clear_text: str | None = None


    class WatchItem(_Entry):
        kind: Literal["catalyst", "risk"]
        title: str
        metric: str
        status: WatchStatus
        value: Any = None
        threshold: float | None = None
        since: str | None = None
        fmt: str | None = None
        threshold_text: str | None = None
        clear_text: str | None = None
        # The next scheduled event of the kind the item's config `next:` names: {kind, name, date,
        # source, url}; date None (with a reason) once the calendar's dates have run out.
        next: dict | None = None


    class Fact(_Entry):
        unit: Unit
        value: Any = None
        text: str = ""
        source: str | None = None
        date: str | None = None
        expired: bool = False
        decimals: int | None = None


    class Chart(_Entry):
        title: str
        description: str
        spec: str | None = None
        svg: str | None = None
        reason: str | None = None
        # The kind config declared (performance, trend, ...), and whether this chart is the
        # link-preview card (config `card: true`, else the first chart): its PNG is `png`.
        kind: str | None = None
        card: bool = False
        png: str | None = None
        # The SVG fallback's size, so the page reserves its space before it loads.
        width: int | None = None
        height: int | None = None

        @model_validator(mode="after")
        def _text_alternative(self):
            if self.spec and not (self.title.strip() and self.description.strip()):
                raise ValueError("a chart needs a title and a description (its text alternative)")
            return self


    class Sector(_Entry):
        alias: str
        name: str

    class Level(_Entry):
        key: str
        label: str
        distance_key: str
        above_key: str
        # The close's side of the level, and the first session of the crossing that put it there
        # (None: on that side for the whole history), with that session's close.
        side: Literal["above", "below"] | None = None
        since: str | None = None
        since_close: float | None = None

    class Target(_Entry):
        key: str
        label: str
        move_key: str
        source: str | None = None
        date: str | None = None
        # up: set above the close on its date; reached_on: the first session since then whose
        # close reached it (None: not yet), with that close; beyond: the last close is still past it.
        direction: Literal["up", "down"] | None = None
        reached_on: str | None = None
        reached_close: float | None = None
        beyond: bool | None = None

    class ScheduledEvent(_Entry):
        """One date of the config's events calendar (FOMC decision, CPI release, ...)."""
        kind: str
        name: str
        date: str
        source: str
        url: str | None = None
        past: bool

    class Change(_Entry):
        """One entry of the change log: one event, with what the value did and every claim and
        watch item it moved (`items`, each with the anchor of its row or badge on the pages)."""
        date: str
        text: str
        # What the entry is about (a snapshot written before these fields has none of them).
        kind: Literal["claim", "watch", "level", "target", "record", "streak"] | None = None
        id: str | None = None
        key: str = ""
        value: Any = None
        value_text: str | None = None
        anchor: str | None = None
        # The page and anchor of the entry, relative to the site root ("bear-case/#claim-overbought"),
        # once the build found the page that shows it.
        url: str | None = None
        items: list[dict] = []

    class CatalogRow(_Entry):
        pattern: str
        unit: str
        definition: str

    class ConfigRow(_Entry):
        """One field of the site config, from its JSON Schema (build_data/schema.py)."""
        field: str
        type: str
        default: str = ""
        description: str = ""

    class Revision(_Entry):
        series: str                 # the symbol alias
        ticker: str
        session: str                # the session whose close was corrected (YYYY-MM-DD)
        old: float                  # the close published before
        new: float                  # the corrected close
        when: str                   # when the correction was accepted (fetch time, ISO UTC)
        how: Literal["seen again", "cross-check"]

    class Sentence(_Entry):
        kind: str
        text: str

    class Summary(_Entry):
        as_of: str
        since: str | None = None
        sentences: list[Sentence] = []

    class HistoryNote(_Entry):
        text: str | None = None

    class BaseRate(_Entry):
        kind: Literal["claim", "watch"]
        title: str
        series: str
        cases: int
        measured: int
        lower: int
        share_lower: float | None = None
        median: float | None = None
        start: str | None = None
        horizon: int
        text: str

    class Snapshot(_Entry):
        schema_: Literal[1] = Field(alias="schema")
        as_of: str
        built_at: str | None = None
        data_mode: DataMode
        mode_note: str | None = ""
        metrics: dict[str, Metric]
        claims: dict[str, Claim] = {}
        watchlist: dict[str, WatchItem] = {}
        facts: dict[str, Fact] = {}
        series_status: dict[str, dict] = {}
        charts: dict[str, Chart] = {}
        changes: list[Change] = []
        # The events calendar from the change log's window on, oldest first.
        calendar: list[ScheduledEvent] = []
        sectors: list[Sector] = []
        levels: list[Level] = []
        targets: list[Target] = []
        catalog: list[CatalogRow] = []
        config_reference: list[ConfigRow] = []
        # Per claim group: how many claims hold, no longer hold, or can't be checked.
        tally: dict[str, dict[str, int]] = {}
        # Corrections beyond the revision tolerance that were accepted, oldest first.
        revisions: list[Revision] = []
        # The home page's story: the "this week" summary (as_of, since, sentences), the history
        # notes ("rut.drought", "records_ytd", "rut_vs_spx.streak": figures with their sentence)
        # and each price signal's base rate over the whole history, keyed by claim or watch id.
        summary: Summary | None = None
        history_notes: dict[str, HistoryNote] = {}
        base_rates: dict[str, BaseRate] = {}

        @field_validator("as_of")
        @classmethod
        def _iso_day(cls, value: str) -> str:
            dt.date.fromisoformat(value)  # a ValueError names the field
            return value

    return Snapshot


def validate(data: Any, where: str = "snapshot") -> dict:
    """The snapshot as a plain dict with its defaults filled in, or a ContractError naming the field."""
    from pydantic import ValidationError

    try:
        return model().model_validate(data).model_dump(by_alias=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ContractError(f"{where}: {field}: {first['msg']}{more}") from None


def load(path: str | os.PathLike) -> dict:
    """Read and validate metrics.json; every error names the file and says how to rebuild it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"snapshot not found: {path}; {BUILD_HINT}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ContractError(f"snapshot {path} is not valid JSON ({e}); {BUILD_HINT}") from None
    if isinstance(data, dict) and STAMP in data and _stamped(data):
        return data
    return validate(data, f"snapshot {path}")


def _stamped(data: dict) -> bool:
    try:
        return data[STAMP] == digest(data)
    except (TypeError, ValueError):  # a NaN or a value JSON can't hold: not what `dumps` wrote
        return False


def _canonical(data: dict) -> str:
    """Compact, sorted JSON: the form the digest is taken over and the file is written in (Python's
    C encoder writes it; an indented file would go through the pure-Python one, ten times slower
    on a large universe's snapshot)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(data: dict) -> str:
    """The SHA-256 of the snapshot without its stamp, over a canonical JSON text."""
    return hashlib.sha256(_canonical({k: v for k, v in data.items() if k != STAMP}).encode()).hexdigest()


def dumps(data: dict, where: str = "snapshot") -> str:
    """The text of metrics.json: validated, defaults filled in, stamped with its digest. One line
    of compact JSON (`python -m json.tool metrics.json` shows it indented)."""
    checked = validate({k: v for k, v in data.items() if k != STAMP}, where)
    checked[STAMP] = digest(checked)
    return _canonical(checked) + "\n"
