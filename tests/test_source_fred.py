"""The FRED adapter against a local HTTP server speaking fredgraph.csv."""
from __future__ import annotations

import datetime

import pandas as pd
import pytest

from build_data.errors import SourceError
from build_data.fetch.sources.fred import fetch_series

PATH = "/graph/fredgraph.csv"
CSV = "text/csv; charset=utf-8"
ICSA = "observation_date,ICSA\n2026-01-03,199000\n2026-01-10,.\n2026-01-17,\n2026-01-24,208000\n"
DGS10 = "observation_date,DGS10\n2026-01-14,4.18\n2026-01-15,4.15\n"


def serve(httpserver, series_id: str, body: str, status: int = 200, **query) -> None:
    httpserver.expect_request(PATH, query_string={"id": series_id, **query}).respond_with_data(
        body, status=status, content_type=CSV)


def fetch(httpserver, ids, **kwargs):
    lines: list[str] = []
    series, errors = fetch_series(ids, base_url=httpserver.url_for(PATH), log=lines.append,
                                  timeout_s=5, **kwargs)
    return series, errors, lines


def test_series_parsed_with_missing_observations_dropped(httpserver):
    serve(httpserver, "ICSA", ICSA)
    serve(httpserver, "DGS10", DGS10)

    series, errors, lines = fetch(httpserver, ["ICSA", "DGS10"])

    assert errors == {}
    # Weekly claims are stamped with the week's ending Saturday; "." and blank are missing.
    expected = pd.Series([199000.0, 208000.0], name="ICSA",
                         index=pd.DatetimeIndex(["2026-01-03", "2026-01-24"], name="date"))
    pd.testing.assert_series_equal(series["ICSA"], expected)
    assert series["DGS10"].to_dict() == {pd.Timestamp("2026-01-14"): 4.18,
                                         pd.Timestamp("2026-01-15"): 4.15}
    assert any(line.startswith("fred: ICSA: 2 observations 2026-01-03 .. 2026-01-24") for line in lines)


def test_older_date_header_accepted(httpserver):
    serve(httpserver, "CPIAUCSL", "DATE,CPIAUCSL\n2025-11-01,324.1\n2025-12-01,325.0\n")

    series, errors, _ = fetch(httpserver, ["CPIAUCSL"])

    assert errors == {}
    assert series["CPIAUCSL"].iloc[-1] == 325.0


def test_http_error_fails_only_that_series(httpserver):
    serve(httpserver, "DGS10", DGS10)
    serve(httpserver, "GDPNOW", "Internal Server Error", status=500)

    series, errors, _ = fetch(httpserver, ["GDPNOW", "DGS10"])

    assert list(series) == ["DGS10"]
    assert errors == {"GDPNOW": "HTTP 500"}


@pytest.mark.parametrize("body, reason", [
    ("<!DOCTYPE html><html><body>Series not found</body></html>", "unexpected header"),
    ("observation_date,OTHER\n2026-01-14,4.18\n", "unexpected header"),
    ("observation_date,DGS10\n", "no observations"),
    ("observation_date,DGS10\n2026-01-14,.\n", "no observations"),
    ("observation_date,DGS10\n14/01/2026,4.18\n", "malformed CSV"),
    ("observation_date,DGS10\n2026-01-14,n/a\n", "malformed CSV"),
    ("", "malformed CSV"),
])
def test_malformed_body_is_an_error(httpserver, body, reason):
    serve(httpserver, "DGS10", body)
    serve(httpserver, "ICSA", ICSA)

    series, errors, _ = fetch(httpserver, ["DGS10", "ICSA"])

    assert list(series) == ["ICSA"]
    assert errors["DGS10"].startswith("malformed CSV: ")
    assert reason in errors["DGS10"] and "\n" not in errors["DGS10"]


def test_start_is_sent_as_cosd(httpserver):
    serve(httpserver, "DGS10", DGS10, cosd="2026-01-14")

    series, errors, _ = fetch(httpserver, ["DGS10"], start=datetime.date(2026, 1, 14))

    assert errors == {}
    assert len(series["DGS10"]) == 2
    request, _ = httpserver.log[0]
    assert request.args.to_dict() == {"id": "DGS10", "cosd": "2026-01-14"}


def test_no_cosd_without_start(httpserver):
    serve(httpserver, "DGS10", DGS10)

    fetch(httpserver, ["DGS10"])

    request, _ = httpserver.log[0]
    assert "cosd" not in request.args


def test_every_series_failing_raises(httpserver):
    serve(httpserver, "DGS10", "", status=503)
    serve(httpserver, "ICSA", "<html></html>")

    with pytest.raises(SourceError, match=r"^fred: no data for any of 2 series \(DGS10: HTTP 503\)$"):
        fetch(httpserver, ["DGS10", "ICSA"])


def test_unreachable_server_is_an_error_per_series():
    with pytest.raises(SourceError, match=r"DGS10: request failed: ConnectionError"):
        fetch_series(["DGS10"], base_url="http://127.0.0.1:9/fredgraph.csv", timeout_s=2,
                     log=lambda line: None)
