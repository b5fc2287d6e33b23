"""FRED on 127.0.0.1, in its real formats: the API's fred/series/observations JSON with
real-time periods (ALFRED vintages) and the public fredgraph.csv (latest values).

A series is given as its releases: (observation date, day released, value) rows, a later row
for the same observation being a revision. From them the fake derives each value's real-time
period (realtime_start .. realtime_end, "9999-12-31" while current), as FRED does, and answers
the API's parameters: series_id, api_key, file_type=json, realtime_start, realtime_end,
observation_start, observation_end, limit and offset.
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from werkzeug import Response

API_PATH = "/fred/series/observations"
CSV_PATH = "/graph/fredgraph.csv"
OPEN_END = "9999-12-31"
# FRED's own error bodies.
BAD_KEY = ("Bad Request.  The value for variable api_key is not registered.  Read "
           "https://fred.stlouisfed.org/docs/api/api_key.html for more information.")
NO_SERIES = "Bad Request.  The series does not exist."


def periods(releases: list[tuple[str, str, float | None]]) -> list[dict]:
    """(observation date, released, value) rows -> FRED's real-time observation rows, sorted by
    date then realtime_start; a value of None is FRED's "." (missing)."""
    by_date: dict[str, list[tuple[str, float | None]]] = {}
    for obs, released, value in releases:
        by_date.setdefault(obs, []).append((released, value))
    rows = []
    for obs in sorted(by_date):
        versions = sorted(by_date[obs])
        for i, (start, value) in enumerate(versions):
            end = (dt.date.fromisoformat(versions[i + 1][0]) - dt.timedelta(days=1)).isoformat() \
                if i + 1 < len(versions) else OPEN_END
            rows.append({"realtime_start": start, "realtime_end": end, "date": obs,
                         "value": "." if value is None else f"{value:g}"})
    return rows


class FakeFred:
    """Both endpoints on one pytest-httpserver. `api_status` (e.g. 500) makes the API fail,
    as an outage would; `requests` records each API call's query."""

    def __init__(self, httpserver, series: dict[str, list[tuple[str, str, float | None]]], api_key: str = "test-key"):
        self.rows = {sid: periods(rel) for sid, rel in series.items()}
        self.api_key = api_key
        self.api_status: int | None = None
        self.requests: list[dict] = []
        httpserver.expect_request(API_PATH).respond_with_handler(self._api)
        httpserver.expect_request(CSV_PATH).respond_with_handler(self._csv)
        self.api_url = httpserver.url_for(API_PATH)
        self.csv_url = httpserver.url_for(CSV_PATH)

    @staticmethod
    def _error(status: int, message: str) -> Response:
        return Response(json.dumps({"error_code": status, "error_message": message}), status=status,
                        content_type="application/json; charset=UTF-8")

    def _api(self, request) -> Response:
        args = request.args.to_dict()
        self.requests.append(args)
        if self.api_status is not None:
            return Response("<html><body>Service Unavailable</body></html>", status=self.api_status,
                            content_type="text/html")
        if args.get("api_key") != self.api_key:
            return self._error(400, BAD_KEY)
        if args.get("file_type") != "json":
            return Response("<?xml version=\"1.0\"?><observations/>", content_type="text/xml")
        sid = args.get("series_id")
        if sid not in self.rows:
            return self._error(400, NO_SERIES)
        today = dt.date.today().isoformat()
        rt_start, rt_end = args.get("realtime_start", today), args.get("realtime_end", today)
        o_start, o_end = args.get("observation_start", "1776-07-04"), args.get("observation_end", OPEN_END)
        rows = [r for r in self.rows[sid] if r["realtime_start"] <= rt_end and r["realtime_end"] >= rt_start
                and o_start <= r["date"] <= o_end]
        limit, offset = int(args.get("limit", 100000)), int(args.get("offset", 0))
        body = {"realtime_start": rt_start, "realtime_end": rt_end, "observation_start": o_start,
                "observation_end": o_end, "units": "lin", "output_type": 1, "file_type": "json",
                "order_by": "observation_date", "sort_order": "asc", "count": len(rows), "offset": offset,
                "limit": limit, "observations": rows[offset: offset + limit]}
        return Response(json.dumps(body), content_type="application/json; charset=UTF-8")

    def latest(self, sid: str) -> pd.Series:
        """Each observation's current value: what fredgraph.csv serves."""
        current = {r["date"]: r["value"] for r in self.rows[sid] if r["realtime_end"] == OPEN_END}
        return pd.Series(current, name=sid)

    def _csv(self, request) -> Response:
        sid = request.args.get("id")
        if sid not in self.rows:
            return Response("<!DOCTYPE html><html><body>Series not found</body></html>", status=404,
                            content_type="text/html")
        start = request.args.get("cosd", "1776-07-04")
        lines = [f"observation_date,{sid}"] + [f"{d},{v}" for d, v in sorted(self.latest(sid).items()) if d >= start]
        return Response("\n".join(lines) + "\n", content_type="text/csv; charset=utf-8")
