"""Every figure a collector shows, read over HTTP: equal figures mean the page, API and /metrics say the same."""
from __future__ import annotations

import json
import re
from typing import Union

import requests
from flask.testing import FlaskClient

# Not figures of the fleet: the store's own row counts (pruning lowers the reports'), this process's ingest
# counters and timings, and the build.
_NOT_FIGURES = re.compile(r'^(hdc_store_rows|hdc_ingest_|hdc_build_info)')
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")


def figures(source: Union[str, FlaskClient], units: list[str]) -> dict:
    """The JSON API's units, summary, history and unit details, the pages (without the time of day they were
    drawn at) and every ``hdc_`` series of /metrics, of the collector at a URL or of an app's test client."""
    with requests.Session() as session:
        def get(path: str) -> str:
            if isinstance(source, str):
                answer = session.get(source + path, timeout=60)
                status, text = answer.status_code, answer.text
            else:
                response = source.get(path)
                status, text = response.status_code, response.get_data(as_text=True)
            assert status == 200, (path, status, text[:300])
            return text

        summary = json.loads(get("/api/v1/summary"))
        summary.pop("as_of")
        out: dict = {"units": json.loads(get("/api/v1/wards")), "summary": summary,
                     "history": json.loads(get("/api/v1/history")), "page": _TIME_OF_DAY.sub("", get("/")),
                     "metrics": sorted(line for line in get("/metrics").splitlines()
                                       if line.startswith("hdc_") and not _NOT_FIGURES.match(line))}
        for code in units:
            out[code] = {"unit": json.loads(get(f"/api/v1/wards/{code}")),
                         "history": json.loads(get(f"/api/v1/history?ward={code}")),
                         "page": _TIME_OF_DAY.sub("", get(f"/units/{code}"))}
    return out
