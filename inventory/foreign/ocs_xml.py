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

import io
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


# Bounds of an inventory's XML: a Windows PC listing every update is 2-5 MB and under 150,000 elements, at most
# eight levels deep; a value is a name, a version or a path.
MAX_ELEMENTS = 200_000
MAX_DEPTH = 32
MAX_TEXT = 64 * 1024


def parse_request(data: bytes) -> XmlRequest:
    """Parse and check the envelope; :class:`ConversionError` (located in XML terms) when it is not one."""
    from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
    from defusedxml.ElementTree import ParseError

    try:
        root = _bounded_tree(data)
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


def _bounded_tree(data: bytes):
    """The document's tree, built while counting: more than ``MAX_ELEMENTS`` elements, deeper than ``MAX_DEPTH``
    or an element's text longer than ``MAX_TEXT`` stops the parse there, so a small compressed body of millions
    of empty elements costs milliseconds and little memory instead of seconds and gigabytes."""
    from defusedxml.ElementTree import iterparse

    depth = elements = 0
    root = None
    for event, element in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True,
                                    forbid_entities=True, forbid_external=True):
        if event == "start":
            elements += 1
            depth += 1
            root = element if root is None else root
            if elements > MAX_ELEMENTS:
                raise ConversionError((), f"more than {MAX_ELEMENTS:,} XML elements; an inventory has far fewer",
                                      "xml")
            if depth > MAX_DEPTH:
                raise ConversionError((), f"XML nested deeper than {MAX_DEPTH} elements", "xml")
        else:
            depth -= 1
            if element.text is not None and len(element.text) > MAX_TEXT:
                raise ConversionError((), f"<{str(element.tag)[:40]}> holds more than {MAX_TEXT:,} characters of "
                                          "text", "xml")
    return root


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
