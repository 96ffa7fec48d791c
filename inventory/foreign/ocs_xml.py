"""FusionInventory / OCS Inventory NG XML requests: hardened parse, then convert inventories.

A request is ``<REQUEST><DEVICEID>..</DEVICEID><QUERY>PROLOG|INVENTORY</QUERY>
<CONTENT>..</CONTENT></REQUEST>``. The XML comes from the network, so it is
parsed by defusedxml with DTDs, entities and external references all
forbidden: a billion-laughs or an external-entity file read is refused, not
expanded. The CONTENT tree is turned into the lower-case tree the GLPI JSON
format uses (every section a list of its repetitions), so both formats share
one converter.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from .content import Conversion, Origin, convert_content
from .errors import ConversionError

# CONTENT/SECTION/FIELD/SUB-FIELD (TIMEZONE/OFFSET) is as deep as inventories go; deeper nesting is ignored,
# so a hostile document cannot exhaust the stack.
_MAX_DEPTH = 3


@dataclass(frozen=True)
class XmlRequest:
    query: str
    deviceid: Optional[str]
    content: Optional[dict]


def parse_request(data: bytes) -> XmlRequest:
    """Parse and check the envelope; :class:`ConversionError` (located in XML terms) when it is not one."""
    from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise ConversionError((), "a document type declaration (<!DOCTYPE>) is not accepted", "xml") from None
    except EntitiesForbidden:
        raise ConversionError((), "entity declarations are not accepted", "xml") from None
    except DefusedXmlException as exc:
        raise ConversionError((), f"XML refused: {type(exc).__name__} (external references are not accepted)",
                              "xml") from None
    except ParseError as exc:
        line, column = exc.position
        raise ConversionError((), f"not well-formed XML at line {line} column {column + 1}", "xml") from exc
    if root.tag != "REQUEST":
        raise ConversionError((), f"the root element is <{root.tag[:40]}>, not <REQUEST>", "xml")
    query = (root.findtext("QUERY") or "").strip().upper()
    if not query:
        raise ConversionError(("query",), "required (PROLOG or INVENTORY)", "xml")
    deviceid = (root.findtext("DEVICEID") or "").strip()[:100] or None
    element = root.find("CONTENT")
    content = _content(element) if element is not None else None
    return XmlRequest(query, deviceid, content)


def convert_request(request: XmlRequest, origin: Origin) -> Conversion:
    """An INVENTORY request -> report; errors name the XML element (``REQUEST/CONTENT/HARDWARE/MEMORY``)."""
    if request.content is None:
        raise ConversionError(("content",), "required for an INVENTORY", "xml")
    try:
        return convert_content(request.content, replace(origin, deviceid=request.deviceid))
    except ConversionError as exc:
        raise exc.in_style("xml") from None


def _content(element) -> dict:
    """``<CPUS><NAME>x</NAME></CPUS><CPUS>..`` -> ``{"cpus": [{"name": "x"}, ...]}``: a list per section.

    An empty section (``<BIOS></BIOS>``) is an empty entry; a section with only
    text (``<VERSIONCLIENT>``) keeps its text.
    """
    tree: dict = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        text = (child.text or "").strip()
        value = _entry(child, 1) if len(child) or not text else text
        tree.setdefault(child.tag.lower(), []).append(value)
    return tree


def _entry(element, depth: int) -> dict:
    """One section entry: its fields as text, nested groups (``<TIMEZONE>``) as objects; first occurrence wins."""
    entry: dict = {}
    for child in element:
        if isinstance(child.tag, str):
            nested = len(child) and depth < _MAX_DEPTH
            entry.setdefault(child.tag.lower(), _entry(child, depth + 1) if nested else (child.text or ""))
    return entry
