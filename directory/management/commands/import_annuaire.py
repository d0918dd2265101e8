"""manage.py import_annuaire FILE: the Annuaire Santé MSSanté extraction (DIR1–DIR4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.annuaire import Counts, do_import_annuaire


class Command(BaseCommand):
    help = "Replace the directory by an Annuaire Santé extraction (| separated text, or its ZIP)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def progress(self, counts: Counts) -> None:
        self.stdout.write(f"… {counts.read} rows read, {counts.skipped} skipped")

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = do_import_annuaire(options["file"], self.progress)
        if not outcome.accepted:
            raise CommandError(f"nothing imported, the directory stays: {outcome.reason}")
        self.stdout.write(
            f"{outcome.read} rows read, {outcome.imported} mailboxes imported, "
            f"{outcome.skipped} skipped, {outcome.red_list} on the liste rouge left out"
        )
