"""The Kubernetes exports (wizard.kubernetes) against W&B's own chart values and operator CRD.

The reference copies in ../shared/reference/k8s (operator-wandb's values.yaml and Chart.yaml, the
apps.wandb.com WeightsAndBiases CRD: data from W&B's public repositories) are loaded here at run time, never copied
into the project. Under CI=true a missing reference file fails these tests.

The configurations are the ones the container's golden tests use (tests/unit/test_render.py CASES). Golden files
tests/unit/golden/operator/<case>.yaml hold the values, the Secrets named (keys only) and what the chart cannot
express; rewrite them with UPDATE_GOLDEN=1 and review the diff against the chart's templates.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from tests.unit.test_render import CASES, SECRET_VALUES, UPDATE, build
from wizard import exports
from wizard import kubernetes as k8s
from wizard.render import environment_dict

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "k8s"
GOLDEN = Path(__file__).parent / "golden" / "operator"
pytestmark = pytest.mark.usefixtures("ssh_connection")  # the default HOST is the same on every machine


def _reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the reference file {path} is missing: the operator exports cannot be checked")
        pytest.skip(f"no reference file {path}")
    return path


@pytest.fixture(scope="module")
def chart_values_yaml() -> dict[str, Any]:
    return yaml.safe_load(_reference("operator-wandb.values.yaml").read_text())


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(_reference("apps.wandb.com_weightsandbiases.crd.yaml").read_text())
    group, version = k8s.API_VERSION.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == k8s.KIND
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert served["served"], f"{k8s.API_VERSION} is not served by the operator's CRD"
    return served["schema"]["openAPIV3Schema"]


def _ca_placeholder(source: str, setting: str) -> str:
    return f"-----BEGIN CERTIFICATE----- (the content of {source}) -----END CERTIFICATE-----\n"


def _chart(name: str, with_secrets: bool = False) -> k8s.ChartValues:
    return k8s.chart_values(build(name), with_secrets, read=_ca_placeholder)


@pytest.fixture
def ca_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases name CA files of machines that are not this one: exports read placeholders instead."""
    monkeypatch.setattr(k8s, "read_file", _ca_placeholder)


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out += _leaves(value, prefix + (key,))
        else:
            out.append((prefix + (key,), value))
    return out


# Maps whose keys the chart does not list: each is a variable name, or a connection parameter.
FREE_MAPS = {("global", "extraEnv"), ("app", "env"), ("global", "redis", "params")}


