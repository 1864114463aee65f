"""Answers files: parsing with line numbers, secret references, every provider mix, round trips."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from wizard import answers, draft, render
from wizard.providers.cognito import CognitoSSO
from wizard.providers.gcs import GcsStorage
from wizard.suggested_host import default_url
from tests.jws import make_license

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "answers-example.toml"


def write(tmp_path: Path, text: str, name: str = "answers.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def errors_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(answers.AnswersInvalid) as caught:
        answers.load(path, **kwargs)
    return [error.format(path.name) for error in caught.value.errors]


def test_the_shipped_example_loads_and_renders(tmp_path, monkeypatch):
    license = make_license()
    monkeypatch.setenv("WANDB_LICENSE", license)
    monkeypatch.setenv("WANDB_MYSQL_PASSWORD", "my$ql pass#1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    secret_file = tmp_path / ".config" / "wandb" / "redis-password"
    secret_file.parent.mkdir(parents=True)
    secret_file.write_text("redis-pass\n")
    parsed, cfg, secrets = answers.load(EXAMPLE)
    env = render.environment_dict(cfg)
    assert parsed.session == "example"
    assert env["HOST"] == "https://wandb.example.com"
    assert env["LICENSE"] == license
    assert env["OIDC_ISSUER"] == "https://example.okta.com" and env["OIDC_AUTH_METHOD"] == "implicit"
    assert env["BUCKET"] == "s3://acme-wandb-files" and env["BUCKET_QUEUE"] == "sqs://acme-wandb-file-events"
    assert env["MYSQL"] == "mysql://wandb_local:my%24ql%20pass%231@mysql.example.internal:3306/wandb_local?tls=preferred"
    assert env["REDIS"] == "redis://wandb:redis-pass@redis.example.internal:6379?tls=true&ttlInSeconds=604800"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"
    assert env["AWS_SECRET_ACCESS_KEY"] == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert env["GORILLA_DISABLE_PERSONAL_ENTITY"] == "true"
    assert secrets == {"license.key": license, "database.mysql.password": "my$ql pass#1", "cache.redis.password": "redis-pass",
                       "storage.s3.secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def test_every_setting_of_the_example_is_a_real_setting():
    # Commented-out alternatives aside, the example must use only keys the parser knows (parse raises otherwise).
    parsed = answers.parse(EXAMPLE)
    assert set(parsed.values) == {"license", "host", "sso", "storage", "database", "cache", "slack", "server"}


PROVIDER_MIXES = {
    "defaults": ("", {"HOST": default_url()}),
    "s3-compatible": (
        """
        [storage]
        provider = "s3-compatible"
        endpoint = "minio.internal:9000"
        bucket = "wandb"
        access_key = "minio"
        secret_key = "env:T_MINIO_SECRET"
        """,
        {"BUCKET": "s3://minio:s3cr%2Ft@minio.internal:9000/wandb?region=us-east-1&tls=true", "BUCKET_QUEUE": "internal://"},
    ),
    "gcs-cognito": (
        """
        [sso]
        provider = "cognito"
        user_pool_id = "eu-west-1_AbC123"
        client_id = "abc"
        [storage]
        provider = "gcs"
        bucket = "acme-wandb"
        instance_account = true
        project = "acme-project"
        topic = "wandb-files"
        subscription = "wandb-files-sub"
        """,
        {"OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", "OIDC_AUTH_METHOD": "pkce",
         "BUCKET": "gs://acme-wandb", "BUCKET_QUEUE": "pubsub:/acme-project/wandb-files/wandb-files-sub"},
    ),
    "azure-oidc-slack": (
        """
        [sso]
        provider = "oidc"
        issuer = "https://login.example.com/realms/wandb/"
        client_id = "wandb"
        auth_method = "pkce"
        [storage]
        provider = "azure"
        account = "acmewandb"
        container = "files"
        queue = "file-events"
        account_key = "env:T_AZURE_KEY"
        [slack]
        client_id = "1234567890.9876543210"
        secret = "env:T_SLACK_SECRET"
        """,
        {"OIDC_ISSUER": "https://login.example.com/realms/wandb/", "BUCKET": "az://acmewandb/files",
         "BUCKET_QUEUE": "az://acmewandb/file-events", "AZURE_STORAGE_ACCOUNT": "acmewandb",
         "AZURE_STORAGE_KEY": "azkey==", "SLACK_CLIENT_ID": "1234567890.9876543210",
         "SLACK_SECRET": "0123456789abcdef0123456789abcdef"},
    ),
}


@pytest.mark.parametrize("mix", PROVIDER_MIXES)
def test_provider_mixes_in_toml_and_yaml(tmp_path, monkeypatch, mix):
    monkeypatch.setenv("T_MINIO_SECRET", "s3cr/t")
    monkeypatch.setenv("T_AZURE_KEY", "azkey==")
    monkeypatch.setenv("T_SLACK_SECRET", "0123456789abcdef0123456789abcdef")
    text, expected = PROVIDER_MIXES[mix]
    toml_path = write(tmp_path, text)
    _, cfg, _ = answers.load(toml_path)
    env = render.environment_dict(cfg)
    for name, value in expected.items():
        assert env[name] == value
    # The same answers as YAML give the same environment.
    import tomllib

    import yaml

    yaml_path = tmp_path / "answers.yaml"
    yaml_path.write_text(yaml.safe_dump(tomllib.loads(toml_path.read_text())))
    _, cfg_yaml, _ = answers.load(yaml_path)
    assert render.environment_dict(cfg_yaml) == env


def test_unknown_section_and_key_suggest_the_closest(tmp_path):
    path = write(tmp_path, """
        [hots]
        url = "http://x"
        [storage]
        provider = "s3"
        buckt = "b"
        """)
    with pytest.raises(answers.AnswersInvalid) as caught:
        answers.parse(path)
    lines = [error.format("answers.toml") for error in caught.value.errors]
    assert lines == [
        "answers.toml:1: hots: is not a known section (did you mean 'host'?)",
        "answers.toml:5: storage.buckt: is not a setting of storage with provider s3 (did you mean 'bucket'?)",
    ]


def test_a_key_of_another_provider_is_named(tmp_path):
    path = write(tmp_path, """
        [storage]
        provider = "azure"
        bucket = "b"
        """)
    with pytest.raises(answers.AnswersInvalid) as caught:
        answers.parse(path)
    message = caught.value.errors[0].format("a")
    assert "a:3: storage.bucket: is not a setting of storage with provider azure" in message
    assert "belongs to provider" in message and "s3" in message


def test_unknown_provider(tmp_path):
    path = write(tmp_path, """
        [database]
        provider = "postgres"
        """)
    assert errors_of(path) == [
        "answers.toml:2: database.provider: 'postgres' is not a choice here: expected one of embedded, mysql"
    ]


def test_wrong_types_and_bad_values_have_their_lines(tmp_path):
    path = write(tmp_path, """
        [host]
        url = "wandb.example.com"

        [server]
        port = "eighty"
        logging_enabled = "maybe"
        restart_policy = "sometimes"
        """)
    found = errors_of(path)
    assert found[0].startswith("answers.toml:2: host.url: Server URL: 'wandb.example.com' has no scheme")
    assert found[1].startswith("answers.toml:5: server.port: Published port: 'eighty' is not a whole number")
    assert found[2] == "answers.toml:6: server.logging_enabled: Access logs to stdout: expected yes or no (true/false)"
    assert found[3].startswith("answers.toml:7: server.restart_policy: Restart policy: 'sometimes' is not accepted")


def test_literal_secret_is_refused_unless_allowed(tmp_path):
    path = write(tmp_path, """
        [database]
        provider = "mysql"
        host = "db"
        password = "hunter2"
        """)
    found = errors_of(path)
    assert found == ["answers.toml:4: database.password: holds a literal secret: use env:NAME, file:PATH or keyring: "
                     "(or pass --allow-inline-secrets)"]
    assert "hunter2" not in found[0]
    _, cfg, _ = answers.load(path, allow_inline=True)
    assert cfg.database.password.get_secret_value() == "hunter2"


def test_secret_references(tmp_path, monkeypatch):
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("T_PW", "from-env")
    path = write(tmp_path, f"""
        [database]
        provider = "mysql"
        host = "db"
        password = "file:{secret_file}"
        [cache]
        provider = "redis"
        host = "r"
        password = "env:T_PW"
        """)
    _, cfg, secrets = answers.load(path)
    assert secrets == {"database.mysql.password": "from-file", "cache.redis.password": "from-env"}


def test_broken_references(tmp_path, monkeypatch):
    monkeypatch.delenv("T_UNSET", raising=False)
    (tmp_path / "empty").write_text("\n")
    path = write(tmp_path, f"""
        [license]
        key = "env:T_UNSET"
        [database]
        provider = "mysql"
        host = "db"
        password = "file:{tmp_path}/missing"
        [cache]
        provider = "redis"
        host = "r"
        password = "file:{tmp_path}/empty"
        [slack]
        client_id = "1.2"
        secret = "keyring:"
        """)
    found = errors_of(path)
    assert found[0] == "answers.toml:2: license.key: the environment variable T_UNSET is not set or empty"
    assert found[1].startswith("answers.toml:6: database.password: ") and found[1].endswith("missing does not exist")
    assert found[2] == f"answers.toml:10: cache.password: {tmp_path}/empty is empty"
    assert found[3].startswith("answers.toml:13: slack.secret: keyring: needs a session")


def test_keyring_reference_reads_the_session_entry(tmp_path):
    path = write(tmp_path, """
        [database]
        provider = "mysql"
        host = "db"
        password = "keyring:"
        """)
    asked = []

    def keyring_get(secret_id):
        asked.append(secret_id)
        return "from-keyring"

    _, cfg, _ = answers.load(path, keyring_get=keyring_get)
    assert asked == ["database.mysql.password"]
    assert cfg.database.password.get_secret_value() == "from-keyring"


def test_invalid_toml_and_yaml_syntax_give_a_line(tmp_path):
    toml_path = write(tmp_path, """
        [host]
        url = "http://x
        """)
    assert errors_of(toml_path)[0].startswith("answers.toml:2: is not valid TOML")
    yaml_path = write(tmp_path, "host:\n  url: [unclosed\nserver: {}\n", "answers.yaml")
    assert errors_of(yaml_path)[0].startswith("answers.yaml:")
    assert "is not valid YAML" in errors_of(yaml_path)[0]


def test_yaml_lines_point_at_the_value(tmp_path):
    path = write(tmp_path, """
        host:
          url: "http://localhost:8080"
        storage:
          provider: gcs
          bucket: "goog-files"
        """, "answers.yaml")
    assert errors_of(path) == [
        "answers.yaml:5: storage.bucket: Bucket: 'goog-files' is not allowed: bucket names must not start with "
        "'goog' or contain 'google'"
    ]


def test_wrong_file_kind(tmp_path):
    path = write(tmp_path, "x", "answers.ini")
    assert "expected a .toml, .yaml or .yml file" in errors_of(path)[0]


def test_session_answers_round_trip(tmp_path):
    """A draft written as an answers file reads back to the same draft; secrets become keyring: references."""
    values = {
        "host": {"url": "https://w.example.com"},
        "sso": {"provider": "cognito", "cognito": {"user_pool_id": "us-east-1_Abc", "client_id": "c\"q"},
                "okta": {"issuer": "https://ignored.okta.com"}},
        "storage": {"provider": "gcs", "gcs": {"bucket": "acme-files", "project": "acme-project", "topic": "t-files",
                                               "subscription": "s-files", "instance_account": True}},
        "database": {"provider": "mysql", "mysql": {"host": "db", "port": 3307, "tls": "required"}},
        "server": {"port": 9000, "logging_enabled": True,
                   "extra_env": [{"name": "GORILLA_A", "value": "x = \"y\" $z #w ü"},
                                 {"name": "GORILLA_API_TOKEN", "value": ""},
                                 {"name": "LDAP_BIND_PW", "value": "", "secret": True}]},
    }
    text = answers.to_toml(values, "prod", {"database.mysql.password", "server.extra_env.GORILLA_API_TOKEN",
                                            "server.extra_env.LDAP_BIND_PW"})
    assert 'password = "keyring:"' in text
    assert text.count('value = "keyring:"') == 2 and "secret = true" in text
    path = tmp_path / "out.toml"
    path.write_text(text)
    parsed = answers.parse(path)
    assert parsed.session == "prod"
    assert parsed.secret_refs == {"database.mysql.password": "keyring:", "server.extra_env.GORILLA_API_TOKEN": "keyring:",
                                  "server.extra_env.LDAP_BIND_PW": "keyring:"}
    secrets = {"database.mysql.password": "pw", "server.extra_env.GORILLA_API_TOKEN": "tok-canary",
               "server.extra_env.LDAP_BIND_PW": "bind-canary"}
    expected = render.environment_dict(draft.build_config(values, secrets))
    _, cfg, _ = answers.load(path, keyring_get=secrets.get)
    assert render.environment_dict(cfg) == expected
    assert isinstance(cfg.sso, CognitoSSO) and isinstance(cfg.storage, GcsStorage)


def test_a_secret_extra_option_takes_a_reference_not_a_literal(tmp_path, monkeypatch):
    path = tmp_path / "answers.toml"
    path.write_text('[[server.extra_env]]\nname = "GORILLA_API_TOKEN"\nvalue = "literal-canary-7a7a"\n')
    with pytest.raises(answers.AnswersInvalid) as refused:
        answers.load(path)
    assert "server.extra_env.GORILLA_API_TOKEN" in str(refused.value) and "literal secret" in str(refused.value)
    assert "literal-canary-7a7a" not in str(refused.value)
    monkeypatch.setenv("T_EXTRA", "from-env-canary")
    path.write_text('[[server.extra_env]]\nname = "GORILLA_API_TOKEN"\nvalue = "env:T_EXTRA"\n'
                    '[[server.extra_env]]\nname = "ENABLE_REGISTRY_UI"\nvalue = "true"\n')
    parsed, cfg, secrets = answers.load(path)
    assert render.environment_dict(cfg)["GORILLA_API_TOKEN"] == "from-env-canary"
    assert secrets == {"server.extra_env.GORILLA_API_TOKEN": "from-env-canary"}
    assert parsed.values["server"]["extra_env"][0] == {"name": "GORILLA_API_TOKEN", "value": ""}


def test_cognito_takes_pkce_and_refuses_implicit_with_the_reason(tmp_path):
    path = tmp_path / "answers.toml"
    base = '[sso]\nprovider = "cognito"\nuser_pool_id = "us-east-1_AbC123xyz"\nclient_id = "4v8fexample"\n'
    path.write_text(base + 'auth_method = "pkce"\n')
    _, cfg, _ = answers.load(path)
    assert cfg.sso.auth_method == "pkce"
    path.write_text(base + 'auth_method = "implicit"\n')
    with pytest.raises(answers.AnswersInvalid) as refused:
        answers.load(path)
    text = str(refused.value)
    assert ":5:" in text and "sso.auth_method" in text and "Cognito always uses pkce" in text
    assert "not a setting" not in text


# --- hostile answers files (issue: /dev/zero as a secret took the machine's memory; YAML aliases expanded to GBs) --


def _quick(check, seconds: float = 2.0):
    """Run `check`, and say if it took longer than a refusal should (an endless read or expansion would time out
    the test instead)."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = check()
    assert time.monotonic() - started < seconds
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: nothing was expanded
    return result


