from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mailboxes.models import Delegation, Mailbox, Structure, User

pytestmark = pytest.mark.django_db
HEADER = "record,name,kind,finess,siret,address,label,structure,owner,person,role,expires\n"
GOOD = HEADER + (
    "structure,Pharmacie du Port,pharmacy,750077777,,,,,,,,\n"
    "manager,,,,,,,750077777,,810200000001,,\n"
    "mailbox,,ORG,,,officine@port.mssante.test,Officine,750077777,,,,\n"
    "mailbox,,PER,,,paul.roy@port.mssante.test,Paul Roy,,810200000001,,,\n"
    "delegation,,,,,officine@port.mssante.test,,,,secretariat@exemple.fr,triage,2099-12-31\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directory.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_it_imports_a_directory_and_is_idempotent(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    call_command("import_directory", str(path))
    call_command("import_directory", str(path))
    pharmacy = Structure.objects.get()
    manager = User.objects.get(subject_name_id="810200000001")
    assert list(pharmacy.managers.all()) == [manager]
    assert Mailbox.objects.get(kind="PER").owner == manager
    delegation = Delegation.objects.get()
    assert (delegation.person.email, delegation.role) == ("secretariat@exemple.fr", "triage")
    assert delegation.expires_at is not None and delegation.expires_at.year == 2099
    assert (Mailbox.objects.count(), User.objects.count()) == (2, 2)


def test_it_reports_every_bad_line_and_changes_nothing(tmp_path: Path) -> None:
    bad = GOOD + (
        "mailbox,,ORG,,,cardio@port.mssante.test,Cardio,999999999,,,,\n"
        "delegation,,,,,officine@port.mssante.test,,,,x@exemple.fr,boss,\n"
        "teapot,,,,,,,,,,,\n"
    )
    with pytest.raises(CommandError) as failure:
        call_command("import_directory", str(write(tmp_path, bad)))
    message = str(failure.value)
    assert "line 7: unknown structure '999999999'" in message
    assert "line 8: unknown role 'boss'" in message
    assert "line 9: unknown record type 'teapot'" in message
    assert not Structure.objects.exists() and not Mailbox.objects.exists()
    assert not User.objects.exists()


def test_it_refuses_a_file_without_the_columns(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_directory", str(write(tmp_path, "name,kind\nx,y\n")))
