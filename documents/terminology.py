"""The ANS association tables METADATA.XML needs when we send (CONFORMANCE.md XDM-S3): the
XDS classCode from the CDA's document type, the XDS formatCode from the CDA's model
(templateId) or, for a level 1, from its body's media type.

These are subsets, written out here because the NOS tables are not fetched at run time (no
network from the webmail to mos.esante.gouv.fr). Sources, with what was taken from each:

- formatCode, level 3: ANS NOS ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS v5.0.0
  (2026-02-10, published in the ANS IG "Terminologies de Santé" v1.6.0 as a ConceptMap): CDA
  model templateId -> TRE_A06-FormatCodeComplementaire (CI-SIS codes) or TRE_A11-IheFormatCode
  (IHE codes). Every row below is from that table; models it does not list fall back to the
  CI-SIS generic structured-body code (FALLBACK_N3).
- formatCode, level 1: ANS NOS ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS
  v5.0.0 (nonXMLBody/text@mediaType -> TRE_A11-IheFormatCode).
- classCode: ANS NOS ASS_X04-CorrespondanceType-Classe-CISIS (typeCode, LOINC or
  TRE_A05 -> TRE_A03-ClasseDocument, JDV_J06-XdsClassCode-CISIS). The table itself was not
  available offline: the class codes and labels are those of TRE_A03 as the ANS's own XDM
  sample uses them (ansforge/DRIM-M_DATA, classCode 31 "Imagerie médicale" in scheme
  1.2.250.1.213.1.1.4.1); the document types mapped are the common MSSanté reports [I].
  Any other type falls back to 10 "Compte rendu" [I]: most documents sent by secure
  messaging are reports, and classCode is required.
  The full table: the ANS publishes ASS_X04 as a FHIR ConceptMap (IG "Terminologies de Santé",
  ConceptMap-ASS-X04-CorrespondanceType-Classe-CISIS.json). An operator downloads it and names
  it in DOCUMENTS_CLASS_CODE_MAP; it is read once per process, checked at start (a system
  check: a file that is not that ConceptMap stops the start with its reason), and its rows
  take precedence over the subset below, which stays for the types it does not list.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Code:
    code: str
    scheme: str
    display: str


CLASS_SCHEME = "1.2.250.1.213.1.1.4.1"  # TRE_A03-ClasseDocument
CI_SIS_FORMATS = "1.2.250.1.213.1.1.4.2.282"  # TRE_A06-FormatCodeComplementaire
IHE_FORMATS = "1.3.6.1.4.1.19376.1.2.3"  # TRE_A11-IheFormatCode

REPORT = Code("10", CLASS_SCHEME, "Compte rendu")
SUMMARY = Code("11", CLASS_SCHEME, "Synthèse")
IMAGING = Code("31", CLASS_SCHEME, "Imagerie médicale")

# ASS_X04 (subset, see above): CDA code/@code -> classCode.
CLASS_BY_TYPE: dict[str, Code] = {
    "11502-2": REPORT,  # CR d'examens biologiques
    "18748-4": REPORT,  # CR d'imagerie médicale
    "11488-4": REPORT,  # CR de consultation
    "34874-8": REPORT,  # CR opératoire
    "11490-0": REPORT,  # Lettre de liaison à la sortie d'un établissement de soins
    "34133-9": SUMMARY,  # Synthèse d'épisode de soins
    "60591-5": SUMMARY,  # Synthèse médicale (VSM)
    "IMG-KOS": IMAGING,  # Référence d'objets d'un examen d'imagerie
}
FALLBACK_CLASS = REPORT

# ASS_A11 (rows of the ANS table): CDA model templateId -> formatCode.
FORMAT_BY_MODEL: dict[str, Code] = {
    "1.2.250.1.213.1.1.1.5.1": Code("urn:asip:ci-sis:cse-cs8:2017", CI_SIS_FORMATS, "CSE-CS8"),
    "1.2.250.1.213.1.1.1.5.2": Code("urn:asip:ci-sis:cse-cs9:2017", CI_SIS_FORMATS, "CSE-CS9"),
    "1.2.250.1.213.1.1.1.5.3": Code("urn:asip:ci-sis:cse-cs24:2017", CI_SIS_FORMATS, "CSE-CS24"),
    "1.2.250.1.213.1.1.1.5.4": Code("urn:ans:ci-sis:cse-mde:2023", CI_SIS_FORMATS, "CSE-MDE"),
    "1.2.250.1.213.1.1.1.8": Code("urn:asip:ci-sis:frcp:2011", CI_SIS_FORMATS, "FRCP"),
    "1.2.250.1.213.1.1.1.13": Code("urn:asip:ci-sis:vsm:2012", CI_SIS_FORMATS, "VSM"),
    "1.2.250.1.213.1.1.1.15": Code("urn:asip:ci-sis:aunv:2013", CI_SIS_FORMATS, "AUNV"),
    "1.2.250.1.213.1.1.1.18": Code("urn:asip:ci-sis:crrtn:2013", CI_SIS_FORMATS, "CR-RTN"),
    "1.2.250.1.213.1.1.1.21": Code("urn:asip:ci-sis:ldl-ees:2017", CI_SIS_FORMATS, "LDL-EES"),
    "1.2.250.1.213.1.1.1.22": Code("urn:asip:ci-sis:dlu:2015", CI_SIS_FORMATS, "DLU"),
    "1.2.250.1.213.1.1.1.29": Code("urn:asip:ci-sis:ldl-ses:2017", CI_SIS_FORMATS, "LDL-SES"),
    "1.2.250.1.213.1.1.1.32": Code("urn:asip:ci-sis:crgm:2018", CI_SIS_FORMATS, "CR-GM"),
    "1.2.250.1.213.1.1.1.37": Code("urn:asip:ci-sis:vac:2019", CI_SIS_FORMATS, "VAC"),
    "1.2.250.1.213.1.1.1.40": Code("urn:asip:ci-sis:cr-anest:2020", CI_SIS_FORMATS, "CR-ANEST"),
    "1.2.250.1.213.1.1.1.41": Code("urn:asip:ci-sis:cr-cpa:2020", CI_SIS_FORMATS, "CR-CPA"),
    "1.2.250.1.213.1.1.1.47": Code("urn:ans:ci-sis:img-da:2022", CI_SIS_FORMATS, "IMG-DA"),
    "1.2.250.1.213.1.1.1.52": Code("urn:ans:ci-sis:bio-ep-bio:2022", CI_SIS_FORMATS, "EP-BIO"),
    "1.2.250.1.213.1.1.1.39": Code("urn:ihe:pharm:pre:2010", IHE_FORMATS, "Prescription"),
    "1.2.250.1.213.1.1.1.54": Code("urn:ihe:pharm:dis:2010", IHE_FORMATS, "Dispensation"),
    "1.2.250.1.213.1.1.1.45": Code(
        "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", IHE_FORMATS, "CR d'imagerie"
    ),
    "1.2.250.1.213.1.1.1.55": Code("urn:ihe:lab:xd-lab:2008", IHE_FORMATS, "CR de biologie"),
    "1.3.6.1.4.1.19376.1.3.3": Code("urn:ihe:lab:xd-lab:2008", IHE_FORMATS, "CR de biologie"),
    "1.2.250.1.213.1.1.1.57": Code("urn:ihe:palm:apsr:2016", IHE_FORMATS, "CR d'anapath"),
    "1.2.250.1.213.1.1.1.51": Code("urn:ihe:pcc:ips:2020", IHE_FORMATS, "IPS"),
}
# [I] The CI-SIS code for a structured body of no model the table lists (what we sent before).
FALLBACK_N3 = Code("urn:asip:ci-sis:2010", CI_SIS_FORMATS, "Document à corps structuré")

# ASS_A12: a level 1's nonXMLBody/text@mediaType -> formatCode.
FORMAT_BY_MEDIA: dict[str, Code] = {
    "application/pdf": Code("urn:ihe:iti:xds-sd:pdf:2008", IHE_FORMATS, "PDF"),
    "text/plain": Code("urn:ihe:iti:xds-sd:text:2008", IHE_FORMATS, "Texte"),
    "text/rtf": Code("urn:ihe:iti-fr:xds-sd:rtf:2010", IHE_FORMATS, "RTF"),
    "image/jpeg": Code("urn:ihe:iti-fr:xds-sd:jpeg:2010", IHE_FORMATS, "JPEG"),
}


class BadConceptMap(ValueError):
    """The file named in DOCUMENTS_CLASS_CODE_MAP is not the ANS's ASS_X04 ConceptMap."""


