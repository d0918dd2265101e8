"""Why a package or a document could not be read, as a code and a French sentence.

Codes are stored (the summary cache) and shown; the sentence is translated at display time.
Never put a patient's name, an INS or a subject in a reason.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

REASONS: dict[str, Promise] = {
    # XDM-R3: the archive itself
    "too-large": _("The package is larger than the size allowed."),
    "not-zip": _("The package is not a readable ZIP archive (damaged or truncated)."),
    "too-many-entries": _("The package holds too many files."),
    "entry-too-large": _("A file of the package is larger than the size allowed."),
    "total-too-large": _("The files of the package are larger, together, than the size allowed."),
    "ratio": _("A file of the package is compressed suspiciously well (possible zip bomb)."),
    "method": _("A file of the package uses an unsupported compression method."),
    "encrypted": _("The package holds an encrypted file."),
    "special-file": _("The package holds a symbolic link or a special file."),
    "bad-name": _("The package holds a file with a dangerous or invalid name."),
    "duplicate-name": _("The package holds two files with the same name."),
    # XDM-R4/R5/R6: its contents
    "no-metadata": _("The package has no METADATA.XML file."),
    "too-many-subsets": _("The package holds too many subsets."),
    "metadata-too-large": _("The package's METADATA.XML file is larger than the size allowed."),
    "xml-doctype": _("The file declares a DOCTYPE (entities or DTD), refused for safety."),
    "xml-syntax": _("The file is not well-formed XML."),
    "not-metadata": _("The METADATA.XML file is not an ebXML submission."),
    # XDM-R8/CDA-R4: one document
    "bad-uri": _("The document's location in the package is refused (URI)."),
    "missing": _("The document is referenced by the package but missing from it."),
    "not-cda": _("The document is not a CDA R2 document."),
    "unreadable": _("The document could not be read."),
    "no-view": _("This document cannot be shown; download it."),
}


class Refused(Exception):
    """A package or document refused for `code` (a key of REASONS)."""

    def __init__(self, code: str) -> None:
        assert code in REASONS, code  # noqa: S101 - a programming error, not input
        super().__init__(code)
        self.code = code


def reason(code: str) -> str:
    """The French (or current language's) sentence for a refusal code."""
    return str(REASONS.get(code, REASONS["unreadable"]))