@pytest.mark.parametrize("target, why", [
    ("/dev/zero", "/dev/zero is not a regular file (/dev/zero is a device or kernel file)"),
    ("/dev/urandom", "/dev/urandom is not a regular file (/dev/urandom is a device or kernel file)"),
    ("/proc/self/environ", "/proc/self/environ is not a regular file (/proc/"),
    ("{fifo}", "{fifo} is not a regular file (a device, FIFO or socket)"),
])
def test_a_secret_file_must_be_a_small_regular_file(tmp_path, target, why):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = write(tmp_path, f"""
        [database]
        provider = "mysql"
        host = "db"
        password = "file:{target.format(fifo=fifo)}"
        """)
    (found,) = _quick(lambda: errors_of(path))
    assert found.startswith(f"answers.toml:4: database.password: {why.format(fifo=fifo)}"), found


def test_yaml_anchors_and_aliases_are_refused_before_they_expand(tmp_path):
    laughs = ["lol0: &l0 [lol]"] + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 12)]
    path = write(tmp_path, "\n".join(["host:", "  url: http://10.0.0.5:8080", *laughs]) + "\n", "answers.yaml")
    (found,) = _quick(lambda: errors_of(path))
    assert found == "answers.yaml:3: uses a YAML anchor or alias (&name, *name): write each value out"
    merged = write(tmp_path, "base: &b {port: 8080}\nserver:\n  <<: *b\n", "merged.yaml")
    assert errors_of(merged) == ["merged.yaml:1: uses a YAML anchor or alias (&name, *name): write each value out"]


