"""The UI-free façade (wizard.flow) and the texts to paste elsewhere (wizard.instructions), without Textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.screens.conftest import fixed_clock, read_session
from wizard import providers
from wizard.draft import secret_ids
from wizard.flow import WizardFlow, read_license_file, step_fields
from wizard.session import SessionLocked, SessionStore
from wizard.text import MASK
from wizard.steps import StepStatus

ROOT = Path(__file__).resolve().parents[2]


def test_domain_modules_do_not_import_textual():
    code = ("import sys, wizard.flow, wizard.instructions, wizard.draft; "
            "sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_instructions_from_the_values():
    values = {
        "host": {"url": "https://wandb.example.com/"},
        "sso": {"provider": "okta", "okta": {"issuer": "https://acme.okta.com"}},
        "storage": {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "us-east-1", "queue": "wandb-q"}},
        "database": {"provider": "mysql", "mysql": {"user": "wb", "database": "wbdb"}},
    }
    sso = {i.id: i for i in providers.instructions_for("sso", values)}
    assert sso["sso.callback"].text == "https://wandb.example.com/oidc/callback"
    assert sso["sso.logout"].text == "https://wandb.example.com/logout"
    storage = {i.id: i for i in providers.instructions_for("storage", values)}
    cors = json.loads(storage["storage.cors-json"].text)
    assert cors == [{"AllowedHeaders": ["*"], "AllowedMethods": ["GET", "HEAD", "PUT"],
                     "AllowedOrigins": ["https://wandb.example.com"], "ExposeHeaders": ["ETag"],
                     "MaxAgeSeconds": 3000}]
    assert "<AllowedOrigin>https://wandb.example.com</AllowedOrigin>" in storage["storage.cors-xml"].text
    assert "<ExposeHeader>ETag</ExposeHeader>" in storage["storage.cors-xml"].text
    policy = json.loads(storage["storage.sqs-policy"].text)
    statement = policy["Statement"][0]
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::acme-wandb"}}
    assert statement["Resource"] == "arn:aws:sqs:us-east-1:<AWS-ACCOUNT-ID>:wandb-q"
    sql = providers.instructions_for("database", values, {"database.mysql.password": "pw'x"})[0]
    assert "IDENTIFIED BY '********'" in sql.text and "pw" not in sql.text
    assert "CREATE USER 'wb'@'%' IDENTIFIED BY 'pw\\'x';" in sql.clipboard
    assert "GRANT ALL ON `wbdb`.* TO 'wb'@'%' WITH GRANT OPTION;" in sql.text
    assert providers.instructions_for("slack", values)[0].text == "https://wandb.example.com"


def test_instructions_use_placeholders_for_missing_or_invalid_values():
    values = {"host": {"url": "not a url"},
              "storage": {"provider": "gcs", "gcs": {"bucket": "acme", "topic": "files", "project": "acme-proj"}}}
    gsutil = [i for i in providers.instructions_for("storage", values) if i.id == "storage.gsutil"][0]
    assert gsutil.text == "gsutil notification create -t projects/acme-proj/topics/files -f json gs://acme"
    assert providers.instructions_for("slack", values)[0].text == "<SERVER-URL>"
    azure = providers.instructions_for("storage", {"storage": {"provider": "azure", "azure": {}}})[0]
    assert "--account-name <ACCOUNT>" in azure.text and "--origins http://203.0.113.5:8080" in azure.text


def test_flow_keeps_secrets_out_of_the_session_file(state_home, keyring):
    store = SessionStore()
    flow = WizardFlow.open("demo", store=store, clock=fixed_clock)
    flow.attach_secrets(keyring)
    flow.set_provider("database", "mysql")
    flow.set_value("database", ("mysql", "host"), "db.example.com")
    flow.set_value("database", ("mysql", "password"), "s3cret-pw")
    flow.save()
    assert "s3cret-pw" not in (state_home / "sessions" / "demo.json").read_text()
    assert keyring.get("demo", "database.mysql.password") is None  # not before the step is left
    assert flow.leave_step("database") == StepStatus.CHECKED_OK or flow.has_checks("database")
    assert flow.flush_secrets("database") == ["database.mysql.password"]
    assert keyring.get("demo", "database.mysql.password") == "s3cret-pw"
    with pytest.raises(SessionLocked):
        WizardFlow.open("demo", store=store)
    flow.close()
    again = WizardFlow.open("demo", store=store, clock=fixed_clock)
    again.attach_secrets(keyring)
    assert again.value("database", ("mysql", "password")) == "s3cret-pw"
    assert again.build_config().database.host == "db.example.com"
    again.close()


def test_flow_statuses_and_first_incomplete_step(state_home):
    flow = WizardFlow.open("demo", store=SessionStore(), clock=fixed_clock)
    flow.set_value("slack", ("client_id",), "nope")
    assert flow.status("slack") == StepStatus.EDITED
    assert flow.leave_step("slack") == StepStatus.FAILED
    assert "not a Slack client ID" in flow.status_message("slack")
    flow.set_value("slack", ("client_id",), "")
    assert flow.leave_step("slack") in (StepStatus.CHECKED_OK, StepStatus.EDITED)
    flow.close()
    saved = read_session(state_home, "demo")
    assert saved["steps"]["slack"]["status"] in ("checked-ok", "edited")
    resumed = WizardFlow.open("demo", store=SessionStore(), clock=fixed_clock)
    assert resumed.resumed and resumed.start_step() == "license"
    resumed.close()


def test_fields_come_from_the_models():
    fields = {f.name: f for f in step_fields("database", "mysql")}
    assert fields["password"].kind == "secret" and fields["password"].required
    assert fields["port"].kind == "int" and fields["port"].default == 3306
    assert fields["tls"].kind == "choice" and fields["tls"].choices == ("disabled", "preferred", "required")
    assert {f.name: f.kind for f in step_fields("server")}["extra_env"] == "list"
    assert {f.name: f.kind for f in step_fields("cache", "redis")}["tls"] == "bool"
    assert all(".".join(("storage", *f.path)) in secret_ids("storage")
               for f in step_fields("storage", "azure") if f.kind == "secret")


def test_read_license_file(tmp_path):
    path = tmp_path / "license.txt"
    path.write_text("aaa.\nbbb.ccc\n")
    assert read_license_file(str(path)) == "aaa.bbb.ccc"
    with pytest.raises(ValueError, match="does not exist"):
        read_license_file(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is a directory"):
        read_license_file(str(tmp_path))


def test_secret_extra_options_live_in_the_keyring(state_home, keyring):
    """An extra option named like a secret (or marked secret) keeps its value in the keyring; the container gets
    it, masked everywhere it is shown; renaming or unmarking the row deletes the old keyring entry."""
    from wizard import draft, render

    canary = "canary-extra-token-4d4d"
    store = SessionStore()
    flow = WizardFlow.open("demo", store=store, clock=fixed_clock)
    flow.attach_secrets(keyring)
    rows = [{"name": "GORILLA_API_TOKEN", "value": canary}, {"name": "ENABLE_REGISTRY_UI", "value": "true"},
            {"name": "LDAP_BIND_PW", "value": "canary-marked-5e5e", "secret": True}]
    assert flow.set_value("server", ("extra_env",), rows)
    flow.save()
    text = (state_home / "sessions" / "demo.json").read_text()
    assert canary not in text and "canary-marked-5e5e" not in text and '"ENABLE_REGISTRY_UI"' in text
    assert flow.value("server", ("extra_env",)) == rows  # shown to the editor with the values (its Input hides them)
    assert sorted(flow.flush_secrets("server")) == ["server.extra_env.GORILLA_API_TOKEN", "server.extra_env.LDAP_BIND_PW"]
    assert keyring.get("demo", "server.extra_env.GORILLA_API_TOKEN") == canary
    inputs = render.container_inputs(flow.build_config())
    assert inputs.environment()["GORILLA_API_TOKEN"] == canary and "GORILLA_API_TOKEN" in inputs.secret_names
    assert render.container_inputs(flow.build_config(), render.placeholder).environment()["LDAP_BIND_PW"] == \
        "${SERVER_EXTRA_ENV_LDAP_BIND_PW}"
    assert canary not in str(flow.review().inputs)
    [server] = [section for section in flow.review().sections if section.step == "server"]
    extra = next(row.value for row in server.rows if row.label == "Extra environment")
    assert extra == f"GORILLA_API_TOKEN={MASK}, ENABLE_REGISTRY_UI=true, LDAP_BIND_PW={MASK}"  # once in clear

    # Reopened, the value comes back from the keyring.
    flow.close()
    flow = WizardFlow.open("demo", store=store, clock=fixed_clock)
    flow.attach_secrets(keyring)
    assert flow.value("server", ("extra_env",))[0] == {"name": "GORILLA_API_TOKEN", "value": canary}
    assert "server.extra_env.GORILLA_API_TOKEN" in draft.secret_ids_for(flow.session.values)

    # Renamed and unmarked: the old entries go, the plain value stays in the session (it is no secret now).
    flow.set_value("server", ("extra_env",), [{"name": "GORILLA_API_SECRET", "value": canary},
                                              {"name": "LDAP_BIND_PW", "value": "plain-now", "secret": False}])
    flow.flush_secrets("server")
    assert keyring.get("demo", "server.extra_env.GORILLA_API_TOKEN") is None
    assert keyring.get("demo", "server.extra_env.LDAP_BIND_PW") is None
    assert keyring.get("demo", "server.extra_env.GORILLA_API_SECRET") == canary
    flow.save()
    assert "plain-now" in (state_home / "sessions" / "demo.json").read_text()
    flow.close()
    keyring.delete_all("demo", ["server.extra_env.GORILLA_API_SECRET"])


def test_the_flow_package_names_load_with_their_module():
    import wizard.flow as flow

    assert sorted(flow.__all__) == sorted(flow._HOMES)
    assert all(getattr(flow, name) is not None for name in flow.__all__)
    with pytest.raises(AttributeError):
        flow.not_a_name  # noqa: B018 (the attribute access is the test)


def test_the_cli_starts_the_ui_through_its_named_entry_point():
    import importlib

    from screens.app import run_wizard
    from wizard.cli.interactive import UI_ENTRY

    module, function = UI_ENTRY
    assert getattr(importlib.import_module(module), function) is run_wizard