def _reference_for(values: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, the chart's default) for `path`; free maps take any key."""
    if path[:2] == ("global", "bucket") and path[2] != "secret":
        # The templates read global.bucket.{name,provider,path,region,kmsKey} (_bucket.tpl: "if .Values.global.bucket
        # .name") though values.yaml lists only global.bucket.secret; the keys are those of global.defaultBucket.
        path = ("global", "defaultBucket") + path[2:]
    node: Any = values
    for depth, key in enumerate(path):
        if path[:depth] in FREE_MAPS:
            return True, None
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _compatible(ours: Any, default: Any) -> bool:
    if default is None or default == "":
        return not isinstance(ours, (list, tuple))  # unset in the chart: a scalar or a map
    if isinstance(default, bool) or isinstance(ours, bool):
        return isinstance(ours, bool) and isinstance(default, bool)
    if isinstance(default, dict):
        return isinstance(ours, dict)
    return isinstance(ours, type(default)) or (isinstance(default, (int, float)) and isinstance(ours, (int, float)))


@pytest.mark.parametrize("name", CASES)
def test_every_key_the_export_writes_is_the_charts_with_a_compatible_type(name, chart_values_yaml):
    chart = _chart(name, with_secrets=True)
    problems = []
    for path, value in _leaves(chart.values):
        found, default = _reference_for(chart_values_yaml, path)
        if not found:
            problems.append(f"{'.'.join(path)}: not a key of operator-wandb's values")
        elif not _compatible(value, default):
            problems.append(f"{'.'.join(path)}: {type(value).__name__} where the chart has {default!r}")
    for parent in FREE_MAPS:  # what goes into a free map is a variable (or parameter) of text
        node: Any = chart.values
        for key in parent:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        for key, value in node.items():
            if parent == ("app", "env") and isinstance(value, dict):  # the server's container: a Secret's key
                ok = set(value) == {"valueFrom"} and set(value["valueFrom"]) == {"secretKeyRef"} \
                    and set(value["valueFrom"]["secretKeyRef"]) == {"name", "key"}
            else:
                ok = isinstance(value, str)
            if not ok:
                problems.append(f"{'.'.join(parent + (key,))}: {value!r} is not what the chart renders there")
    assert not problems, "\n".join(problems)


def test_the_key_check_itself_refuses_what_the_chart_does_not_have(chart_values_yaml):
    """The check above is not vacuous: the old `helm` export's keys, and a map where a string goes, are found."""
    assert _reference_for(chart_values_yaml, ("webservice", "image", "repository")) == (False, None)
    assert _reference_for(chart_values_yaml, ("global", "redis", "host"))[0]
    assert not _compatible({"install": False}, chart_values_yaml["global"]["redis"]["host"] or "x")
    assert not _compatible("3306", chart_values_yaml["global"]["mysql"]["port"])
    assert _compatible(3307, chart_values_yaml["global"]["mysql"]["port"])


@pytest.mark.parametrize("name", CASES)
def test_the_resource_validates_against_the_operators_crd(name, crd_schema, tmp_path, ca_files):
    import jsonschema

    files = exports.build(build(name), "operator", tmp_path / "wandb-operator.yaml", False, namespace="wandb-prod")
    docs = [doc for doc in yaml.safe_load_all(files[0].text) if doc]
    kinds = [doc["kind"] for doc in docs]
    assert kinds == ["Namespace", k8s.KIND]
    (resource,) = [doc for doc in docs if doc["kind"] == k8s.KIND]
    jsonschema.validate(resource, crd_schema)
    assert resource["apiVersion"] == k8s.API_VERSION and resource["metadata"]["namespace"] == "wandb-prod"
    assert resource["spec"]["values"] == _chart(name).values


def test_the_crd_check_itself_refuses_a_wrong_resource(crd_schema):
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"apiVersion": k8s.API_VERSION, "kind": k8s.KIND, "metadata": {"name": "wandb"},
                             "spec": {"values": "global.host=x"}}, crd_schema)


@pytest.mark.parametrize("name", CASES)
def test_every_manifest_passes_kubernetes_validate(name, tmp_path, ca_files):
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    files = exports.build(build(name), "operator", tmp_path / "wandb-operator.yaml", True)
    docs = [doc for item in files if item.path.suffix == ".yaml" for doc in yaml.safe_load_all(item.text) if doc]
    checked = []
    for doc in docs:
        if doc["kind"] == k8s.KIND:
            continue  # a custom resource: validated against the operator's CRD above
        kubernetes_validate.validate(doc, version, strict=True)
        checked.append(doc["kind"])
    assert checked.count("Namespace") == 1
    assert checked.count("Secret") == len(k8s.secret_data(_chart(name)))
    with pytest.raises(kubernetes_validate.ValidationError):  # the validator is strict
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
                                      "stringDatta": {}}, version, strict=True)


@pytest.mark.parametrize("fmt", ["operator-values", "operator"])
@pytest.mark.parametrize("name", CASES)
def test_no_secret_in_an_export_made_without_secrets(name, fmt, tmp_path, ca_files):
    out = tmp_path / "k8s" / "wandb.yaml"
    files = exports.build(build(name), fmt, out, False)
    exports.write(files)
    written = {path: path.read_text() for path in out.parent.iterdir()}
    assert set(written) == {item.path for item in files}
    everything = "\n".join(written.values()) + "\n".join(note for item in files for note in item.notes)
    leaked = [secret for secret in SECRET_VALUES if secret in everything or quote(secret, safe="") in everything]
    assert not leaked
    for item in files:
        assert not item.secret and stat.S_IMODE(item.path.stat().st_mode) & 0o044  # nothing to hide: readable


