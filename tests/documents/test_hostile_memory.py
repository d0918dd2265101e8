"""Hostile packages stay within memory bounds (CONFORMANCE.md TST 3: RSS +< 100 MB), measured
as the process's peak RSS (VmHWM, reset before each read) in a fresh process: lxml's and
zlib's memory is invisible to tracemalloc."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

CHILD = """
import json, os, sys
from pathlib import Path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")
import django
django.setup()
from documents import package
from tests.documents import hostile_xdm as hostile

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])

found = {}
cases = [(c.name, c.build) for c in hostile.CASES]
cases += [(f"xml {k}", (lambda k=k: hostile.replaced(hostile.good(), hostile.DOC,
          hostile.xml_attack(k)))) for k, _ in hostile.XML_ATTACKS]
for name, build in cases:
    data = build()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS
    before = status("VmRSS:")
    package.read(data)
    found[name] = (status("VmHWM:") - before) / 1024
    del data
print(json.dumps(found))
"""


def test_each_hostile_package_stays_under_100_mb_above_the_baseline() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, check=True, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(peaks) > 25
    assert max(peaks.values()) < 100, peaks
