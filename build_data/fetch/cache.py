"""Raw per-series history on disk: append-only, self-checking, written atomically.

Prices are columnar (Parquet), in two files per ticker so that a daily run writes bytes in
proportion to its new rows, not to the whole history:

* `prices/NAME.parquet`, the base: the history as of the last compaction;
* `prices/NAME.parquet.tail`, the tail (when present): every row from its first date on, which
  replaces the base's rows from that date (new sessions, and recent sessions the source revised).

A save rewrites only the tail, from the first row that differs from what is stored; once the
tail holds more than TAIL_ROWS rows, or a change reaches back into old history (a split), the
whole history is written as the base and the tail removed. Each file is replaced atomically
(temp file + os.replace), base before tail, so a reader never sees a mixture that was not a
stored history. Each file's metadata holds `sha256` (of the row values), `source`,
`fetched_at`, `first`, `last` and `rows`, and Parquet's page checksums are written and
verified. A price cache from before (`prices/NAME.csv`, a header line with the checksum and a
CSV body) is read once and rewritten as Parquet.

Prices are stored at the cache's precision (`canonical`, FLOAT_FORMAT): every history written is
canonical (the merge of `reconcile_prices` is), so a daily run keeps the stored rows before its
fetch as they are, reconciles only the fetched window, and saves from the history it read at
the start (`save_prices(..., stored=)`) without reading the files again.

Macro series stay one CSV per series: a header line `# sha256=<hex of the body> source=<provider>
fetched_at=<ISO time> first=<date> last=<date> rows=<n>` followed by the CSV body.

A file whose content does not match its checksum, or does not parse, is corrupt: it is moved
aside (`NAME.parquet.corrupt-<time>`, with its tail, kept, never overwritten) and its series stays
unavailable until a validated fetch covers at least the dates the corrupt file covered. A new
fetch may extend the history or revise recent values within a tolerance; it can never shorten
it or replace it with nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from build_data import atomic
from build_data.errors import CacheError
from build_data.fetch.sources import PRICE_COLUMNS, macro_series, price_frame


@dataclass
class Cached:
    data: pd.DataFrame | pd.Series
    source: str
    fetched_at: str
    path: Path
    # A price history's position where its tail takes over, as read (len(data): no tail; 0: a
    # tail that does not say where it starts), so a save need not read the files again. None:
    # not known (a history not read from the Parquet files).
    tail_from: int | None = None


# What a ticker or series id may be before it becomes a file name: Yahoo's symbols (^RUT, BRK-B,
# EURUSD=X, ES=F) and FRED's ids. Nothing else reaches the file system: no separator, no "..".
SAFE_NAME = re.compile(r"[A-Za-z0-9^][A-Za-z0-9^.=_-]{0,31}")


def _path(cache_dir: Path, kind: str, name: str) -> Path:
    """The series' file: `prices/NAME.parquet` (the base), `macro/NAME.csv`."""
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise CacheError(f"{name!r}: not a ticker or series id the cache can name a file after "
                         "(letters, digits and ^ . = _ - only)")
    return Path(cache_dir) / kind / (f"{name}.parquet" if kind == "prices" else f"{name}.csv")


def _tail_path(base: Path) -> Path:
    """The base's tail. No ticker's base can have this name: every base ends in `.parquet`."""
    return base.with_name(f"{base.name}.tail")


def _legacy_path(cache_dir: Path, name: str) -> Path:
    """A price file as caches before Parquet wrote it."""
    return _path(cache_dir, "prices", name).with_suffix(".csv")


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
    """Move a corrupt cache file aside, keeping it, under a name no later write will reuse. A
    price base goes with its tail (the tail alone is no history)."""
    path = Path(path)
    if path.name.endswith(".parquet.tail"):
        path = path.with_name(path.name.removesuffix(".tail"))
    aside = path.with_name(f"{path.name}.corrupt-{now:%Y%m%dT%H%M%S}")
    n = 1
    while aside.exists() or _tail_path(path).with_name(f"{_tail_path(path).name}{aside.name[len(path.name):]}").exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{now:%Y%m%dT%H%M%S}-{n}")
    stamp = aside.name[len(path.name):]
    if path.name.endswith(".parquet") and _tail_path(path).exists():
        os.rename(_tail_path(path), _tail_path(path).with_name(f"{_tail_path(path).name}{stamp}"))
    if path.exists():
        os.rename(path, aside)
    return aside


