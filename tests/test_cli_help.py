"""Every ``--help`` answers at once: no command module loads the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cclreview.cli import COMMAND_MODULES
from cclreview.contracts import STAGE_ORDER
from cclreview.pipeline import STAGE_FUNCTIONS

HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "sklearn",
    "scipy",
    "pandera",
    "openpyxl",
    "pydantic",
    "rapidfuzz",
    "lxml",
)
LIMIT_S = 0.5

# Runs in a fresh interpreter: imports the CLI, prints one help, reports CPU time
# (user + system, steadier than wall time on a busy machine) and heavy modules loaded.
_PROBE = """
import json, resource, sys
from cclreview.cli import cli
try:
    cli.main(args=sys.argv[1:] + ["--help"], prog_name="cclreview", standalone_mode=False)
except SystemExit:
    pass
ru = resource.getrusage(resource.RUSAGE_SELF)
heavy = [m for m in HEAVY if m in sys.modules]
sys.stderr.write(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "heavy": heavy}))
"""

COMMANDS = [[], ["fetch", "all"], ["fetch", "ccl"], ["fetch", "baci"]] + [
    [c] for c in sorted(COMMAND_MODULES)
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "cclreview")
def test_help_is_fast(args: list[str]) -> None:
    probe = f"HEAVY = {HEAVY!r}\n" + _PROBE
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Usage:" in done.stdout
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["heavy"] == [], f"`cclreview {' '.join(args)} --help` imports {report['heavy']}"
    assert report["cpu"] < LIMIT_S, f"`cclreview {' '.join(args)} --help` took {report['cpu']:.2f} s CPU"


def test_every_stage_has_a_library_function() -> None:
    assert [s.command for s in STAGE_ORDER] + ["report"] == list(STAGE_FUNCTIONS)
