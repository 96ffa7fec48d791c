"""The hdc-readiness agent: reads a ward machine, queues its report on disk and
delivers it to the collector. Runs with psutil, PyYAML and the stdlib only, so
ward PCs stay light; depends on ``inventory`` and nothing else of ours.
"""
from __future__ import annotations

__version__ = "0.1.0"
