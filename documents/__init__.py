"""Health documents: IHE XDM packages and CDA R2 documents received and sent
(CONFORMANCE.md XDM, CDA, XDM-S, HDR-IN, PAT, RCPT). Depends on mailboxes, never the reverse."""