@pytest.mark.parametrize("name", [n for n, (_, secrets) in CASES.items() if secrets])
def test_with_secrets_they_are_only_in_the_0600_secrets_file(name, tmp_path, ca_files):
    out = tmp_path / "wandb-operator-values.yaml"
    files = exports.build(build(name), "operator-values", out, True)
    exports.write(files)
    values, *beside = files
    assert not values.secret and not any(s in values.text for s in SECRET_VALUES)
    (secrets,) = beside
    assert secrets.secret and secrets.path == tmp_path / "wandb-operator-values-secrets.yaml"
    assert stat.S_IMODE(secrets.path.stat().st_mode) == 0o600
    shown = {key: value for doc in yaml.safe_load_all(secrets.text) if doc for key, value in doc["stringData"].items()}
    typed = dict(CASES[name][1])
    if name.startswith("s3_compatible"):  # the access key is no secret in the wizard, but the chart's Secret holds it
        typed["storage.s3_compatible.access_key"] = build(name).storage.access_key
    items = _chart(name, with_secrets=True).secrets
    assert items and {item.setting for item in items} <= set(typed)
    for item in items:
        assert shown[item.key] == (quote(typed[item.setting], safe="") if item.url_encoded else typed[item.setting])


def test_the_server_gets_the_same_urls_as_the_docker_container():
    """The chart assembles MYSQL, REDIS and BUCKET itself (its templates: mysql://$(MYSQL_USER):$(MYSQL_PASSWORD)@
    $(MYSQL_HOST):$(MYSQL_PORT)/$(MYSQL_DATABASE)?tls=preferred, redis://:$(REDIS_PASSWORD)@host:port?params,
    s3://$(BUCKET_ACCESS_KEY):$(BUCKET_SECRET_KEY)@$(BUCKET_NAME)/$(BUCKET_PATH)). Filled with the values and the
    Secrets exported, they are the URLs the Docker container gets, secrets with URL-special characters included."""
    chart = _chart("mysql_preferred_redis_user_tls", with_secrets=True)
    env = environment_dict(build("mysql_preferred_redis_user_tls"))
    mysql, secret = chart.values["global"]["mysql"], {(s.secret, s.key): s.value for s in chart.secrets}
    url = (f"mysql://{mysql['user']}:{secret[('wandb-mysql', 'MYSQL_PASSWORD')]}@{mysql['host']}:{mysql['port']}/"
           f"{mysql['database']}?tls=preferred")
    assert url == env["MYSQL"].replace(quote("wandb$app", safe=""), "wandb$app")  # the user: said as not carried

    chart = _chart("mysql_disabled_redis_password_only", with_secrets=True)
    env = environment_dict(build("mysql_disabled_redis_password_only"))
    redis, secret = chart.values["global"]["redis"], {(s.secret, s.key): s.value for s in chart.secrets}
    params = "&".join(f"{key}={value}" for key, value in sorted(redis["params"].items()))
    assert f"redis://:{secret[('wandb-redis', 'REDIS_PASSWORD')]}@{redis['host']}:{redis['port']}?{params}" == \
        env["REDIS"]

    chart = _chart("s3_compatible", with_secrets=True)
    env = environment_dict(build("s3_compatible"))
    bucket, secret = chart.values["global"]["bucket"], {(s.secret, s.key): s.value for s in chart.secrets}
    assert (f"s3://{secret[('wandb-bucket', 'ACCESS_KEY')]}:{secret[('wandb-bucket', 'SECRET_KEY')]}@"
            f"{bucket['name']}/{bucket['path']}") == env["BUCKET"]


