"""`./scripts/install-and-run` on a fresh clone: one line per phase, the tools' output only when a phase fails.

The install used to print pages of setuptools deprecation warnings and pip notices before the wizard started.
Runs the real script in a clone of this checkout (pip then installs from the same package index as the suite).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clone(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed to clone the checkout")
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(target)], check=True, timeout=120)
    for name in ("scripts/install-and-run", "pyproject.toml"):  # the working tree's, as a developer runs it
        shutil.copy(ROOT / name, target / name)
    return target


def _run(clone: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "WANDB_LOCAL_SETUP"))}
    return subprocess.run(["./scripts/install-and-run", "--version"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_fresh_install_prints_one_line_per_phase_then_the_wizard(clone):
    result = _run(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert lines[-1].startswith("wandb-local-setup "), lines  # the wizard itself ran
    assert all(line.startswith("install-and-run: ") for line in lines[:-1]), lines
    assert 3 <= len(lines) - 1 <= 4, lines
    assert not any(word in result.stdout + result.stderr for word in ("Deprecat", "WARNING", "!!"))
    again = _run(clone)  # installed: straight to the wizard
    assert again.returncode == 0 and again.stdout.splitlines() == [lines[-1]], again.stdout + again.stderr


def test_a_failing_phase_shows_its_output_in_full(clone):
    (clone / "pyproject.toml").write_text((clone / "pyproject.toml").read_text() + "\n[project\n")  # not TOML
    result = _run(clone)
    assert result.returncode == 1
    assert "install-and-run: failed while installing wandb-local-setup" in result.stderr
    assert "TOMLDecodeError" in result.stderr  # the tool's own words about what is wrong, in full
