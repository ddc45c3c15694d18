"""The README's Library section runs as it is, from the repository's top folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from paths import REPO

SECTION = re.compile(r"^## Library\n(.*?)^##", re.S | re.M)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = SECTION.search(readme)
    assert section is not None, "README.md has no Library section"
    return BLOCK.findall(section.group(1))


def test_the_library_section_has_examples() -> None:
    assert len(_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_a_library_example_runs(index: int) -> None:
    code = _blocks()[index]
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip()


_QUIET = """
import os, sys
env, switch = dict(os.environ), sys.getswitchinterval()
import analyzer
report = analyzer.analyze("sample_logs/nginx_combined.log")
frame = analyzer.read_log("sample_logs/nginx_combined.log")
assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items())
assert sys.getswitchinterval() == switch
print(report.to_dict()["totals"]["lines"], len(frame))
"""


def test_the_library_changes_nothing_in_the_process() -> None:
    """No environment variable, no interpreter setting, nothing printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARROW_")}
    result = subprocess.run([sys.executable, "-c", _QUIET], cwd=REPO, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "380 380\n"
