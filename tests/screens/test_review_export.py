"""Review offers the same exports as `wandb-local-setup export`, by keys alone."""

from __future__ import annotations

import stat

import yaml

from screens.app import WizardApp
from tests.screens.conftest import SIZE, fixed_clock
from tests.screens.helpers import paste, ready, tab_to, wait_for, widget_text


async def _open_review(pilot, app) -> None:
    await ready(pilot)
    app.flow.set_provider("database", "mysql")
    app.flow.set_value("database", ("mysql", "host"), "db.internal")
    app.flow.set_value("database", ("mysql", "password"), "CANARY-review-export")
    app.go_to("review")
    await wait_for(pilot, lambda: app.current_step == "review" and app.view.STEP == "review", what="review")


async def _export(pilot, app, fmt: str, path: str, with_secrets: bool) -> str:
    select = app.query_one("#export-format")
    await tab_to(pilot, "export-format")
    values = [v for _, v in select._options]
    steps = values.index(fmt) - values.index(select.value)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    await pilot.pause()
    await tab_to(pilot, "export-path")
    await pilot.press("end", "ctrl+u")
    await paste(pilot, path)
    if with_secrets:
        await tab_to(pilot, "export-secrets")
        await pilot.press("space")
    await tab_to(pilot, "export-go")
    await pilot.press("enter")
    await wait_for(pilot, lambda: widget_text(app, "#export-result"), what="the export result")
    return widget_text(app, "#export-result")


async def test_review_exports_without_and_with_secrets(keyring, tmp_path):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_review(pilot, app)
        compose = tmp_path / "project" / "docker-compose.yml"
        result = await _export(pilot, app, "compose", str(compose), with_secrets=False)
        assert result.startswith("✓ Wrote ") and str(compose) in result
        text = compose.read_text()
        assert "CANARY-review-export" not in text
        env = yaml.safe_load(text)["services"]["wandb"]["environment"]
        assert env["MYSQL"].startswith("mysql://wandb_local:${DATABASE_MYSQL_PASSWORD:?")

        env_file = tmp_path / "wandb.env"
        result = await _export(pilot, app, "env", str(env_file), with_secrets=True)
        assert "mode 0600" in result
        assert "MYSQL=mysql://wandb_local:CANARY-review-export@db.internal:3306/wandb_local?tls=preferred" in \
            env_file.read_text()
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


async def test_review_export_to_an_unwritable_place_says_why(keyring, tmp_path):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    async with app.run_test(size=SIZE) as pilot:
        await _open_review(pilot, app)
        result = await _export(pilot, app, "env", str(blocker / "inside" / "x.env"), with_secrets=False)
        assert result.startswith("✗ Not exported:"), result


async def test_review_exports_for_the_kubernetes_operator_and_says_what_the_chart_cannot_carry(keyring, tmp_path):
    """The operator resource and the Secrets' commands from Review; what the chart cannot express (here: files on
    the container's volume, the chart's own MySQL... and the MySQL host a pod cannot reach) is said on screen."""
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await _open_review(pilot, app)
        app.flow.set_value("database", ("mysql", "host"), "127.0.0.1")
        out = tmp_path / "k8s" / "wandb-operator.yaml"
        result = await _export(pilot, app, "operator", str(out), with_secrets=False)
        script = tmp_path / "k8s" / "wandb-operator-secrets.sh"
        assert result.startswith(f"✓ Wrote {out}, {script} (no secret values: Secret references)"), result
        flat = " ".join(result.split())
        assert "cannot carry: storage: files are kept on the container's volume here" in flat
        assert "cannot carry: database.mysql.host: 127.0.0.1 is the pod itself inside a pod" in flat
        assert f"create the Secrets first: sh {script}" in flat and f"then: kubectl apply -f {out}" in flat
        assert "CANARY-review-export" not in out.read_text() + script.read_text() + result
