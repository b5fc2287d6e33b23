"""Bring-your-own CSV files, in Yahoo's and FRED's own export layouts."""
from __future__ import annotations

import pandas as pd
import pytest

from build_data.errors import SourceError
from build_data.fetch.sources import csv as csv_source

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2026-01-02,2480.1,2495.0,2470.2,2490.5,2490.5,0
2026-01-05,null,null,null,null,null,null
2026-01-06,2491.0,2510.3,2488.8,2505.25,2505.25,0
"""
FRED = """observation_date,DGS10
2026-01-01,.
2026-01-02,4.17
2026-01-05,
2026-01-06,4.21
"""


def test_yahoo_layout_with_placeholder_rows_and_caret_names(tmp_path):
    (tmp_path / "^RUT.csv").write_text(YAHOO)
    frames, errors = csv_source.read_prices(tmp_path, ["^RUT", "IWM"])
    rut = frames["^RUT"]
    assert rut.index.strftime("%Y-%m-%d").tolist() == ["2026-01-02", "2026-01-06"]  # the null row is no session
    assert rut["close"].tolist() == [2490.5, 2505.25]
    assert errors == {"IWM": "no file IWM.csv in the data folder"}


def test_adj_close_is_optional(tmp_path):
    # Without the column the file has no adjusted closes: left empty, never copied from Close (a
    # fund's returns then count price return, labelled so: tests/test_returns.py).
    (tmp_path / "IWM.csv").write_text("Date,Open,High,Low,Close,Volume\n2026-01-02,1,2,0.5,1.5,100\n")
    frame = csv_source.read_price_file(tmp_path / "IWM.csv")
    assert frame["close"].tolist() == [1.5]
    assert frame["adj_close"].isna().all()


def test_fred_layout_drops_dot_and_blank(tmp_path):
    (tmp_path / "DGS10.csv").write_text(FRED)
    series, _ = csv_source.read_macro(tmp_path, ["DGS10"])
    assert series["DGS10"].to_dict() == {pd.Timestamp("2026-01-02"): 4.17, pd.Timestamp("2026-01-06"): 4.21}


def test_older_fred_header_is_accepted(tmp_path):
    (tmp_path / "ICSA.csv").write_text("DATE,ICSA\n2026-01-03,201000\n")
    assert csv_source.read_macro_file(tmp_path / "ICSA.csv", "ICSA").tolist() == [201000.0]


@pytest.mark.parametrize("name, text, message", [
    ("^RUT.csv", "Day,Price\n2026-01-02,1\n", "missing column(s) Date, Close"),
    ("^RUT.csv", "Date,Close\nnot-a-date,1\n", "unparseable date 'not-a-date'"),
    ("^RUT.csv", "Date,Close\n2026-01-02,abc\n", "non-numeric price"),
    ("^RUT.csv", "", "not a readable CSV file"),
    ("^RUT.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n", "no price rows (only a header)"),
    ("DGS10.csv", "observation_date,DGS2\n2026-01-02,4\n", "expected FRED's layout observation_date,DGS10"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourceError) as err:
        if name == "DGS10.csv":
            csv_source.read_macro_file(path, "DGS10")
        else:
            csv_source.read_price_file(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_a_bad_file_rejects_only_its_own_series(tmp_path):
    """A header-only ^RUT.csv and a FRED file in the wrong layout: their series are listed with the
    file and the problem; the other files are read as if the bad ones were not there."""
    (tmp_path / "^RUT.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n")
    (tmp_path / "IWM.csv").write_text(YAHOO)
    (tmp_path / "DGS10.csv").write_text("observation_date,DGS2\n2026-01-02,4\n")
    (tmp_path / "ICSA.csv").write_text("DATE,ICSA\n2026-01-03,201000\n")
    frames, errors = csv_source.read_prices(tmp_path, ["^RUT", "IWM"])
    assert list(frames) == ["IWM"] and frames["IWM"]["close"].tolist() == [2490.5, 2505.25]
    assert errors["^RUT"].startswith("rejected: ") and "no price rows (only a header)" in errors["^RUT"]
    assert str(tmp_path / "^RUT.csv") in errors["^RUT"]
    series, macro_errors = csv_source.read_macro(tmp_path, ["DGS10", "ICSA"])
    assert list(series) == ["ICSA"] and "expected FRED's layout" in macro_errors["DGS10"]


def test_a_csv_build_with_one_bad_file_builds_the_rest_unchanged(tmp_path):
    import datetime as dt
    import json
    import subprocess
    import sys

    from build_data import config
    from build_data.fetch.sources import sample
    from tests.conftest import write_csv_folder

    universe = config.load_universe()
    end = dt.date(2026, 1, 16)
    tickers = [s.ticker for s in universe.symbols.values()]
    macro = sample.sample_macro([m.series for m in universe.macro.values()], end)
    folder = write_csv_folder(tmp_path / "csv", sample.sample_prices(tickers, end), macro)

    def build(out):
        run = subprocess.run([sys.executable, "-m", "build_data", "--source", "csv", "--data-dir", str(folder),
                              "--as-of", end.isoformat(), "--out", str(out), "--cache-dir", str(tmp_path / "cache")],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        return json.loads((out / "metrics.json").read_text())["metrics"]

    good = build(tmp_path / "good")
    (folder / "^RUT.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n")
    bad = build(tmp_path / "bad")
    assert bad["rut.close"]["value"] is None and "only a header" in bad["rut.close"]["reason"]
    untouched = [k for k in good if not k.startswith(("rut.", "rut_vs", "levels.", "targets."))]
    assert untouched and all(bad[k]["value"] == good[k]["value"] for k in untouched)
