"""Raw per-series history on disk: append-only, self-checking, written atomically.

Each file is a header line `# sha256=<hex of the body> source=<provider> fetched_at=<ISO time>
first=<date> last=<date> rows=<n>` followed by a CSV body. A file whose body does not match its
checksum, or does not parse, is corrupt: it is moved aside (`NAME.csv.corrupt-<time>`, kept, never
overwritten) and its series stays unavailable until a validated fetch covers at least the dates
the corrupt file covered. A new fetch may extend the history or revise recent values within a
tolerance; it can never shorten it or replace it with nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from build_data import atomic
from build_data.errors import CacheError
from build_data.fetch.sources import PRICE_COLUMNS, macro_series, price_frame


@dataclass
class Cached:
    data: pd.DataFrame | pd.Series
    source: str
    fetched_at: str
    path: Path


# What a ticker or series id may be before it becomes a file name: Yahoo's symbols (^RUT, BRK-B,
# EURUSD=X, ES=F) and FRED's ids. Nothing else reaches the file system: no separator, no "..".
SAFE_NAME = re.compile(r"[A-Za-z0-9^][A-Za-z0-9^.=_-]{0,31}")


def _path(cache_dir: Path, kind: str, name: str) -> Path:
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise CacheError(f"{name!r}: not a ticker or series id the cache can name a file after "
                         "(letters, digits and ^ . = _ - only)")
    return Path(cache_dir) / kind / f"{name}.csv"


def _shown(path: Path) -> str:
    """A cache file as published in reasons: relative to the cache folder ("prices/IWM.csv"),
    never the machine's absolute path."""
    return f"cache file {path.parent.name}/{path.name}"


def _encode(body: str, source: str, fetched_at: str, index: pd.Index) -> str:
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    span = f" first={index[0]:%Y-%m-%d} last={index[-1]:%Y-%m-%d} rows={len(index)}" if len(index) else ""
    return f"# sha256={digest} source={source} fetched_at={fetched_at}{span}\n{body}"


_DATE_AT_LINE_START = re.compile(rb"^(\d{4}-\d{2}-\d{2}),", re.M)


def quarantine(path: Path, now: dt.datetime) -> Path:
    """Move a corrupt cache file aside, keeping it, under a name no later write will reuse."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.corrupt-{now:%Y%m%dT%H%M%S}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{now:%Y%m%dT%H%M%S}-{n}")
    os.rename(path, aside)
    return aside


def legible_dates(path: Path) -> list[dt.date]:
    """The dates a (corrupt) cache file still shows: its header's first/last, and every row date
    that can be read."""
    raw = Path(path).read_bytes()
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
    meta = dict(part.split("=", 1) for part in header[2:].split() if "=" in part) if header.startswith("# ") else {}
    days = []
    for text in [meta.get("first", ""), meta.get("last", "")] + [m.decode() for m in _DATE_AT_LINE_START.findall(raw)]:
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            continue
    return days


def _span_of(path: Path) -> tuple[dt.date, dt.date] | None:
    """The dates a (corrupt) cache file covered: from its header, else from the dates still legible."""
    days = legible_dates(path)
    return (min(days), max(days)) if days else None


@dataclass
class Quarantined:
    """Corrupt files kept beside a series' cache, and the dates a replacement must cover."""
    paths: list[Path]
    first: dt.date | None
    last: dt.date | None

    def covered_by(self, index: pd.Index) -> bool:
        if self.first is None or not len(index):
            return bool(len(index))
        return index[0].date() <= self.first and index[-1].date() >= self.last

    def describe(self) -> str:
        span = f"{self.first} .. {self.last}" if self.first else "an unknown range"
        return f"kept as {', '.join(p.name for p in self.paths)}; needs a fetch covering {span}"


