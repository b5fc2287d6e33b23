"""Raw per-series history on disk: append-only, self-checking, written atomically.

Each file is a header line `# sha256=<hex of the body> source=<provider> fetched_at=<ISO time>`
followed by a CSV body. A file whose body does not match its checksum, or does not parse, is
reported as corrupt and never used. A new fetch may extend the history or revise recent values
within a tolerance; it can never shorten it or replace it with nothing.
"""
from __future__ import annotations

import hashlib
import io
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


def _path(cache_dir: Path, kind: str, name: str) -> Path:
    return Path(cache_dir) / kind / f"{name}.csv"


def _shown(path: Path) -> str:
    """A cache file as published in reasons: relative to the cache folder ("prices/IWM.csv"),
    never the machine's absolute path."""
    return f"cache file {path.parent.name}/{path.name}"


def _encode(body: str, source: str, fetched_at: str) -> str:
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"# sha256={digest} source={source} fetched_at={fetched_at}\n{body}"


def _decode(path: Path) -> tuple[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CacheError(f"{_shown(path)}: corrupt (not UTF-8 text)") from None
    header, _, body = text.partition("\n")
    if not header.startswith("# "):
        raise CacheError(f"{_shown(path)}: corrupt (no checksum header)")
    meta = dict(part.split("=", 1) for part in header[2:].split() if "=" in part)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != meta.get("sha256"):
        raise CacheError(f"{_shown(path)}: corrupt (checksum mismatch)")
    return body, meta


def _load(cache_dir: Path, kind: str, name: str, shape) -> Cached | None:
    path = _path(cache_dir, kind, name)
    if not path.exists():
        return None
    body, meta = _decode(path)
    try:
        data = shape(pd.read_csv(io.StringIO(body), index_col="date", parse_dates=["date"]))
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise CacheError(f"{_shown(path)}: corrupt ({exc})") from None
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
    atomic.write_text(path, _encode(body, source, fetched_at))
    return path


def save_macro(cache_dir: Path, series_id: str, series: pd.Series, *, source: str, fetched_at: str) -> Path:
    path = _path(cache_dir, "macro", series_id)
    _refuse_shrink(path, len(series), lambda: load_macro(cache_dir, series_id))
    body = series.rename("value").to_csv(index_label="date", date_format="%Y-%m-%d")
    atomic.write_text(path, _encode(body, source, fetched_at))
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
