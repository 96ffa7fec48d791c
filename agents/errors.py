"""Errors the command line turns into one line and exit code 2, importable without their modules.

``hdc-agent inventory --print`` must not pay for loading the YAML parser just
to be able to catch a configuration error it will never see.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration the agent refuses; the message names file, line and key."""
