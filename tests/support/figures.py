"""Every figure a collector shows, read over HTTP: equal figures mean the page, API and /metrics say the same."""
from __future__ import annotations

import re

import requests

# Not figures of the fleet: the store's own row counts (pruning lowers the reports'), this process's ingest
# counters and timings, and the build.
_NOT_FIGURES = re.compile(r'^(hdc_store_rows|hdc_ingest_|hdc_build_info)')
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")


def figures(url: str, units: list[str]) -> dict:
    """The JSON API's units, summary, history and unit details, the pages (without the time of day they were
    drawn at) and every ``hdc_`` series of /metrics."""
    with requests.Session() as s:
        def get(path: str) -> requests.Response:
            answer = s.get(url + path, timeout=60)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            return answer

        summary = get("/api/v1/summary").json()
        summary.pop("as_of")
        out: dict = {"units": get("/api/v1/wards").json(), "summary": summary,
                     "history": get("/api/v1/history").json(), "page": _TIME_OF_DAY.sub("", get("/").text),
                     "metrics": sorted(line for line in get("/metrics").text.splitlines()
                                       if line.startswith("hdc_") and not _NOT_FIGURES.match(line))}
        for code in units:
            out[code] = {"unit": get(f"/api/v1/wards/{code}").json(),
                         "history": get(f"/api/v1/history?ward={code}").json(),
                         "page": _TIME_OF_DAY.sub("", get(f"/units/{code}").text)}
    return out
