"""Cutting text to the report schema's length limits.

A probe must never produce a report the collector refuses, so every string
read from a machine is clipped to its field's ``maxLength`` before it goes in.
"""
from __future__ import annotations

from typing import Optional


def clip(text: Optional[str], limit: int) -> Optional[str]:
    """``text`` cut to ``limit`` characters (None stays None)."""
    return text if text is None or len(text) <= limit else text[:limit]
