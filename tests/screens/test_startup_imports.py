"""The heavy SDKs load only when a check needs them: none is imported when the first screen is ready (the app
writes the names of the loaded modules into WANDB_LOCAL_SETUP_READY_FILE when it reports ready)."""

from __future__ import annotations

import pytest

from tests.benchmarks.pty_harness import PtyProgram, python_argv

HEAVY = ("boto3", "botocore", "google.cloud", "azure", "docker", "pymysql", "redis")
MODELS = ("pydantic", "wizard.config", "wizard.providers")  # needed by a step, not by the passphrase dialog


def heavy_loaded(modules: list[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(name for name in heavy if any(m == name or m.startswith(name + ".") for m in modules))


@pytest.mark.parametrize("first_screen", ["passphrase dialog", "step view"])
def test_no_heavy_sdk_is_imported_before_the_first_screen(tmp_path, first_screen):
    env = {"WANDB_LOCAL_SETUP_HOME": str(tmp_path / "home"), "WANDB_LOCAL_SETUP_KEYRING": "cryptfile"}
    if first_screen == "step view":
        env["WANDB_LOCAL_SETUP_PASSPHRASE"] = "startup test"  # no dialog: the Welcome step is the first screen
    program = PtyProgram(python_argv("-m", "wizard"), env=env)
    try:
        program.wait_ready(timeout=60)
        modules = program.ready_modules()
    finally:
        program.stop()
    assert "textual" in modules and "wizard" in modules  # a real report
    assert heavy_loaded(modules) == []
    if first_screen == "passphrase dialog":  # the models load while the passphrase is typed, not before
        assert heavy_loaded(modules, MODELS) == []


def test_heavy_modules_are_recognised():
    modules = ["textual", "botocore.session", "google", "google.cloud.storage", "wizard", "redis", "redisx"]
    assert heavy_loaded(modules) == ["botocore", "google.cloud", "redis"]
    assert heavy_loaded(["google", "google.protobuf", "dockerfile", "azure_like"]) == []