@pytest.mark.parametrize("name", CASES)
def test_golden_operator_values(name):
    chart = _chart(name)
    actual = {
        "values": chart.values,
        "secrets": {secret: sorted(keys) for secret, keys in k8s.secret_data(chart).items()},
        "cannot": list(chart.cannot),
    }
    path = GOLDEN / f"{name}.yaml"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(actual, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
        pytest.skip(f"wrote {path.name}: review it against the chart's templates before committing")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert actual == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_no_stray_operator_golden_files():
    assert {path.stem for path in GOLDEN.glob("*.yaml")} == set(CASES)


def test_what_pods_cannot_reach_is_said_for_pods():
    from wizard.draft import build_config

    cfg = build_config({"database": {"provider": "mysql", "mysql": {"host": "127.0.0.1"}},
                        "cache": {"provider": "redis", "redis": {"host": "host.docker.internal"}}},
                       {"database.mysql.password": "pw"})
    cannot = k8s.chart_values(cfg).cannot
    assert any(n.startswith("database.mysql.host: 127.0.0.1 is the pod itself inside a pod") for n in cannot)
    assert any(n.startswith("cache.redis.host: host.docker.internal is Docker's name for this machine: pods cannot")
               for n in cannot)


def test_a_ca_file_that_cannot_be_read_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(exports.ExportRefused, match=r"^database\.mysql\.ca_file: /etc/ssl/rds\.pem does not exist"):
        exports.build(build("mysql_required_redis_no_auth_no_tls"), "operator-values", tmp_path / "v.yaml", False)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    from wizard.draft import build_config

    cfg = build_config({"cache": {"provider": "redis", "redis": {"host": "redis.internal", "ca_file": str(ca)}}}, {})
    (values, *_) = exports.build(cfg, "operator-values", tmp_path / "v.yaml", False)
    assert yaml.safe_load(values.text)["global"]["redis"]["caCert"] == ca.read_text()


def test_the_secrets_script_is_valid_shell_and_names_every_file(tmp_path):
    import subprocess

    files = exports.build(build("mysql_preferred_redis_user_tls"), "operator", tmp_path / "wandb-operator.yaml",
                          False, namespace="wandb-prod")
    script = next(item for item in files if item.path.suffix == ".sh")
    exports.write(files)
    assert subprocess.run(["sh", "-n", str(script.path)]).returncode == 0
    assert ("kubectl -n wandb-prod create secret generic wandb-mysql "
            "--from-file=MYSQL_PASSWORD=./wandb-mysql/MYSQL_PASSWORD") in script.text
    assert "#   ./wandb-mysql/MYSQL_PASSWORD: database.mysql.password URL-encoded" in script.text
    assert files[0].notes[-2:] == (f"create the Secrets first: sh {script.path}",
                                   f"then: kubectl apply -f {files[0].path}")


def test_a_redis_ca_goes_into_the_named_redis_secret_from_its_own_file(tmp_path):
    """Once the values name the Redis Secret (for its password), the chart mounts the CA from that Secret's
    REDIS_CA_CERT, not from global.redis.caCert: the script takes it from the admin's file, the manifests hold it."""
    import subprocess

    from wizard.draft import build_config

    ca = tmp_path / "redis ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    cfg = build_config({"cache": {"provider": "redis", "redis": {"host": "redis.internal", "tls": True,
                                                                 "ca_file": str(ca)}}},
                       {"cache.redis.password": "p@ss"})
    files = exports.build(cfg, "operator", tmp_path / "wandb-operator.yaml", False)
    script = next(item for item in files if item.path.suffix == ".sh")
    exports.write(files)
    assert f"#   REDIS_CA_CERT is read from {ca} (cache.redis.ca_file)" in script.text
    # A hand-written stand-in for kubectl (no cluster here) records the arguments the script gives it.
    bin_dir, recorded = tmp_path / "bin", tmp_path / "kubectl-args"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {recorded}\n')
    (bin_dir / "kubectl").chmod(0o755)
    run = subprocess.run(["sh", str(script.path)], cwd=tmp_path, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert run.returncode == 0
    assert recorded.read_text().splitlines() == [
        "-n", "wandb", "create", "secret", "generic", "wandb-redis",
        "--from-file=REDIS_PASSWORD=./wandb-redis/REDIS_PASSWORD", f"--from-file=REDIS_CA_CERT={ca}"]

    files = exports.build(cfg, "operator", tmp_path / "wandb-operator-private.yaml", True)
    manifests = next(item for item in files if item.path.name.endswith("-secrets.yaml"))
    (secret,) = [doc for doc in yaml.safe_load_all(manifests.text) if doc["metadata"]["name"] == "wandb-redis"]
    assert secret["stringData"] == {"REDIS_PASSWORD": "p%40ss", "REDIS_CA_CERT": ca.read_text()}
