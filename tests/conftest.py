"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    """Click's runner: stdout and stderr kept apart, as a terminal shows them."""
    return CliRunner()


@pytest.fixture(scope="session")
def _empty_config_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("config-home"))


@pytest.fixture(autouse=True)
def _no_user_configuration(monkeypatch: pytest.MonkeyPatch, _empty_config_home: str) -> None:
    """Each test reads no formats file of the user running it or of the machine (empty
    XDG_CONFIG_HOME and XDG_CONFIG_DIRS), and the machine's own standard configurations (no
    LOGSCAN_SYSROOT of the environment)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", _empty_config_home)
    monkeypatch.setenv("XDG_CONFIG_DIRS", _empty_config_home)  # nor the machine's (/etc/xdg)
    monkeypatch.delenv("LOGSCAN_SYSROOT", raising=False)