_ISO_DATE = re.compile(rb"(?<![0-9])(\d{4}-\d{2}-\d{2})(?![0-9])")


def legible_dates(path: Path) -> list[dt.date]:
    """The dates a (corrupt) cache file still shows: its header's first/last, and every row date
    that can be read (a Parquet file's dates when its date column still decodes, else the
    first/last written as text in its metadata)."""
    raw = Path(path).read_bytes()
    if raw.startswith(b"PAR1"):
        try:
            dates = pq.read_table(pa.BufferReader(raw), columns=["date"]).column("date").to_numpy()
            return sorted({pd.Timestamp(d).date() for d in dates})
        except Exception:  # noqa: BLE001 (whatever a damaged file raises: fall back to its text)
            texts = [m.decode() for m in _ISO_DATE.findall(raw)]
    else:
        header = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
        meta = dict(part.split("=", 1) for part in header[2:].split() if "=" in part) if header.startswith("# ") else {}
        texts = [meta.get("first", ""), meta.get("last", "")] + [m.decode() for m in _DATE_AT_LINE_START.findall(raw)]
    days = []
    for text in texts:
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
    if path.exists() or (kind == "prices" and _legacy_path(cache_dir, name).exists()):
        return None
    names = [path.name] + ([_tail_path(path).name, _legacy_path(cache_dir, name).name] if kind == "prices" else [])
    paths = sorted(p for n in names for p in path.parent.glob(f"{glob_escape(n)}.corrupt-*"))
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
    return _load_csv(path, shape) if path.exists() else None


def load_prices(cache_dir: Path, ticker: str) -> Cached | None:
    """Cached price history for a ticker, None if never cached. Raises CacheError if corrupt.

    A cache from before Parquet (`NAME.csv`) is read this once: its history is written as the
    Parquet base, bit for bit, and the CSV file removed."""
    path = _path(cache_dir, "prices", ticker)
    if not path.exists():
        legacy = _legacy_path(cache_dir, ticker)
        if not legacy.exists():
            return None
        old = _load_csv(legacy, price_frame)
        _write_part(path, old.data, source=old.source, fetched_at=old.fetched_at)
        legacy.unlink()
        return Cached(old.data, old.source, old.fetched_at, path)
    base, meta = _read_part(path)
    tail_path = _tail_path(path)
    tail_from = len(base)
    if tail_path.exists():
        tail, meta = _read_part(tail_path)
        since = pd.Timestamp(meta.get("since") or (tail.index[0] if len(tail) else base.index[-1] + pd.Timedelta(days=1)))
        base = pd.concat([base[base.index < since], tail]) if len(base) else tail
        tail_from = int(base.index.searchsorted(pd.Timestamp(meta["since"]))) if meta.get("since") else 0
    return Cached(base, meta.get("source", "?"), meta.get("fetched_at", "?"), path, tail_from)


def _load_csv(path: Path, shape) -> Cached:
    """A CSV cache file (a macro series, or a price history from before Parquet), shaped."""
    body, meta = _decode(path)
    try:
        data = shape(pd.read_csv(io.StringIO(body), index_col="date", parse_dates=["date"]))
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise CacheError(f"{_shown(path)}: corrupt ({exc})", path=path) from None
    return Cached(data, meta.get("source", "?"), meta.get("fetched_at", "?"), path)


def _digest(days: np.ndarray, columns: list[np.ndarray]) -> str:
    """sha256 of a history's values: the dates (int64 microseconds) and each column's float64 bits."""
    h = hashlib.sha256(np.ascontiguousarray(days, dtype="int64").tobytes())
    for col in columns:
        h.update(np.ascontiguousarray(col, dtype="float64").tobytes())
    return h.hexdigest()


def _write_part(path: Path, frame: pd.DataFrame, *, source: str, fetched_at: str, extra: dict | None = None) -> int:
    """One Parquet file (a base or a tail) written atomically; returns its size in bytes."""
    days = frame.index.to_numpy(dtype="datetime64[us]")
    values = _values(frame).astype("float64", copy=False)
    columns = [np.ascontiguousarray(values[:, i]) for i in range(len(PRICE_COLUMNS))]
    meta = {"sha256": _digest(days.view("int64"), columns), "source": source, "fetched_at": fetched_at,
            "rows": str(len(frame))} | (extra or {})
    if len(frame):
        meta |= {"first": f"{frame.index[0]:%Y-%m-%d}", "last": f"{frame.index[-1]:%Y-%m-%d}"}
    table = pa.table([pa.array(days, pa.timestamp("us"))] + [pa.array(c, pa.float64()) for c in columns],
                     names=["date"] + PRICE_COLUMNS).replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_page_checksum=True, write_statistics=False)
    data = sink.getvalue().to_pybytes()
    atomic.write_bytes(path, data)
    return len(data)


