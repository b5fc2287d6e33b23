"""Bring-your-own data: a folder of CSV files in Yahoo's and FRED's own export layouts.

* prices: `SYMBOL.csv` (`^` allowed, e.g. `^RUT.csv`) with `Date,Open,High,Low,Close,Adj Close,Volume`;
  `Adj Close` is optional: without it the file has no adjusted closes, and a fund's returns are
  price returns (labelled so) instead of total returns. Yahoo writes `null` for missing fields.
* macro: `SERIES.csv` with `observation_date,SERIES` (older exports: `DATE,SERIES`); `.` or blank
  means no observation.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from build_data.errors import SourceError
from build_data.fetch.sources import macro_series, price_frame

YAHOO_COLUMNS = {"Date": "date", "Open": "open", "High": "high", "Low": "low", "Close": "close",
                 "Adj Close": "adj_close", "Volume": "volume"}
REQUIRED = ["Date", "Close"]


def read_price_file(path: Path) -> pd.DataFrame:
    """One Yahoo-layout CSV file as a price frame. Raises SourceError naming the file."""
    try:
        raw = pd.read_csv(path, na_values=["null", ""], keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not a readable CSV file ({exc.__class__.__name__}: {exc})") from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise SourceError(f"{path}: missing column(s) {', '.join(missing)}; expected Yahoo's layout "
                          "Date,Open,High,Low,Close,Adj Close,Volume")
    raw = raw.rename(columns=YAHOO_COLUMNS)
    dates = pd.to_datetime(raw["date"], errors="coerce", format="mixed")
    if dates.isna().any():
        bad = raw.loc[dates.isna(), "date"].iloc[0]
        raise SourceError(f"{path}: unparseable date {bad!r}")
    frame = raw.drop(columns="date").set_index(pd.DatetimeIndex(dates))
    for col in ("open", "high", "low", "volume"):
        if col not in frame:
            frame[col] = float("nan")
    if "adj_close" not in frame:
        frame["adj_close"] = float("nan")  # no adjusted closes: never passed off as total return
    try:
        frame = price_frame(frame)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"{path}: non-numeric price or volume ({exc})") from None
    # Yahoo exports placeholder rows with every field null; they are not sessions.
    frame = frame.dropna(how="all")
    if frame.empty:
        raise SourceError(f"{path}: no price rows (only a header)")
    return frame


def read_macro_file(path: Path, series_id: str) -> pd.Series:
    """One FRED-layout CSV file as a macro series. Raises SourceError naming the file."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not a readable CSV file ({exc})") from None
    date_col = next((c for c in ("observation_date", "DATE") if c in raw.columns), None)
    if date_col is None or series_id not in raw.columns:
        raise SourceError(f"{path}: expected FRED's layout observation_date,{series_id}; "
                          f"found {','.join(raw.columns)}")
    dates = pd.to_datetime(raw[date_col], errors="coerce", format="mixed")
    if dates.isna().any():
        raise SourceError(f"{path}: unparseable date {raw.loc[dates.isna(), date_col].iloc[0]!r}")
    values = raw[series_id].str.strip().replace({".": None, "": None})
    return macro_series(pd.Series(values.values, index=dates), series_id)


def _file_for(folder: Path, name: str) -> Path | None:
    path = folder / f"{name}.csv"
    return path if path.is_file() else None


def _read_all(folder: Path, names: list[str], read) -> tuple[dict, dict[str, str]]:
    """A bad file rejects its own series only, with the reason naming the file: the others build."""
    found, errors = {}, {}
    for name in names:
        path = _file_for(Path(folder), name)
        if path is None:
            errors[name] = f"no file {name}.csv in the data folder"
            continue
        try:
            found[name] = read(path, name)
        except SourceError as exc:
            errors[name] = f"rejected: {exc}"
    return found, errors


def read_prices(folder: Path, tickers: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Price frames for the tickers that have a readable file; the others are listed with a reason."""
    return _read_all(folder, tickers, lambda path, _name: read_price_file(path))


def read_macro(folder: Path, series_ids: list[str]) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Macro series for the ids that have a readable file; the others are listed with a reason."""
    return _read_all(folder, series_ids, read_macro_file)
