"""The launcher's pure parts: spec checks, config hash, masking, the credentials parser, the import cost."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.services.standin_image import RESTORE_LINE, RESTORE_USER
from wizard.launcher import (
    MASK,
    InvalidSpec,
    LaunchSpec,
    config_hash,
    dry_run,
    find_credentials,
    labels,
    mask_value,
    masked_environment,
    redact,
    secret_values,
)

ENV = {"HOST": "https://wandb.example.com", "LICENSE": "aaa.bbb.ccc",
       "MYSQL": "mysql://wandb:p%40ss%3Aword@db:3306/wandb", "BUCKET": "s3://AKIAKEY:sEcReT%2Fkey@minio:9000/b?region=x",
       "SLACK_SECRET": "0123456789abcdef0123456789abcdef"}


def test_config_hash_is_stable_changes_with_any_setting_and_holds_no_secret():
    spec = LaunchSpec(environment=ENV, secret_names={"LICENSE", "MYSQL"})
    same = LaunchSpec(environment=dict(reversed(list(ENV.items()))), secret_names={"LICENSE", "MYSQL"})
    assert config_hash(spec) == config_hash(same)
    assert config_hash(spec).startswith("sha256:") and len(config_hash(spec)) == 7 + 64
    assert config_hash(spec) != config_hash(LaunchSpec(environment=ENV, port=8081))
    assert config_hash(spec) != config_hash(spec.with_environment(MYSQL="mysql://wandb:p%40ss%3Aword@db2:3306/wandb"))
    # No secret value enters it (an unsalted hash of them let a guessed password be confirmed offline): a secret
    # changed alone gives the same label.
    assert config_hash(spec) == config_hash(spec.with_environment(LICENSE="aaa.bbb.ccd"))
    assert config_hash(spec) == config_hash(spec.with_environment(MYSQL="mysql://wandb:other@db:3306/wandb"))
    assert config_hash(spec) == config_hash(spec.with_environment(SLACK_SECRET="f" * 32))
    assert all(secret not in value for value in labels(spec).values() for secret in ENV.values() if secret != ENV["HOST"])


def test_masking_keeps_url_shape_and_hides_every_secret():
    shown = masked_environment(ENV, {"LICENSE", "MYSQL", "BUCKET"})
    assert shown == {
        "HOST": "https://wandb.example.com",
        "LICENSE": MASK,
        "MYSQL": f"mysql://wandb:{MASK}@db:3306/wandb",
        "BUCKET": f"s3://AKIAKEY:{MASK}@minio:9000/b?{MASK}",
        "SLACK_SECRET": MASK,  # secret by name even if the spec forgot to say so
    }
    # A URL with a password is masked even under a name nobody declared secret.
    assert masked_environment({"GORILLA_X": "redis://u:pw123456@h:6379"}) == {"GORILLA_X": f"redis://u:{MASK}@h:6379"}
    assert mask_value("plain") == MASK
    secrets = secret_values(ENV, {"LICENSE", "MYSQL", "BUCKET"})
    for raw in ("p@ss:word", "p%40ss%3Aword", "sEcReT/key", "aaa.bbb.ccc"):
        assert raw in secrets
    text = "connecting with p@ss:word and sEcReT%2Fkey, license aaa.bbb.ccc"
    assert redact(text, secrets) == f"connecting with {MASK} and {MASK}, license {MASK}"


def test_repr_of_a_spec_never_shows_the_environment():
    assert "aaa.bbb.ccc" not in repr(LaunchSpec(environment=ENV))


@pytest.mark.parametrize("fields, error", [
    ({"port": 0}, "port"), ({"port": 70000}, "port"), ({"restart_policy": "sometimes"}, "restart policy"),
    ({"volume": "/"}, "volume"), ({"volume": "relative/path"}, "volume"), ({"container_name": "-bad"}, "container"),
    ({"tag": "a:b"}, "tag"), ({"environment": {"A=B": "x"}}, "environment"),
])
def test_an_impossible_spec_is_refused_with_the_field_named(fields, error):
    with pytest.raises(InvalidSpec) as raised:
        LaunchSpec(**fields)
    assert str(raised.value).startswith(error)


def test_dry_run_covers_every_action_without_secrets():
    spec = LaunchSpec(environment=ENV, secret_names={"LICENSE", "MYSQL", "BUCKET"}, host_url=ENV["HOST"])
    for action in ("launch", "reconfigure", "upgrade", "recover", "end-recovery", "destroy"):
        text = "\n".join(line for op in dry_run(spec, action) for line in op.describe())
        for secret in secret_values(ENV, spec.secret_names):
            assert secret not in text
    recover = "\n".join(line for op in dry_run(spec, "recover") for line in op.describe())
    assert "LOCAL_RESTORE=true" in recover
    with pytest.raises(ValueError):
        dry_run(spec, "explode")


def test_credentials_parser_reads_the_stand_in_line_and_other_plausible_wordings():
    line = RESTORE_LINE.format(password="0a1b2c3d4e5f")
    found = find_credentials(["*** Migrating database...", line, "*** All services started"])
    assert (found.user, found.password, found.line) == (RESTORE_USER, "0a1b2c3d4e5f", line)
    for text, user, password in [
        ("*** Temporary credentials: user=admin password=Xy7-pq", "admin", "Xy7-pq"),
        ("Restore user: restore@wandb.com  Password: 'abc123DEF'", "restore@wandb.com", "abc123DEF"),
        ("LOCAL_RESTORE: your temporary password is hunter22", None, "hunter22"),
        ('{"level":"info","msg":"restore","username":"local","password":"s3cr3t"}', "local", "s3cr3t"),
    ]:
        found = find_credentials([text])
        assert (found.user, found.password) == (user, password), text
    assert find_credentials(["Change your password after logging in", "*** All services started"]) is None
    assert "0a1b2c3d4e5f" not in repr(find_credentials([line]))


def test_importing_the_launcher_imports_neither_docker_nor_textual():
    code = ("import sys, wizard.launcher; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'docker', 'textual', 'requests', 'urllib3'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
