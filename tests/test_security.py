"""Hostile input that could reach a file name or a spreadsheet formula."""
from __future__ import annotations

import csv
import io

import pytest
import yaml

from build_data import config
from build_data.errors import CacheError, ConfigError
from build_data.fetch import cache
from build_data.publish.render import metrics_csv, to_csv


@pytest.mark.parametrize("text, written", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"),
    ("Russell 2000 close", "Russell 2000 close"),
])
def test_csv_text_cells_that_start_a_formula_are_neutralised(text, written):
    rows = list(csv.reader(io.StringIO(to_csv(["label", "value"], [{"label": text, "value": -0.05}]))))
    assert rows[1] == [written, "-0.05"]  # the number keeps its sign: only text is neutralised


def test_the_metrics_csv_neutralises_a_hostile_label():
    snap = {"metrics": {"x.close": {"value": 1.5, "unit": "price", "label": "=cmd|' /C calc'!A0",
                                    "as_of": "2026-01-02", "source": "yahoo:X", "reason": None}}}
    row = list(csv.DictReader(io.StringIO(metrics_csv(snap))))[0]
    assert row["label"].startswith("'=") and row["value"] == "1.5"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "..", "", "x" * 40, "IWM.csv\n"])
def test_a_ticker_that_is_no_ticker_never_becomes_a_cache_file(tmp_path, name):
    with pytest.raises(CacheError, match="not a ticker or series id"):
        cache.load_prices(tmp_path, name)
    assert not any(tmp_path.rglob("*"))


@pytest.mark.parametrize("name", ["^RUT", "BRK-B", "EURUSD=X", "ES=F", "IWM"])
def test_real_tickers_are_accepted(tmp_path, name):
    assert cache.load_prices(tmp_path, name) is None  # never cached, and no error


def test_the_config_refuses_a_ticker_with_a_path_in_it(tmp_path):
    raw = yaml.safe_load(config.DEFAULT_UNIVERSE.read_text())
    raw["symbols"]["rut"]["ticker"] = "../../x"
    path = tmp_path / "universe.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"universe.yml: symbols.rut.ticker: String should match pattern"):
        config.load_universe(path)
