"""CDA rendering (CONFORMANCE.md CDA-R1 to R3): the PDF by its magic bytes, the N3 narrative
by our own whitelist walk, never the document's stylesheet."""

from __future__ import annotations

import base64

from documents import cda, narrative, samples

HOSTILE_NARRATIVE = (
    '<paragraph onclick="alert(1)">Bonjour <content styleCode="Bold xss">gras</content></paragraph>'
    '<linkHtml href="javascript:alert(1)">piège</linkHtml>'
    '<linkHtml href="https://example.test/">lien</linkHtml>'
    '<table><tr><td colspan="2" style="background:url(http://127.0.0.9/)">a</td>'
    '<td rowspan="x">b</td></tr></table>'
    "<renderMultiMedia referencedObject='SVG PNG'/>"
    '<script xmlns="http://www.w3.org/1999/xhtml">window.__pwned=1</script>'
    '<iframe xmlns="http://www.w3.org/1999/xhtml" src="http://127.0.0.9/"/>'
    "<list><item>un</item><item>deux<sub>2</sub></item></list>"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"/>'


def media(identifier: str, kind: str, payload: bytes) -> str:
    data = base64.b64encode(payload).decode()
    return (
        f'<entry><observationMedia classCode="OBS" moodCode="EVN" ID="{identifier}">'
        f'<value mediaType="{kind}" representation="B64">{data}</value></observationMedia></entry>'
    )


def hostile_level3() -> bytes:
    raw = samples.level3(
        narrative=HOSTILE_NARRATIVE, stylesheet="http://127.0.0.9/evil.xsl"
    ).decode()
    extra = media("SVG", "image/svg+xml", SVG) + media("PNG", "image/png", PNG)
    return raw.replace("</text></section>", "</text>" + extra + "</section>", 1).encode()


def test_it_renders_a_lab_narrative_as_a_table() -> None:
    html = narrative.render(cda.parse(samples.level3()))
    assert "<table" in html and "<th>Examen</th>" in html
    assert "<strong>13,2</strong>" in html and "<em>bilan normal</em>" in html
    assert "<h2>Résultats</h2>" in html


def test_it_keeps_nothing_active_from_a_hostile_narrative() -> None:
    """CDA-R3: no script, no on*, no javascript:, no SVG, no remote URL, no stylesheet."""
    document = cda.parse(hostile_level3())
    html = narrative.render(document)
    lowered = html.lower()
    for forbidden in ("<script", "onclick", "onload", "javascript:", "<iframe", "svg", "127.0.0.9",
                      "style=", "xsl"):  # fmt: skip
        assert forbidden not in lowered, forbidden
    assert '<a href="https://example.test/" rel="noopener noreferrer nofollow">lien</a>' in html
    assert "piège" in html  # the text of a refused link stays
    assert '<td colspan="2">a</td><td>b</td>' in html
    assert html.count("<img") == 1 and 'src="data:image/png;base64,' in html
    assert "<li>deux<sub>2</sub></li>" in html


def test_it_guards_its_walk_against_deep_narratives() -> None:
    """CDA-R3: depth ≤ 64 in our walk (libxml2 refuses beyond 256 anyway)."""
    deep = "<list><item>" * 120 + "fond" + "</item></list>" * 120
    html = narrative.render(cda.parse(samples.level3(narrative=deep)))
    assert "fond" in html and html.count("<ul>") <= 66


def test_it_finds_the_pdf_of_a_level1_by_its_magic_bytes() -> None:
    """CDA-R1: a declared PDF that is HTML is not a PDF."""
    assert cda.pdf_of(cda.parse(samples.level1())) == samples.pdf("Compte rendu d'imagerie")
    fake = samples.level1(payload=b"<html><script>window.__pwned=1</script></html>")
    assert cda.pdf_of(cda.parse(fake)) is None
    text = cda.parse(samples.level1(payload=b"Bonjour", media_type="text/plain"))
    media = cda.body_media(text)
    assert media is not None and (media.media_type, media.payload) == ("text/plain", b"Bonjour")


def test_it_finds_the_pdf_copy_of_a_level3() -> None:
    """CDA-R2."""
    assert cda.pdf_of(cda.parse(samples.level3(with_pdf=True))) is not None
    assert cda.pdf_of(cda.parse(samples.level3())) is None
