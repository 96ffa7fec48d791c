"""The hdc-readiness collector: ingest API, store, metrics, readiness page and CLI."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hdc-readiness")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