def read_class_map(path: Path) -> dict[str, Code]:
    """ASS_X04 as the ANS publishes it (FHIR R4 ConceptMap, JSON): source code -> classCode.
    Only targets in TRE_A03-ClasseDocument are taken (the classCode's own scheme); anything
    else in the file is an error, not a guess. Size-capped: a table of a few hundred rows."""
    if path.stat().st_size > 5 * 1024 * 1024:
        raise BadConceptMap(f"{path}: larger than 5 MB, not a correspondence table")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadConceptMap(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("resourceType") != "ConceptMap":
        raise BadConceptMap(f"{path}: not a FHIR ConceptMap")
    found: dict[str, Code] = {}
    for group in data.get("group") or []:
        if "TRE_A03" not in str(group.get("target", "")).replace("-", "_"):
            raise BadConceptMap(f"{path}: a group targets {group.get('target')!r}, not TRE_A03")
        for element in group.get("element") or []:
            targets = [t for t in element.get("target") or [] if t.get("code")]
            if element.get("code") and targets:
                target = targets[0]
                found[str(element["code"]).strip()] = Code(
                    str(target["code"]).strip(), CLASS_SCHEME, str(target.get("display", ""))
                )
    if not found:
        raise BadConceptMap(f"{path}: no correspondence in it")
    return found


@functools.cache
def _published(path: str) -> dict[str, Code]:
    return read_class_map(Path(path)) if path else {}


def class_code(type_code: str) -> Code:
    """ASS_X04: the XDS classCode of a CDA whose code/@code is `type_code`: the ANS's table
    when one is configured, else the subset above, else "Compte rendu"."""
    code = type_code.strip()
    published = _published(settings.DOCUMENTS_CLASS_CODE_MAP)
    return published.get(code) or CLASS_BY_TYPE.get(code, FALLBACK_CLASS)


def format_code(level: str, templates: list[str], media_type: str = "") -> Code:
    """The XDS formatCode: a level 1 by its body's media type (ASS_A12, PDF when unknown),
    a level 3 by the first of its templateIds the ANS table knows (ASS_A11)."""
    if level == "N1":
        return FORMAT_BY_MEDIA.get(media_type.lower(), FORMAT_BY_MEDIA["application/pdf"])
    return next((FORMAT_BY_MODEL[t] for t in templates if t in FORMAT_BY_MODEL), FALLBACK_N3)