def _read_part(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """A base or a tail, checked against its checksum. Raises CacheError (naming the file) if corrupt."""
    try:
        table = pq.read_table(path, page_checksum_verification=True)
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        days = table.column("date").to_numpy().astype("datetime64[us]")
        columns = [table.column(c).to_numpy() for c in PRICE_COLUMNS]
    except (OSError, pa.ArrowException, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise CacheError(f"{_shown(path)}: corrupt ({type(exc).__name__}: {str(exc)[:120]})", path=path) from None
    if _digest(days.view("int64"), columns) != meta.get("sha256"):
        raise CacheError(f"{_shown(path)}: corrupt (checksum mismatch)", path=path)
    values = np.column_stack(columns) if len(days) else np.empty((0, len(PRICE_COLUMNS)))
    frame = pd.DataFrame(values.astype("float64", copy=False), index=pd.DatetimeIndex(days, name="date"),
                         columns=_COLUMNS)
    return frame, meta


def load_macro(cache_dir: Path, series_id: str) -> Cached | None:
    """Cached observations of a macro series, None if never cached. Raises CacheError if corrupt."""
    return _load(cache_dir, "macro", series_id, lambda frame: macro_series(frame["value"], series_id))


# The precision the cache stores prices at. Every frame is brought to it on entry (`canonical`), so a
# series computed from a fresh fetch, from a restated cache or from the file a later run reads is
# the same to the last bit, and a refetch of an untouched series reproduces the cache exactly.
FLOAT_FORMAT = "%.6f"


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame at the cache's precision: every value as its FLOAT_FORMAT text would parse
    back (correctly rounded to 6 decimals), in the common price shape. Computed on the arrays
    (`round6`); the cache stores these values as they are."""
    if frame is None or frame.empty:
        return frame
    out = frame if _in_shape(frame) else price_frame(frame)
    index = pd.DatetimeIndex(out.index.as_unit("us").to_numpy(), name="date")  # no freq, as a file read back
    return pd.DataFrame(round6(out.to_numpy()), index=index, columns=_COLUMNS)


# The price columns as one shared Index: frames the cache builds carry this very object, so a
# check of their columns is an identity test.
_COLUMNS = pd.Index(PRICE_COLUMNS)
_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _price_columns(df: pd.DataFrame) -> bool:
    return df.columns is _COLUMNS or list(df.columns) == PRICE_COLUMNS


def _in_shape(df: pd.DataFrame) -> bool:
    """Already in the common price shape (as every cached history is): price_frame would only copy
    it (values that read as float64 without change: price_frame's astype gives the same)."""
    idx = df.index
    return (_price_columns(df) and isinstance(idx, pd.DatetimeIndex) and idx.tz is None
            and idx.name == "date" and df.to_numpy().dtype == np.float64 and idx.is_monotonic_increasing
            and bool((idx.asi8 % _DAY[idx.unit] == 0).all()))


def round6(values: np.ndarray) -> np.ndarray:
    """float(f"{v:.6f}") for every value, bit for bit, without formatting each one.

    k / 1e6, with k the integer nearest to v * 1e6, is that value (both k and 1e6 are exact, and
    the division is correctly rounded) unless v * 1e6 lies so near a half that the product's own
    rounding could tip k: those few values, and those too large for exact k, go through the text."""
    v = np.asarray(values, dtype="float64")
    out = v.copy()
    finite = np.isfinite(v)
    whole = finite & (v == np.floor(np.where(finite, v, 0)))  # integers print and parse unchanged
    rest = finite & ~whole
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = v * 1e6
        k = np.rint(scaled)
        frac = np.abs(scaled - np.trunc(scaled))
        near_half = np.abs(frac - 0.5) <= np.abs(scaled) * 1e-15 + 1e-9
    slow = rest & (near_half | (np.abs(scaled) >= 2.0 ** 52))
    fast = rest & ~slow
    out[fast] = k[fast] / 1e6
    if slow.any():
        out[slow] = [float(FLOAT_FORMAT % x) for x in v[slow]]
    return out


def _same_rows(old: pd.DataFrame, new: pd.DataFrame) -> pd.Series:
    """Rows equal to within one unit of the cache's last stored digit (volumes exactly)."""
    return pd.Series(_same_values(old[PRICE_COLUMNS].to_numpy(), new[PRICE_COLUMNS].to_numpy()), index=old.index)


def _same_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """_same_rows on the rows' values (PRICE_COLUMNS in order)."""
    both_nan = np.isnan(a) & np.isnan(b)
    close = ((np.abs(a[:, :5] - b[:, :5]) <= 1.5e-6) | both_nan[:, :5]).all(axis=1)
    vol = (a[:, 5] == b[:, 5]) | both_nan[:, 5]
    return close & vol


@dataclass
class Reconciled:
    """A fetch reconciled with the cache: the history to keep, and what happened to each revision."""
    merged: pd.DataFrame
    disputed: list[dict]        # {"session", "old", "new", "drift"}: kept at the cached value for now
    accepted: list[dict]        # revision-log entries made by this fetch
    pending: dict[str, dict]    # session -> {"new", "seen"}: disputes awaiting a second sighting


def provisional_days(old: pd.DataFrame | None, provisional: int, recent_from: pd.Timestamp | None = None) -> set:
    """The cache's sessions the source may still correct freely: its last `provisional`, and
    with `recent_from` only those on or after it."""
    if old is None or old.empty or provisional <= 0:
        return set()
    days = set(old.index[-provisional:])
    return {d for d in days if d >= recent_from} if recent_from is not None else days


def reconcile_prices(name: str, old: pd.DataFrame | None, new: pd.DataFrame, *, tolerance: float,
                     provisional: int = 0, pending: dict[str, dict] | None = None,
                     when: str = "", confirms: Callable[[pd.Timestamp, float, float], bool] | None = None,
                     recent_from: pd.Timestamp | None = None) -> Reconciled:
    """Old history extended and revised by the new fetch.

    * The cache's last `provisional` sessions are provisional: the source may correct them freely
      (a bad print fixed the next day); with `recent_from`, only those on or after it (a print
      long past stays settled even when nothing newer could be cached).
    * An older close revised by at most `tolerance` (a fraction) is taken silently.
    * An older close revised by more is *disputed*: the cached row is kept and the fetched value
      remembered in `pending`. It is accepted when a later fetch (another run) shows the same value
      again, or at once when `confirms(session, old_close, new_close)` says a cross-check agrees;
      each acceptance is a revision-log entry {"session", "old", "new", "when", "how"}.
    * A fetch that disagrees beyond the tolerance on most of the settled overlap (two days or more)
      is not a correction but a restatement nobody reported (an unannounced split, another series):
      it is refused with CacheError, and the cache is kept.
    A disputed bar never stops later sessions: they are merged as usual.

    Only the rows that can change are worked on: the cache's rows from the fetch's first date on
    are reconciled with it, and the history before that date is kept as it is (a cached history
    is at the cache's precision already: `save_prices` stores canonical values). An `old` not in
    the cache's shape is brought to it whole.
    """
    if new is None or (np.isnan(new.to_numpy()).all() if _in_shape(new) else new.dropna(how="all").empty):
        raise CacheError(f"{name}: refusing to cache an empty fetch")
    new = canonical(new)
    pending = dict(pending or {})
    if old is None or old.empty:
        return Reconciled(new[PRICE_COLUMNS], [], [], {})
    if not (_in_shape(old) and old.index.unit == "us"):
        old = canonical(old)
    o_idx, n_idx = old.index.asi8, new.index.asi8  # microseconds (canonical's unit)
    if not ((np.diff(o_idx) > 0).all() and (np.diff(n_idx) > 0).all()):  # repeated dates: by labels
        return _reconcile_labelled(name, canonical(old), new, tolerance=tolerance, provisional=provisional,
                                   pending=pending, when=when, confirms=confirms, recent_from=recent_from)
    o_vals, n_vals = old.to_numpy(), new.to_numpy()
    provisional_set = np.array([d.value // 1000 for d in provisional_days(old, provisional, recent_from)], dtype="int64")
    # The history before the fetch's first date, kept as stored; the window from it on, reconciled.
    first = int(np.searchsorted(o_idx, n_idx[0]))
    head_idx, head_vals = o_idx[:first], o_vals[:first]
    w_idx, w_vals = o_idx[first:], round6(o_vals[first:])
    wi = np.flatnonzero(np.isin(w_idx, n_idx))          # the overlap, in the window ...
    ni = np.searchsorted(n_idx, w_idx[wi])              # ... and in the fetch
    settled = ~np.isin(w_idx[wi], provisional_set)
    sw, sn = wi[settled], ni[settled]
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = np.abs(n_vals[sn, 3] / w_vals[sw, 3] - 1)
    over = np.flatnonzero(drift > tolerance)
    day_of = lambda us: pd.Timestamp(np.datetime64(int(us), "us"))  # noqa: E731
    if len(over) >= 2 and len(over) * 2 > len(sw):
        worst = over[np.argmax(drift[over])]
        _refuse(name, day_of(w_idx[sw[worst]]), drift[worst], tolerance, len(over), len(sw))
    keep_old: list[pd.Timestamp] = []
    disputed, accepted = [], []
    for j in over:
        day = day_of(w_idx[sw[j]])
        if _judge(day, drift[j], float(w_vals[sw[j], 3]), float(n_vals[sn[j], 3]), pending=pending, when=when,
                  confirms=confirms, disputed=disputed, accepted=accepted):
            keep_old.append(day)
    # A dispute the fetch no longer shows (the source went back to the cached value) is settled.
    if pending:
        overlap = pd.DatetimeIndex(w_idx[wi].view("M8[us]"), name="date")
        for key in list(pending):
            day = pd.Timestamp(key)
            if day in overlap and day not in keep_old:
                pending.pop(key)
    # A row the fetch repeats at the cache's precision keeps its cached bits: a refetch of an
    # untouched series reproduces the cache exactly, whatever the source's last-digit rounding.
    keep = np.union1d(np.array([d.value // 1000 for d in keep_old], dtype="int64"),
                      w_idx[wi][_same_values(w_vals[wi], n_vals[ni])])
    fresh = ~np.isin(n_idx, keep)
    stays = ~np.isin(w_idx, n_idx[fresh])
    days = np.concatenate([w_idx[stays], n_idx[fresh]])
    order = np.argsort(days, kind="stable")
    days = np.concatenate([head_idx, days[order]])
    values = np.concatenate([head_vals, np.concatenate([w_vals[stays], n_vals[fresh]])[order]])
    merged = pd.DataFrame(values, index=pd.DatetimeIndex(days.view("M8[us]"), name="date"), columns=_COLUMNS)
    return Reconciled(merged, disputed, accepted, pending)


def _refuse(name: str, day: pd.Timestamp, worst: float, tolerance: float, over: int, settled: int) -> None:
    """A fetch that disagrees with most of the settled overlap: a restatement, refused."""
    raise CacheError(f"{name}: fetched close on {day.date()} differs from the cached one by "
                     f"{worst:.1%}, above the {tolerance:.1%} revision tolerance "
                     f"(and {over - 1} more of the {settled} settled sessions re-read)")


def _judge(day: pd.Timestamp, moved: float, was: float, now: float, *, pending: dict, when: str, confirms,
           disputed: list, accepted: list) -> bool:
    """One settled close revised beyond the tolerance. Accepted (a revision-log entry) when a
    later fetch shows the same value again or a cross-check agrees; else disputed, remembered in
    `pending`. Returns whether the cached row is kept."""
    key = day.date().isoformat()
    seen = pending.get(key)
    if seen is not None and seen.get("seen") != when and abs(seen["new"] / now - 1) <= 1e-9:
        how = "seen again"
    elif confirms is not None and confirms(day, was, now):
        how = "cross-check"
    else:
        pending[key] = {"new": now, "seen": seen["seen"] if seen and abs(seen["new"] / now - 1) <= 1e-9 else when,
                        "old": was}
        disputed.append({"session": key, "old": was, "new": now, "drift": float(moved)})
        return True
    pending.pop(key, None)
    accepted.append({"session": key, "old": was, "new": now, "when": when, "how": how})
    return False


def _reconcile_labelled(name, old, new, *, tolerance, provisional, pending, when, confirms, recent_from) -> Reconciled:
    """reconcile_prices on frames whose dates repeat (by label, over the whole history)."""
    provisional_set = provisional_days(old, provisional, recent_from)
    overlap = old.index.intersection(new.index)
    settled = overlap[~overlap.isin(list(provisional_set))]
    drift = (new.loc[settled, "close"] / old.loc[settled, "close"] - 1).abs()
    beyond = drift[drift > tolerance]
    if len(beyond) >= 2 and len(beyond) * 2 > len(settled):
        _refuse(name, beyond.idxmax(), beyond.max(), tolerance, len(beyond), len(settled))
    keep_old: list[pd.Timestamp] = []
    disputed, accepted = [], []
    for day, moved in beyond.items():
        if _judge(day, moved, float(old.at[day, "close"]), float(new.at[day, "close"]), pending=pending, when=when,
                  confirms=confirms, disputed=disputed, accepted=accepted):
            keep_old.append(day)
    # A dispute the fetch no longer shows (the source went back to the cached value) is settled.
    for key in list(pending):
        day = pd.Timestamp(key)
        if day in overlap and day not in keep_old:
            pending.pop(key)
    # A row the fetch repeats at the cache's precision keeps its cached bits: a refetch of an
    # untouched series reproduces the cache exactly, whatever the source's last-digit rounding.
    same = overlap[_same_rows(old.loc[overlap], new.loc[overlap])]
    keep_old += [d for d in same if d not in keep_old]
    fresh = new.drop(index=keep_old)
    merged = pd.concat([old.drop(index=old.index.intersection(fresh.index)), fresh]).sort_index()
    return Reconciled(merged[PRICE_COLUMNS], disputed, accepted, pending)


def split_rescale(old: pd.DataFrame | None, new: pd.DataFrame, splits: dict[pd.Timestamp, float], *,
                  tolerance: float, provisional: set | frozenset = frozenset()) -> tuple[pd.DataFrame | None, dict | None]:
    """The cached history restated for a split the fetch reported, or unchanged.

    Yahoo restates every close before a split by its ratio. When the overlap of cache and fetch
    differs by exactly that one factor before the split day (within `tolerance`) and not at all
    from it on (the cache's provisional sessions aside), the cached prices before the split are
    divided by the ratio (volumes multiplied)
    and the event is returned as {"date", "ratio"}. Anything else is left to `reconcile_prices`.
    """
    if old is None or old.empty or not splits:
        return old, None
    overlap = old.index.intersection(new.index)
    # Provisional sessions may hold a bad print the fetch corrects: they do not judge the split.
    overlap = overlap[~overlap.isin(list(provisional))]
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
        return canonical(scaled), {"date": day.date().isoformat(), "ratio": ratio}
    return old, None


def merge_macro(name: str, old: pd.Series | None, new: pd.Series) -> pd.Series:
    """Old observations extended and revised by the new fetch (FRED revises data; the fetch
    time is the vintage). Observations the new fetch lacks are kept."""
    if new is None or new.dropna().empty:
        raise CacheError(f"{name}: refusing to cache an empty fetch")
    if old is None or old.empty:
        return new
    return pd.concat([old.drop(index=old.index.intersection(new.index)), new]).sort_index().rename(new.name)


# A tail longer than this is folded into the base (a rewrite of the whole history, about every
# two months of daily runs); below it a daily run writes the tail alone.
TAIL_ROWS = 40


def _differs_from(stored: pd.DataFrame, frame: pd.DataFrame) -> int:
    """The position of the first row where `frame` and the stored history part (another date,
    or another value bit for bit); the shorter length when one is the other's beginning."""
    n = min(len(stored), len(frame))
    if n == 0:
        return 0
    a, b = _values(stored)[:n], _values(frame)[:n]
    same = (stored.index[:n].to_numpy() == frame.index[:n].to_numpy()) & ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    bad = np.flatnonzero(~same)
    return int(bad[0]) if len(bad) else n


def _values(frame: pd.DataFrame) -> np.ndarray:
    """The frame's PRICE_COLUMNS as one array (without a copy of the frame when they are its columns)."""
    return frame.to_numpy() if _price_columns(frame) else frame[PRICE_COLUMNS].to_numpy()


def save_prices(cache_dir: Path, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: str,
                stored: Cached | None = None) -> Path:
    """Store the ticker's history, never fewer rows than already cached. Only what changed is
    written: the rows from the first that differs from the stored history go to the tail (with
    the tail's own earlier rows); a tail past TAIL_ROWS, or a change reaching into the base's
    old rows (a split), rewrites the base and drops the tail. A history equal to the stored one
    writes nothing. Returns the base's path.

    `frame` is stored as it is, to the bit: pass canonical values (`canonical`; the `merged` of
    `reconcile_prices` is), so that the cache only ever holds values at its own precision and a
    later run can keep its rows as they are. `stored` is what `load_prices` returned for this
    ticker earlier in the same run, so the files are not read again; without it (None) they are."""
    path = _path(cache_dir, "prices", ticker)
    frame = frame if _price_columns(frame) else frame[PRICE_COLUMNS]
    old = stored
    if old is None:
        try:
            old = load_prices(cache_dir, ticker)
        except CacheError:
            old = None  # a corrupt file may be replaced by good data
    if old is not None and len(frame) < len(old.data):
        raise CacheError(f"{_shown(path)}: refusing to replace {len(old.data)} cached rows with {len(frame)}")
    tail_path = _tail_path(path)
    if old is not None and len(old.data):
        stored = old.data
        start = _differs_from(stored, frame)
        if start == len(frame) == len(stored):
            return path  # nothing changed
        tail_from = old.tail_from if old.tail_from is not None else _tail_from(tail_path, stored)
        cut = min(start, tail_from)
        if 0 < cut and len(frame) - cut <= TAIL_ROWS:
            # Base rows before `since` are the history's rows before `cut`; the tail replaces the rest.
            since = frame.index[cut] if cut >= len(stored) else min(frame.index[cut], stored.index[cut])
            _write_part(tail_path, frame.iloc[cut:], source=source, fetched_at=fetched_at,
                        extra={"since": f"{since:%Y-%m-%d}"})
            return path
    _write_part(path, frame, source=source, fetched_at=fetched_at)
    tail_path.unlink(missing_ok=True)
    _legacy_path(cache_dir, ticker).unlink(missing_ok=True)
    return path


def _tail_from(tail_path: Path, stored: pd.DataFrame) -> int:
    """The position in the stored history where the tail takes over (its length: no tail)."""
    if not tail_path.exists():
        return len(stored)
    try:
        since = pq.read_schema(tail_path).metadata[b"since"].decode()
    except (OSError, pa.ArrowException, KeyError, TypeError, UnicodeDecodeError):
        return 0  # an unreadable tail: the next write is the whole history
    return int(stored.index.searchsorted(pd.Timestamp(since)))


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


# Revisions beside each price file: `NAME.revisions.json` = {"pending": {session: {"new", "old",
# "seen"}}, "log": [{"session", "old", "new", "when", "how"}]}. Written atomically; a file that
# does not parse is treated as empty (it only delays a revision by a run, never loses a price).
def _revisions_path(cache_dir: Path, ticker: str) -> Path:
    return _path(cache_dir, "prices", ticker).with_name(f"{ticker}.revisions.json")


def load_revisions(cache_dir: Path, ticker: str) -> dict:
    path = _revisions_path(cache_dir, ticker)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"pending": {}, "log": []}
    if not isinstance(data, dict):
        return {"pending": {}, "log": []}
    return {"pending": dict(data.get("pending") or {}), "log": list(data.get("log") or [])}


def save_revisions(cache_dir: Path, ticker: str, revisions: dict) -> None:
    path = _revisions_path(cache_dir, ticker)
    if not revisions["pending"] and not revisions["log"] and not path.exists():
        return
    atomic.write_text(path, json.dumps(revisions, indent=1, sort_keys=True) + "\n")


# A ticker the source reports as gone: `NAME.delisted` holds the session a run first found it
# gone (and "reported" once the delisting was reported); the file goes when it answers again.
def _delisted_path(cache_dir: Path, ticker: str) -> Path:
    return _path(cache_dir, "prices", ticker).with_name(f"{ticker}.delisted")


def delisted_since(cache_dir: Path, ticker: str) -> str | None:
    """The session a run first found the ticker gone, or None."""
    try:
        return _delisted_path(cache_dir, ticker).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return None


def delisted_reported(cache_dir: Path, ticker: str) -> bool:
    try:
        return "reported" in _delisted_path(cache_dir, ticker).read_text(encoding="utf-8").split()
    except OSError:
        return False


def mark_delisted(cache_dir: Path, ticker: str, since: str, *, reported: bool = False) -> None:
    atomic.write_text(_delisted_path(cache_dir, ticker), since + (" reported" if reported else "") + "\n")


def clear_delisted(cache_dir: Path, ticker: str) -> None:
    _delisted_path(cache_dir, ticker).unlink(missing_ok=True)
