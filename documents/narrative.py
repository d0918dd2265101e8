"""A CDA N3's narrative made HTML by our own whitelist walk (CONFORMANCE.md CDA-R3).

Never the document's stylesheet (its `xml-stylesheet` PI is dropped at parsing), never the
ANS XSL. Each NarrativeBlock element we know maps to one HTML element; every attribute not
listed is dropped; anything else keeps its text only. nh3 then cleans the result (second
wall) and the page is served in the reader's sandboxed frame under a strict CSP (third).
"""

from __future__ import annotations

import base64
import binascii
from html import escape

import nh3
from lxml import etree

from documents import xml
from documents.cda import Document, Header

MAX_DEPTH = 64  # recursion guard of our walk (CDA-R3)
TAGS = {
    "paragraph": "p",
    "list": "ul",
    "item": "li",
    "table": "table",
    "thead": "thead",
    "tbody": "tbody",
    "tfoot": "tfoot",
    "tr": "tr",
    "th": "th",
    "td": "td",
    "caption": "caption",
    "sub": "sub",
    "sup": "sup",
    "footnote": "small",
    "br": "br",
}
STYLES = {"Bold": "strong", "Italics": "em", "Underline": "u"}
RASTER = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
CLEANER = nh3.Cleaner(
    tags={
        "p", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "sub", "sup", "small", "br", "strong", "em", "u", "span", "a", "img", "h2", "h3",
        "section", "dl", "dt", "dd",
    },
    attributes={"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "a": {"href"},
                "img": {"src", "alt"}},
    url_schemes={"http", "https", "data"},
    link_rel="noopener noreferrer nofollow",
)  # fmt: skip


def _media(root: etree._Element) -> dict[str, str]:
    """observationMedia ID -> a data: URL, for raster images whose magic bytes match."""
    found = {}
    for element in root.iter():
        if xml.local(element.tag) != "observationMedia":
            continue
        value = xml.child(element, "value")
        if value is None or xml.attr(value, "representation").upper() != "B64":
            continue
        try:
            payload = base64.b64decode("".join((value.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        kind = next((t for magic, t in RASTER.items() if payload.startswith(magic)), None)
        if kind and xml.attr(value, "mediaType").lower() == kind:
            found[xml.attr(element, "ID")] = (
                f"data:{kind};base64," + base64.b64encode(payload).decode()
            )
    return found


class _Walk:
    def __init__(self, media: dict[str, str]) -> None:
        self.media = media
        self.out: list[str] = []

    def node(self, element: etree._Element, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.out.append(escape(xml.text(element)))
            return
        name = xml.local(element.tag)
        opening, closing = self.element(element, name)
        self.out.append(opening)
        if name not in ("renderMultiMedia", "br"):
            if element.text:
                self.out.append(escape(element.text))
            for child in element:
                if isinstance(child.tag, str):
                    self.node(child, depth + 1)
                if child.tail:
                    self.out.append(escape(child.tail))
        self.out.append(closing)

    def element(self, element: etree._Element, name: str) -> tuple[str, str]:
        if name == "br":
            return "<br>", ""
        if name in TAGS:
            return f"<{TAGS[name]}{self.spans(element, name)}>", f"</{TAGS[name]}>"
        if name == "content":
            tags = [STYLES[s] for s in xml.attr(element, "styleCode").split() if s in STYLES]
            return "".join(f"<{t}>" for t in tags), "".join(f"</{t}>" for t in reversed(tags))
        if name == "linkHtml":
            href = xml.attr(element, "href")
            if href.lower().startswith(("http://", "https://")):
                return f'<a href="{escape(href)}">', "</a>"
            return "", ""
        if name == "renderMultiMedia":
            refs = xml.attr(element, "referencedObject").split()
            images = [self.media[r] for r in refs if r in self.media]
            return "".join(f'<img src="{src}" alt="">' for src in images), ""
        return "", ""  # unknown element: its text only

    @staticmethod
    def spans(element: etree._Element, name: str) -> str:
        if name not in ("td", "th"):
            return ""
        found = []
        for attribute in ("colspan", "rowspan"):
            value = xml.attr(element, attribute)
            if value.isdigit() and 0 < int(value) < 1000:
                found.append(f' {attribute}="{int(value)}"')
        return "".join(found)


def sections(document: Document) -> list[tuple[str, str]]:
    """(title, HTML) of each section of the structured body, nested sections flattened."""
    media = _media(document.root)
    found = []
    body = xml.child(document.root, "component", "structuredBody")
    if body is None:
        return []
    for element in body.iter():
        if xml.local(element.tag) != "section":
            continue
        walk = _Walk(media)
        text = xml.child(element, "text")
        if text is not None:
            walk.node(text, 0)
        found.append((xml.text(xml.child(element, "title")), CLEANER.clean("".join(walk.out))))
    return found


def render(document: Document) -> str:
    """The narrative of every section as HTML (already cleaned): headings escaped."""
    return "".join(
        f"<section><h2>{escape(title)}</h2>{html}</section>" for title, html in sections(document)
    )


def header_of(document: Document) -> Header:
    return document.header
