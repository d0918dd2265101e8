"""Untrusted XML (METADATA.XML, CDA) parsed safely with lxml (CONFORMANCE.md XDM-R5/R6).

No entity is expanded, no DTD loaded, no network touched; a DOCTYPE is refused outright
(neither file has any use for one); libxml2's own limits stay on (huge_tree=False: depth
256, one text node at most 10 MB, entity amplification checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from documents.errors import Refused

# Why each: resolve_entities/load_dtd/no_network close XXE (file and http), billion laughs
# and quadratic blowup; remove_pis drops xml-stylesheet (we never apply a document's XSLT).
OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "remove_pis": True,
    "remove_comments": True,
    "collect_ids": False,
}
DANGEROUS = (b"<!DOCTYPE", b"<!ENTITY")


@dataclass(frozen=True)
class Parsed:
    root: etree._Element
    recovered: bool  # namespace faults tolerated (XDM-R6): shown as "non conformes"


def _parser(*, recover: bool = False, huge: bool = False) -> etree.XMLParser:
    return etree.XMLParser(recover=recover, huge_tree=huge, **OPTIONS)


def _checked(tree: etree._Element) -> etree._Element:
    info = tree.getroottree().docinfo
    if info.internalDTD is not None or info.doctype:
        raise Refused("xml-doctype")
    return tree


def parse(data: bytes, *, tolerate_namespaces: bool = False) -> Parsed:
    """The root of `data`; Refused on a DOCTYPE or a syntax error. With
    `tolerate_namespaces` (METADATA, XDM-R6) an undeclared prefix, and nothing else, is
    tolerated by a recovering re-parse with the same safe options."""
    parser = _parser()
    try:
        return Parsed(_checked(etree.fromstring(data, parser)), recovered=False)
    except etree.XMLSyntaxError:
        # The parser's own log: the exception's is lxml's global one, shared by all parses.
        log = list(parser.error_log)
        if b"<!DOCTYPE" in data.upper() or _doctype_error(log):
            raise Refused("xml-doctype") from None
        if not (tolerate_namespaces and _only_namespace_faults(log)):
            raise Refused("xml-syntax") from None
    return Parsed(_recovered(data), recovered=True)


def parse_huge(data: bytes) -> etree._Element:
    """A CDA N1 whose base64 PDF exceeds libxml2's 10 MB text node (XDM-R5): only after the
    entry passed the unzip limits and a byte scan found no DOCTYPE or ENTITY."""
    upper = data.upper()
    if any(marker in upper for marker in DANGEROUS):
        raise Refused("xml-doctype")
    try:
        return _checked(etree.fromstring(data, _parser(huge=True)))
    except etree.XMLSyntaxError:
        raise Refused("xml-syntax") from None


def _doctype_error(log: list[etree._LogEntry]) -> bool:
    return any("entity" in entry.message.lower() for entry in log)


def _only_namespace_faults(log: list[etree._LogEntry]) -> bool:
    return bool(log) and all(entry.domain_name == "NAMESPACE" for entry in log)


def _recovered(data: bytes) -> etree._Element:
    parser = _parser(recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise Refused("xml-syntax") from None
    if root is None or any(entry.domain_name != "NAMESPACE" for entry in parser.error_log):
        raise Refused("xml-syntax")
    return _checked(root)


def local(tag: object) -> str:
    """An element's local name, whatever its namespace or undeclared prefix (`ns3:Slot`
    is kept as is by a recovering parse)."""
    if not isinstance(tag, str):
        return ""  # comments, processing instructions, entities
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if local(child.tag) == name]


def child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element down `path` by local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if local(c.tag) == name), None)
    return element


def attr(element: etree._Element | None, name: str) -> str:
    if element is None:
        return ""
    return str(element.get(name) or "").strip()


def text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())
