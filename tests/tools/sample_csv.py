"""A folder of CSV files made from the built-in sample, in Yahoo's and FRED's own layouts.

For benchmarks and archive demos that need `--source csv` without anyone's licensed data:

    python -m tests.tools.sample_csv DIR [--end YYYY-MM-DD]
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from build_data import config
from build_data.compute import keys
from build_data.fetch.sources import sample


def write_sample_csv(folder: Path, end: dt.date, universe: config.Universe | None = None) -> Path:
    """SYMBOL.csv (Date,Open,High,Low,Close,Adj Close,Volume) for every symbol and SERIES.csv
    (observation_date,SERIES) for every macro series of the universe, up to `end`."""
    universe = universe or keys.load_universe()
    folder.mkdir(parents=True, exist_ok=True)
    prices = sample.sample_prices([s.ticker for s in universe.symbols.values()], end)
    for ticker, frame in prices.items():
        out = frame.rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close",
                                    "adj_close": "Adj Close", "volume": "Volume"})
        out.to_csv(folder / f"{ticker}.csv", index_label="Date", date_format="%Y-%m-%d")
    for sid, series in sample.sample_macro([m.series for m in universe.macro.values()], end).items():
        series.rename(sid).to_csv(folder / f"{sid}.csv", index_label="observation_date", date_format="%Y-%m-%d")
    return folder


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.tools.sample_csv", description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 2, 27))
    args = p.parse_args(argv)
    write_sample_csv(args.folder, args.end)
    print(f"wrote sample CSV files up to {args.end} into {args.folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
