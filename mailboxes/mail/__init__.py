"""Mail formats: parsing received MIME, delivery and read reports."""
