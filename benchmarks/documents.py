"""Benchmarks of health documents (CONFORMANCE.md CDA-R5, issue 12): server time to open a
25 MB IHE XDM package and to render a 450 KB CDA N1 and a 350 KB CDA N3 (p95, target
<= 300 ms on the 2-core machine), and the peak memory of opening the package (<= 100 MB
above the process's baseline). Prints one JSON object; BENCH_RUNS (default 30).
The documents are synthetic (documents.samples), built here.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

import django

django.setup()

from documents import building, cda, narrative, package, samples  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "30"))
SENDER = building.Sender(
    id="810101234567", family="DURAND", given="Marie", source_id="1.2.250.1.999"
)
MIB = 1024 * 1024


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def timed(function: object, runs: int = RUNS) -> list[float]:
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        found.append((time.perf_counter() - started) * 1000)
    return found


def incompressible_pdf(size: int) -> bytes:
    """A PDF of about `size` bytes that does not deflate (as scanned reports do not)."""
    return samples.pdf("Compte rendu") + os.urandom(size)


def package_25mb() -> bytes:
    """Four CDA N1 of 6 MB PDFs each: a package of about 25 MB (the MES limit)."""
    documents = [samples.level1(payload=incompressible_pdf(6 * MIB - 300_000)) for _ in range(4)]
    data = building.build(documents, SENDER).data
    assert len(data) <= 25 * MIB, len(data)
    return data


def level1_450kb() -> bytes:
    return samples.level1(payload=incompressible_pdf(330_000))


def level3_350kb() -> bytes:
    return samples.level3(extra_sections=720)


def render_n1(data: bytes) -> None:
    document = cda.parse(data)
    assert cda.pdf_of(document) is not None


def render_n3(data: bytes) -> None:
    assert "<table" in narrative.render(cda.parse(data))


def peak_mib(data: bytes) -> float:
    """Peak RSS of opening the package three times, above the baseline of a fresh process
    that already holds the package's bytes (lxml's memory is not seen by tracemalloc)."""
    with tempfile.NamedTemporaryFile(suffix=".zip") as held:
        held.write(data)
        held.flush()
        out = subprocess.run(
            [sys.executable, __file__, "--peak", held.name],
            check=True,
            capture_output=True,
            text=True,
        )
    return float(out.stdout.strip())


def high_water_kib() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across exec from
    the parent that forked us."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def peak_child(path: str) -> None:
    data = Path(path).read_bytes()
    before = high_water_kib()
    for _ in range(3):
        summary = package.read(data)
        assert summary.error == "" and len(summary.documents) == 4, summary.error
    print(round((high_water_kib() - before) / 1024, 1))


def main() -> None:
    big = package_25mb()
    n1, n3 = level1_450kb(), level3_350kb()
    opened = timed(lambda: package.read(big), max(RUNS // 3, 5))
    print(
        json.dumps(
            {
                "xdm_package_mib": round(len(big) / MIB, 1),
                "xdm_open_25mb_p95_ms": round(p95(opened), 1),
                "cda_n1_kib": len(n1) // 1024,
                "cda_n1_render_p95_ms": round(p95(timed(lambda: render_n1(n1))), 1),
                "cda_n3_kib": len(n3) // 1024,
                "cda_n3_render_p95_ms": round(p95(timed(lambda: render_n3(n3))), 1),
                "xdm_peak_mib": peak_mib(big),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        peak_child(sys.argv[2])
    else:
        main()
