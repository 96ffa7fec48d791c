"""YAML read with a bound on nesting: PyYAML's SafeLoader that refuses lists and mappings nested too deeply.

A module of its own, with nothing but PyYAML, so the agent's configuration reader takes it without the data
files' machinery (``importlib.resources``), which the agent's start-up does without.
"""
from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32
"""Lists and mappings a data file may nest; the shipped files nest 6 at most."""
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses lists and mappings nested deeper than :data:`MAX_DEPTH`, at the line that crosses it.

    PyYAML composes nodes recursively, so a file nested thousands deep ends
    in a RecursionError after seconds of work. Its scanner is slower still
    on brackets: it reads up to 1,024 characters of a line ahead, checking
    every open bracket at each step. Hence two counts. The scanner's (open
    ``[``/``{`` plus open block indents) never exceeds the real depth (a
    list written at its key's indent opens no indent), and refuses a deep
    line of brackets at the bracket that crosses the limit. The composer's
    counts every list and mapping exactly, for what the scanner undercounts.
    Aliases nest no deeper: PyYAML builds an anchored tree once, where it
    stands, and an alias only refers to it, so building recurses no deeper
    than composing.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level + len(self.indents) >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(None, None, TOO_DEEP, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self.depth -= 1

    def _enter(self) -> None:
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, TOO_DEEP, self.peek_event().start_mark)
        self.depth += 1
