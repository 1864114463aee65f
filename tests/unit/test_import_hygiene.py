"""The domain package `wizard` imports no UI, cloud SDK, database driver, Docker client or keyring at import time.

Each is imported lazily where it is used, so the CLI starts fast and headless uses need none of them.
Checked in a fresh interpreter, over every module under wizard/ (found by pkgutil.walk_packages).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = ("textual", "boto3", "botocore", "google.cloud", "azure", "docker", "pymysql", "redis", "keyring")

# Modules that must exist: if walk_packages found nothing, the test must not pass on an empty list.
REQUIRED = ("wizard", "wizard.config", "wizard.draft", "wizard.render", "wizard.validators", "wizard.steps", "wizard.paths")

# wizard/__main__.py runs the CLI when imported (`python -m wizard`); it only imports wizard.cli, which is checked.
SKIPPED = ("wizard.__main__",)

SCRIPT = r"""
import importlib, json, pkgutil, sys, traceback
import wizard
names, failed = ["wizard"], {}
def onerror(name):
    failed[name] = traceback.format_exc()
for info in pkgutil.walk_packages(wizard.__path__, "wizard.", onerror=onerror):
    if info.name in SKIPPED:
        continue
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except BaseException:
        failed[info.name] = traceback.format_exc()
loaded = sorted(
    module for module in sys.modules
    if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)
)
print(json.dumps({"names": names, "failed": failed, "loaded": loaded, "file": wizard.__file__}))
"""


def _run(preamble: str = "") -> dict:
    code = f"SKIPPED = {SKIPPED!r}\nFORBIDDEN = {FORBIDDEN!r}\n{preamble}\n{SCRIPT}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_domain_imports_no_heavy_or_optional_dependency():
    report = _run()
    assert Path(report["file"]).resolve().parent == ROOT / "wizard", "imported another copy of the package"
    assert set(REQUIRED) <= set(report["names"]), report["names"]
    assert report["failed"] == {}, "\n".join(f"{name}:\n{trace}" for name, trace in report["failed"].items())
    assert report["loaded"] == [], f"imported at import time: {report['loaded']}"


def test_the_check_sees_a_forbidden_import_and_a_broken_module(tmp_path):
    # The same script, with keyring imported up front and a module that fails added to the package's path:
    # both must be reported, so the real check cannot pass by missing them.
    (tmp_path / "broken_for_test.py").write_text("raise ImportError('broken on purpose')\n")
    preamble = f"import keyring\nimport wizard\nwizard.__path__.append({str(tmp_path)!r})"
    report = _run(preamble)
    assert "keyring" in report["loaded"]
    assert "wizard.broken_for_test" in report["names"]
    assert "broken on purpose" in report["failed"]["wizard.broken_for_test"]
