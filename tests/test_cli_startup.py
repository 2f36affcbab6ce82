"""The command line starts fast: nothing heavy is imported to print help or parse options.

Behaviour, not speed: which modules a ``--help`` loads (numpy, the runtime, pygame, scipy,
Pillow, urllib and the installed plugins come in only when a command runs). bench/ times it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "pygame", "ai_edge_litert", "tflite_runtime", "PIL", "urllib.request")

PROBE = """
import json, sys
from posestage.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m in {heavy!r} or m.startswith("posestage_"))))
"""


def imported_by(argv: list[str]) -> list[str]:
    code = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--help"], [], ["detect", "--help"], ["models", "--help"], ["doctor", "--help"],
     ["run", "--help"], ["plugins", "--help"]],
)  # fmt: skip
def test_help_imports_nothing_heavy_and_no_plugin(argv):
    assert imported_by(argv) == []


def test_top_level_help_lists_the_built_in_commands(capsys):
    from posestage.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("detect", "models", "run", "plugins", "doctor"):
        assert command in out
    assert "`posestage plugins` lists" in out
