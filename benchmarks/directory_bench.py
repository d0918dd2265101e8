"""The Annuaire Santé directory on a generated 550,000-row extraction in the real format.

- directory_import_s: `manage.py import_annuaire` replacing a directory of the same size (the
  daily case: staging COPY, then the swap in one transaction), wall time of the command;
  directory_first_import_s: the same into an empty directory;
- directory_import_peak_mib: the command's peak resident memory;
- autocomplete_p95_ms: the suggestions view (POST, access, query, trust marks, JSON) over a
  mixed set of prefixes, on PostgreSQL; autocomplete_sqlite_p95_ms: the same on SQLite (FTS5),
  in a child process with its own database.
Prints one JSON object. Run through scripts/bench.sh; BENCH_DIRECTORY_ROWS sets the size.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")
os.environ.setdefault("DIRECTORY_SUGGEST_PER_MINUTE", "1000000")

import django  # noqa: E402 - after the environment above

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from benchmarks import common  # noqa: E402
from directory.annuaire import do_import_annuaire  # noqa: E402
from directory.models import DirectoryEntry  # noqa: E402
from mailboxes.models import User  # noqa: E402
from webmail.demo import annuaire  # noqa: E402

ROWS = int(os.environ.get("BENCH_DIRECTORY_ROWS", "550000"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
# Names, professions, specialties, cities, postal codes, RPPS, two words: common and rare.
PREFIXES = ["card", "mar", "dur", "lyon", "pedia", "8100000", "marie dub", "clinique mor",
            "infir", "750", "hel", "service psy", "kine", "garc", "toulouse radio",
            "bernard", "sage", "ophta", "nantes", "zoe"]  # fmt: skip


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def logged_in() -> Client:
    user, _ = User.objects.get_or_create(
        username="bench-directory", defaults={"subject_name_id": "899700000002"}
    )
    return common.logged_in(user)


def autocomplete_ms() -> list[float]:
    client = logged_in()
    url = reverse("directory-suggest")
    for prefix in PREFIXES:  # warm, and check each finds something
        answer = client.post(url, {"q": prefix})
        assert answer.status_code == 200 and answer.json()["results"], prefix
    samples = []
    for _ in range(max(RUNS // 10, 1)):
        for prefix in PREFIXES:
            started = time.perf_counter()
            client.post(url, {"q": prefix})
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def run_import(path: Path) -> float:
    """The command in a child process (its own peak memory); seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_annuaire", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def sqlite_child(path: Path, folder: str) -> float:
    """autocomplete p95 on SQLite: this script again, on a fresh SQLite database."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3"}
    out = subprocess.run(
        [sys.executable, __file__, "--sqlite", str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["autocomplete_sqlite_p95_ms"])


def main() -> None:
    call_command("migrate", verbosity=0)
    if sys.argv[1:2] == ["--sqlite"]:
        assert do_import_annuaire(Path(sys.argv[2])).accepted
        samples = autocomplete_ms()
        print(json.dumps({"autocomplete_sqlite_p95_ms": round(p95(samples), 1)}))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = annuaire.write(Path(folder) / "extraction.txt", annuaire.generated(ROWS))
        first = run_import(path)
        again = run_import(path)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        samples = autocomplete_ms()
        sqlite_p95 = sqlite_child(path, folder)
    print(
        json.dumps(
            {
                "directory_rows": DirectoryEntry.objects.count(),
                "directory_database": connection.vendor,
                "directory_first_import_s": round(first, 1),
                "directory_import_s": round(again, 1),
                "directory_import_peak_mib": round(peak_mib, 1),
                "autocomplete_p50_ms": round(statistics.median(samples), 1),
                "autocomplete_p95_ms": round(p95(samples), 1),
                "autocomplete_sqlite_p95_ms": sqlite_p95,
            }
        )
    )


if __name__ == "__main__":
    main()
