"""A received HTML body -> HTML safe to show in the reader's sandboxed iframe.

nh3 (Ammonia) with an allowlist; no script, no style sheet, no form, no frame survives.
Images: `cid:` becomes the part's URL on this site; remote images (tracking pixels
included) are dropped unless the person allowed them for this message. The page that
serves the result adds a strict Content-Security-Policy as a second wall (views/reader.py).
"""

from __future__ import annotations

import html as html_module
from collections.abc import Callable
from dataclasses import dataclass

import nh3

TAGS = (nh3.ALLOWED_TAGS - {"img"}) | {"img", "font", "center", "span", "div"}
ATTRIBUTES = {
    **nh3.ALLOWED_ATTRIBUTES,
    "*": {"style", "align", "bgcolor", "width", "height", "dir", "valign", "colspan", "rowspan"},
    "img": {"src", "alt", "width", "height", "title"},
    "a": {"href", "title"},
    "font": {"color", "size", "face"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
}
STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-align", "text-decoration", "margin", "margin-left", "margin-right", "margin-top",
    "margin-bottom", "padding", "padding-left", "padding-right", "padding-top", "padding-bottom",
    "border", "border-collapse", "width", "height", "vertical-align", "white-space",
}  # fmt: skip
RASTER_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
REMOTE = ("http:", "https:", "//")


@dataclass(frozen=True)
class Rendered:
    html: str
    blocked_remote: int  # remote images left out (the page offers to show them)
    # Nothing left to see once cleaned (see nothing_to_see): worked out once, with the
    # clean-up, not at each opening of a kept message (another nh3 pass over the body).
    empty: bool = False


def nothing_to_see(html: str) -> bool:
    """No text, no image in the cleaned HTML (a body that was only style, script or a
    frame). The reader then shows the plain-text part instead."""
    if "<img" in html and " src=" in html:
        return False
    text = html_module.unescape(nh3.clean(html, tags=set()))
    return not text.replace("\xa0", " ").strip()


def render(
    markup: str,
    part_url: Callable[[int], str],
    content_ids: dict[str, int],
    allow_remote: bool = False,
) -> Rendered:
    blocked = 0

    def attribute(tag: str, name: str, value: str) -> str | None:
        nonlocal blocked
        lowered = value.strip().lower()
        if tag == "img" and name == "src":
            if lowered.startswith("cid:"):
                index = content_ids.get(value.strip()[4:].strip("<>"))
                return part_url(index) if index is not None else None
            if lowered.startswith(RASTER_DATA):
                return value
            if lowered.startswith(REMOTE):
                if allow_remote:
                    return value
                blocked += 1
                return None
            return None
        if name == "href":
            return value if lowered.startswith(("http:", "https:", "mailto:")) else None
        return value

    cleaner = nh3.Cleaner(
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid", "data"},
        filter_style_properties=STYLE_PROPERTIES,
        attribute_filter=attribute,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    cleaned = cleaner.clean(markup)
    return Rendered(html=cleaned, blocked_remote=blocked, empty=nothing_to_see(cleaned))
