"""manage.py import_directory FILE.csv: structures, managers, mailboxes, delegations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailboxes.actions.provisioning import ImportFailed, import_csv


class Command(BaseCommand):
    help = "Import structures, managers, mailboxes and delegations from CSV (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with options["file"].open(encoding="utf-8-sig", newline="") as lines:
                count = import_csv(lines)
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{options['file']} is not UTF-8") from exc
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.errors)) from exc
        self.stdout.write(f"{count} row(s) imported")
