"""Grafana dashboards as code, their generated JSON, provisioning files and Prometheus rules for hdc-readiness."""
from pathlib import Path

# Committed output of ``hdc-collector dashboards generate``; what provisioning and push load.
GENERATED = Path(__file__).resolve().parent / "generated"