def quarantined(cache_dir: Path, kind: str, name: str) -> Quarantined | None:
    """Corrupt files of this series awaiting a covering fetch: only while it has no cache file."""
    path = _path(cache_dir, kind, name)
    if path.exists():
        return None
    paths = sorted(path.parent.glob(f"{glob_escape(path.name)}.corrupt-*"))
    if not paths:
        return None
    spans = [s for s in (_span_of(p) for p in paths) if s is not None]
    if not spans:
        return Quarantined(paths, None, None)
    return Quarantined(paths, min(a for a, _ in spans), max(b for _, b in spans))


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _decode(path: Path) -> tuple[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CacheError(f"{_shown(path)}: corrupt (not UTF-8 text)", path=path) from None
    header, _, body = text.partition("\n")
    if not header.startswith("# "):
        raise CacheError(f"{_shown(path)}: corrupt (no checksum header)", path=path)
    meta = dict(part.split("=", 1) for part in header[2:].split() if "=" in part)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != meta.get("sha256"):
        raise CacheError(f"{_shown(path)}: corrupt (checksum mismatch)", path=path)
    return body, meta


def _load(cache_dir: Path, kind: str, name: str, shape) -> Cached | None:
    path = _path(cache_dir, kind, name)
    if not path.exists():
        return None
    body, meta = _decode(path)
    try:
        data = shape(pd.read_csv(io.StringIO(body), index_col="date", parse_dates=["date"]))
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise CacheError(f"{_shown(path)}: corrupt ({exc})", path=path) from None
    return Cached(data, meta.get("source", "?"), meta.get("fetched_at", "?"), path)


def load_prices(cache_dir: Path, ticker: str) -> Cached | None:
    """Cached price history for a ticker, None if never cached. Raises CacheError if corrupt."""
    return _load(cache_dir, "prices", ticker, price_frame)


def load_macro(cache_dir: Path, series_id: str) -> Cached | None:
    """Cached observations of a macro series, None if never cached. Raises CacheError if corrupt."""
    return _load(cache_dir, "macro", series_id, lambda frame: macro_series(frame["value"], series_id))


def merge_prices(name: str, old: pd.DataFrame | None, new: pd.DataFrame, *, tolerance: float) -> pd.DataFrame:
    """Old history extended by the new fetch. Overlapping closes may be revised by at most
    `tolerance` (a fraction); anything larger means the fetch disagrees with what we published."""
    if new is None or new.dropna(how="all").empty:
        raise CacheError(f"{name}: refusing to cache an empty fetch")
    if old is None or old.empty:
        return new
    overlap = old.index.intersection(new.index)
    if len(overlap):
        drift = (new.loc[overlap, "close"] / old.loc[overlap, "close"] - 1).abs()
        if (drift > tolerance).any():
            day = drift.idxmax()
            raise CacheError(f"{name}: fetched close on {day.date()} differs from the cached one by "
                             f"{drift.max():.1%}, above the {tolerance:.1%} revision tolerance")
    merged = pd.concat([old.drop(index=overlap), new]).sort_index()
    return merged[PRICE_COLUMNS]


def split_rescale(old: pd.DataFrame | None, new: pd.DataFrame, splits: dict[pd.Timestamp, float], *,
                  tolerance: float) -> tuple[pd.DataFrame | None, dict | None]:
    """The cached history restated for a split the fetch reported, or unchanged.

    Yahoo restates every close before a split by its ratio. When the overlap of cache and fetch
    differs by exactly that one factor before the split day (within `tolerance`) and not at all
    from it on, the cached prices before the split are divided by the ratio (volumes multiplied)
    and the event is returned as {"date", "ratio"}. Anything else is left to `merge_prices`.
    """
    if old is None or old.empty or not splits:
        return old, None
    overlap = old.index.intersection(new.index)
    factor = old.loc[overlap, "close"] / new.loc[overlap, "close"]
    for day, ratio in sorted(splits.items()):
        before, after = factor[overlap < day], factor[overlap >= day]
        if before.empty or not ((before / ratio - 1).abs() <= tolerance).all():
            continue
        if not ((after - 1).abs() <= tolerance).all():
            continue
        scaled = old.copy()
        earlier = scaled.index < day
        scaled.loc[earlier, ["open", "high", "low", "close", "adj_close"]] /= ratio
        scaled.loc[earlier, "volume"] *= ratio
        return scaled, {"date": day.date().isoformat(), "ratio": ratio}
    return old, None


def merge_macro(name: str, old: pd.Series | None, new: pd.Series) -> pd.Series:
    """Old observations extended and revised by the new fetch (FRED revises data; the fetch
    time is the vintage). Observations the new fetch lacks are kept."""
    if new is None or new.dropna().empty:
        raise CacheError(f"{name}: refusing to cache an empty fetch")
    if old is None or old.empty:
        return new
    return pd.concat([old.drop(index=old.index.intersection(new.index)), new]).sort_index().rename(new.name)


def save_prices(cache_dir: Path, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: str) -> Path:
    """Write the ticker's full history atomically, never fewer rows than already cached."""
    path = _path(cache_dir, "prices", ticker)
    _refuse_shrink(path, len(frame), lambda: load_prices(cache_dir, ticker))
    body = frame[PRICE_COLUMNS].to_csv(index_label="date", float_format="%.6f", date_format="%Y-%m-%d")
    atomic.write_text(path, _encode(body, source, fetched_at, frame.index))
    return path


def save_macro(cache_dir: Path, series_id: str, series: pd.Series, *, source: str, fetched_at: str) -> Path:
    path = _path(cache_dir, "macro", series_id)
    _refuse_shrink(path, len(series), lambda: load_macro(cache_dir, series_id))
    body = series.rename("value").to_csv(index_label="date", date_format="%Y-%m-%d")
    atomic.write_text(path, _encode(body, source, fetched_at, series.index))
    return path


def _refuse_shrink(path: Path, rows: int, load) -> None:
    if not path.exists():
        return
    try:
        old = load()
    except CacheError:
        return  # a corrupt file may be replaced by good data
    if old is not None and rows < len(old.data):
        raise CacheError(f"{_shown(path)}: refusing to replace {len(old.data)} cached rows with {rows}")
