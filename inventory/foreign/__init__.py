"""Inventories from agents that are not ours -> schema-v1 reports.

``glpi_json``: GLPI Agent's JSON protocol (GLPI 10+). ``ocs_xml``:
FusionInventory agent 2.x, GLPI Agent in XML mode and OCS Inventory NG
agents. Both feed ``content``, the one converter of the shared GLPI
inventory format. Pure functions: no web, no database.
"""
from .content import Conversion, Origin
from .errors import ConversionError

__all__ = ["Conversion", "ConversionError", "Origin"]
