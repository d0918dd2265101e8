"""manage.py refresh_trust_list [FILE|URL]: load the MSSanté trust list (TL1, TL3)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.refresh import do_refresh_trust_list


class Command(BaseCommand):
    help = "Load the MSSanté trust list from TRUSTLIST_SOURCE, or the file or https URL given."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", nargs="?", default="", help="a file path or an https URL")

    def handle(self, *args: Any, **options: Any) -> None:
        load = do_refresh_trust_list(options["source"])
        if not load.accepted:
            raise CommandError(f"trust list refused, the previous one stays: {load.reason}")
        self.stdout.write(
            f"trust list in force: {load.domains} domains, {load.skipped} invalid name(s) "
            f"skipped, generated {load.generated:%Y-%m-%dT%H:%M:%SZ}"
        )
