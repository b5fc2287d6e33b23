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
    (tmp_path / "IWM.csv").write_text("Date,Open,High,Low,Close,Volume\n2026-01-02,1,2,0.5,1.5,100\n")
    frame = csv_source.read_price_file(tmp_path / "IWM.csv")
    assert frame["adj_close"].tolist() == frame["close"].tolist() == [1.5]


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
