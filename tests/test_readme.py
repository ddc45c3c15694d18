"""The README cannot drift: its quick start runs, its sample output is the real output, every
`logscan` command it shows parses (options, choices and values), and every `pip install` names
this distribution and extras it has."""

from __future__ import annotations

import re
import shlex
import tomllib

import click
import pytest
from paths import REPO

from analyzer.cli.app import main

README = (REPO / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.S | re.M)


def commands(program: str) -> list[str]:
    """Each command line of the sh blocks that runs ``program`` (continuations joined, comments
    and what a pipe feeds it dropped)."""
    out = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split(" && "):
                part = part.split(" | ")[-1].strip()
                words = shlex.split(part, comments=True)
                if words[:1] == [program] or words[:3] == ["python", "-m", "analyzer"]:
                    out.append(part)
    return out


def test_quick_start_is_the_two_commands():
    assert blocks("sh")[:2] == [
        "pip install . && logscan sample_logs/apache_vhost_allow.log\n",
        "pip install -e '.[test]' && python -m pytest\n",
    ]


def test_the_first_command_runs_and_its_output_is_the_one_shown(runner, monkeypatch):
    monkeypatch.chdir(REPO)
    result = runner.invoke(main, ["sample_logs/apache_vhost_allow.log"])
    assert result.exit_code == 0, result.stderr
    (shown,) = blocks("text")
    assert result.stdout.startswith(shown)


@pytest.mark.parametrize("line", commands("logscan"))
def test_every_logscan_command_parses(line):
    words = shlex.split(line, comments=True)
    args = words[3:] if words[0] == "python" else words[1:]
    if "_LOGSCAN_COMPLETE" in line:
        pytest.skip("completion: tested below")
    name = args[0] if args and args[0] in main.commands else "analyze"  # the default command
    rest = args[1:] if name == args[0] else args
    command = main.commands[name]
    with command.make_context(name, list(rest)) as ctx:  # options, choices and values checked
        assert ctx.params


def test_the_readme_shows_many_commands():
    assert len(commands("logscan")) >= 20  # the extractor finds them (24 when written)


def test_pip_installs_name_this_distribution_and_its_extras():
    name = PYPROJECT["project"]["name"]
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    lines = [line.split(" && ")[0] for block in blocks("sh") for line in block.splitlines()
             if line.startswith("pip install")]
    assert len(lines) >= 4
    for line in lines:
        target = shlex.split(line, comments=True)[-1]
        base, _, extra = target.partition("[")
        assert base in (name, "."), line
        for wanted in filter(None, extra.rstrip("]").split(",")):
            assert wanted in extras, line
    assert name == "logscan-http"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_lines_work(runner, shell):
    assert f"_LOGSCAN_COMPLETE={shell}_source logscan" in README
    result = runner.invoke(main, [], prog_name="logscan",
                           env={"_LOGSCAN_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0
    assert "_LOGSCAN_COMPLETE" in result.stdout


def test_exit_codes_are_documented():
    table = README[README.index("## Exit codes"):]
    for code in range(5):
        assert f"| `{code}` |" in table
    assert "3 no line of the input could be parsed" in " ".join(
        click.unstyle((REPO / "analyzer/cli/app.py").read_text()).split())