@pytest.mark.parametrize("name, text", [
    ("deep.yaml", "server:\n  extra_env: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("deep.toml", "[server]\nextra_env = " + "[" * 5000 + "]" * 5000 + "\n"),
    ("deep-tables.toml", "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"),
])
def test_deep_nesting_is_refused_not_a_crash(tmp_path, name, text):
    path = write(tmp_path, text, name)
    (found,) = _quick(lambda: errors_of(path))
    assert "is nested more than 12 levels deep" in found and "RecursionError" not in found, found


def test_duplicate_yaml_keys_are_refused_as_toml_refuses_them(tmp_path):
    path = write(tmp_path, """
        host:
          url: http://10.0.0.5:8080
        server:
          port: 8080
          port: 9090
        host:
          url: http://10.0.0.6:8080
        """, "answers.yaml")
    assert errors_of(path) == [
        "answers.yaml:5: server.port: is given twice (first on line 4): keep one",
        "answers.yaml:6: host: is given twice (first on line 1): keep one",
    ]


def test_an_answers_file_that_is_a_device_or_too_large_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    (found,) = errors_of(big)
    assert found.startswith("big.toml: cannot be read: ") and "more than the 1024 KiB" in found, found
    with pytest.raises(answers.AnswersInvalid) as caught:
        _quick(lambda: answers.load("/dev/zero"))
    assert caught.value.errors[0].message == ("cannot be read: /dev/zero is not a regular file (/dev/zero is a device "
                                              "or kernel file)")


def test_control_characters_are_refused_on_every_field_with_its_name(tmp_path, monkeypatch):
    # A line break in sso.client_id once reached the env export as an extra `LICENSE=evil` line.
    monkeypatch.setenv("T_DB_PASSWORD", "pass\x1b]0;owned\x07word")
    path = write(tmp_path, """
        [host]
        url = "http://wandb.example.com\\r\\n:8080"
        [sso]
        provider = "oidc"
        issuer = "https://idp.example.com/\\u001b[2J"
        client_id = "wandb\\nLICENSE=evil"
        [database]
        provider = "mysql"
        host = "db"
        password = "env:T_DB_PASSWORD"
        [server]
        container_name = "wandb\\u001b[31m"
        """)
    found = errors_of(path)
    tail = ": a setting is one line of printable text (type or paste it again, without line breaks or escape sequences)"
    assert found == [
        f"answers.toml:2: host.url: Server URL: contains a carriage return{tail}",
        f"answers.toml:5: sso.issuer: Issuer: contains an escape character (ESC){tail}",
        f"answers.toml:6: sso.client_id: Client ID: contains a line break{tail}",
        f"answers.toml:10: database.password: Password: contains an escape character (ESC){tail}",
        f"answers.toml:12: server.container_name: Container name: contains an escape character (ESC){tail}",
    ], found
    assert not any("\x1b" in line or "evil" in line for line in found)  # the value itself is never echoed
