"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    """Click's runner: stdout and stderr kept apart, as a terminal shows them."""
    return CliRunner()
