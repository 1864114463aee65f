"""A HAND-WRITTEN MODEL of what W&B's operator chart (operator-wandb) gives its server container, for the tests:
helm cannot run here (no binary, no network), so the chart is not rendered; this follows its templates as read in
wandb/helm-charts (operator-wandb 0.43.8, charts/wandb-base/templates/_containers.tpl, operator-wandb/templates/
_env.tpl, _mysql.tpl, _redis.tpl, _bucket.tpl, _license.tpl, _oidc.tpl, _volumes.tpl) and its committed render
snapshots. Only what the W&B server reads is modelled:

- envFrom, loaded first: the chart's ConfigMaps (HOST, REDIS_HOST/PORT/PARAMS, BUCKET_NAME/PATH, AWS_REGION,
  AWS_S3_KMS_ID, OIDC_*) and its global Secret (SLACK_CLIENT_ID, SLACK_SECRET from global.slack);
- then the env list in the chart's order: its helper entries (bucket, MySQL, Redis, license, OIDC secret), then
  the merged map app.env > app.extraEnv > global.env > global.extraEnv, sorted by name; a helper entry whose name is
  in the map is left out (the map's wins). `global.extraEnvFrom` is NOT read for this container;
- Kubernetes then expands $(VAR) in each value from envFrom and the entries before it ($$ is a $; an unknown
  $(VAR) stays as it is), and reads `valueFrom.secretKeyRef` from the Secrets (a missing key of a non-optional
  reference keeps the pod from starting);
- files: the MySQL CA (global.mysql.caCert) at /etc/ssl/certs/mysql_ca.pem, the Redis CA at
  /etc/ssl/certs/redis_ca.pem from the Redis Secret's REDIS_CA_CERT (the chart's own Secret, made from
  global.redis.caCert, only when no secret name is given).

The Secrets are the chart's own (made from the values when no Secret is named) and the ones given (the export's).

Checked once against the chart's committed render snapshots (test-configs/operator-wandb/__snapshots__, 48 with the
app container, 34 to 52 variables each, the environment resolved from the rendered ConfigMaps and Secrets): the
same value for every variable the server reads and every name the inputs set, and the same CA files. The snapshots
never set a Redis CA or params, Slack, a license, a bucket path or KMS key, GCS or Azure: those parts follow the
templates only. Not modelled: the random MySQL password the chart makes when none is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MYSQL_CA_PATH = "/etc/ssl/certs/mysql_ca.pem"
REDIS_CA_PATH = "/etc/ssl/certs/redis_ca.pem"


class PodWouldNotStart(AssertionError):
    """A non-optional secretKeyRef names a Secret or key that does not exist."""


@dataclass
class Pod:
    env: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)  # path in the container -> content


def _get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def expand(value: str, known: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of an env value."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i) and (end := value.find(")", i)) != -1:
            name = value[i + 2:end]
            out.append(known[name] if name in known else value[i:end + 1])
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _redis_params(values: dict[str, Any]) -> str:
    ca = _get(values, "global.redis.caCert", "")
    port = str(_get(values, "global.redis.port", 6379))
    final: dict[str, Any] = {"caCertPath": REDIS_CA_PATH} if ca else {}
    final.update(_get(values, "global.redis.parameters", {}) or {})
    final.update(_get(values, "global.redis.params", {}) or {})
    if "?" in port:
        final.update(dict(item.partition("=")[::2] for item in port.split("?", 1)[1].split("&") if item))
    final.update({"ttlInSeconds": 604800, **({"tls": "true"} if ca else {})})  # the chart's defaults win
    return "?" + "&".join(f"{key}={final[key]}" for key in sorted(final) if str(final[key]) != "")


def chart_secrets(values: dict[str, Any], release: str) -> dict[str, dict[str, str]]:
    """The Secrets the chart makes from the values when none is named."""
    made: dict[str, dict[str, str]] = {}
    if not _get(values, "global.licenseSecret.name"):
        made[f"{release}-license"] = {_get(values, "global.licenseSecret.key") or "license":
                                      _get(values, "global.license", "")}
    if not _get(values, "global.mysql.passwordSecret.name"):
        made[f"{release}-mysql"] = {"MYSQL_PASSWORD": _get(values, "global.mysql.password", "")}
    if not _get(values, "global.redis.secret.secretName"):
        made[f"{release}-redis-secret"] = {"REDIS_PASSWORD": _get(values, "global.redis.password", ""),
                                           "REDIS_CA_CERT": _get(values, "global.redis.caCert", "")}
    bucket = _bucket(values)
    if not _get(values, "global.bucket.secret.secretName"):
        keys = {}
        if bucket.get("accessKey"):
            keys[_get(values, "global.bucket.secret.accessKeyName") or "ACCESS_KEY"] = bucket["accessKey"]
        if bucket.get("secretKey"):
            keys[_get(values, "global.bucket.secret.secretKeyName") or "SECRET_KEY"] = bucket["secretKey"]
        made[f"{release}-bucket"] = keys
    oidc = _get(values, "global.auth.oidc", {}) or {}
    if oidc.get("secret") and not _get(oidc, "oidcSecret.name"):
        made[f"{release}-oidc-secret"] = {_get(oidc, "oidcSecret.secretKey") or "OIDC_SECRET": oidc["secret"]}
    return made


def _bucket(values: dict[str, Any]) -> dict[str, Any]:
    chosen = "global.bucket" if _get(values, "global.bucket.name") else "global.defaultBucket"
    return {key: value for key, value in (_get(values, chosen, {}) or {}).items() if key != "secret"}


def _ref(name: str, key: str, optional: bool = False) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key, **({"optional": True} if optional else {})}}}


def pod(values: dict[str, Any], secrets: dict[str, dict[str, str]], release: str = "wandb") -> Pod:
    """The server container's environment and files for the chart's `values`, with `secrets` (name -> key ->
    value) beside the chart's own."""
    all_secrets = {**chart_secrets(values, release), **secrets}
    bucket = _bucket(values)
    host = _get(values, "global.host", "http://localhost:8080")

    from_env: dict[str, str] = {"HOST": host}
    oidc = _get(values, "global.auth.oidc", {}) or {}
    if oidc.get("clientId"):
        from_env.update(OIDC_CLIENT_ID=oidc["clientId"], OIDC_AUTH_METHOD=oidc.get("authMethod", ""),
                        OIDC_ISSUER=oidc.get("issuer", ""))
    port = str(_get(values, "global.redis.port", 6379))
    from_env.update(REDIS_HOST=_get(values, "global.redis.host") or f"{release}-redis-master",
                    REDIS_PORT=port.split("?", 1)[0], REDIS_PARAMS=_redis_params(values))
    from_env.update(BUCKET_NAME=bucket.get("name", ""), BUCKET_PATH=bucket.get("path", ""),
                    AWS_REGION=bucket.get("region", ""), AWS_S3_KMS_ID=bucket.get("kmsKey", ""))
    slack = _get(values, "global.slack", {}) or {}
    from_env.update(SLACK_CLIENT_ID=str(slack.get("clientId", "")), SLACK_SECRET=str(slack.get("secret", "")))

    helpers: list[tuple[str, Any]] = []
    bucket_secret = _get(values, "global.bucket.secret.secretName") or f"{release}-bucket"
    access_name = _get(values, "global.bucket.secret.accessKeyName") or "ACCESS_KEY"
    secret_name = _get(values, "global.bucket.secret.secretKeyName") or "SECRET_KEY"
    helpers += [("AZURE_STORAGE_KEY", _ref(bucket_secret, access_name, True)),
                ("BUCKET_ACCESS_KEY", _ref(bucket_secret, access_name, True)),
                ("BUCKET_SECRET_KEY", _ref(bucket_secret, secret_name, True))]
    provider = bucket.get("provider", "s3")
    keys = (bucket.get("accessKey") and bucket.get("secretKey")) or _get(values, "global.bucket.secret.secretName")
    scheme = {"s3": "s3", "cw": "cw", "gcs": "gs", "az": "az"}.get(provider)
    url = ""
    if scheme:
        auth = "$(BUCKET_ACCESS_KEY):$(BUCKET_SECRET_KEY)@" if scheme in ("s3", "cw") and keys else ""
        url = f"{scheme}://{auth}$(BUCKET_NAME)" + ("/$(BUCKET_PATH)" if bucket.get("path") else "")
    helpers.append(("BUCKET", url.rstrip("/")))

    mysql = _get(values, "global.mysql", {}) or {}
    helpers += [
        ("MYSQL_PASSWORD", _ref(_get(mysql, "passwordSecret.name") or f"{release}-mysql",
                                _get(mysql, "passwordSecret.passwordKey") or "MYSQL_PASSWORD")),
        ("MYSQL_PORT", str(mysql.get("port", 3306))),
        ("MYSQL_HOST", mysql.get("host") or f"{release}-mysql"),
        ("MYSQL_DATABASE", mysql.get("database", "wandb_local")),
        ("MYSQL_USER", mysql.get("user", "wandb")),
    ]
    files: dict[str, str] = {}
    if mysql.get("caCert"):
        helpers.append(("MYSQL_CA_CERT_PATH", MYSQL_CA_PATH))
        files[MYSQL_CA_PATH] = mysql["caCert"]
    helpers.append(("MYSQL", "mysql://$(MYSQL_USER):$(MYSQL_PASSWORD)@$(MYSQL_HOST):$(MYSQL_PORT)/$(MYSQL_DATABASE)"
                             "?tls=preferred"))

    redis = _get(values, "global.redis", {}) or {}
    redis_secret = _get(redis, "secret.secretName") or f"{release}-redis-secret"
    helpers.append(("REDIS_PASSWORD", _ref(redis_secret, _get(redis, "secret.secretKey") or "REDIS_PASSWORD", True)))
    auth = ":$(REDIS_PASSWORD)@" if redis.get("password") or _get(redis, "secret.secretName") else ""
    helpers.append(("REDIS", f"redis://{auth}$(REDIS_HOST):$(REDIS_PORT)$(REDIS_PARAMS)"))
    ca = all_secrets.get(redis_secret, {}).get("REDIS_CA_CERT")  # an optional volume: no file without the key
    if ca is not None:
        files[REDIS_CA_PATH] = ca  # the chart's own Secret always has the key (empty without a CA)

    helpers.append(("LICENSE", _ref(_get(values, "global.licenseSecret.name") or f"{release}-license",
                                    _get(values, "global.licenseSecret.key") or "license")))
    if oidc.get("secret") or _get(oidc, "oidcSecret.name"):
        ref = _ref(_get(oidc, "oidcSecret.name") or f"{release}-oidc-secret",
                   _get(oidc, "oidcSecret.secretKey") or "OIDC_SECRET")
        helpers += [("GORILLA_OIDC_SECRET", ref), ("OIDC_SECRET", ref)]

    merged: dict[str, Any] = {}
    for source in ("global.extraEnv", "global.env", "app.extraEnv", "app.env"):  # the last one given wins
        merged.update({key: value for key, value in (_get(values, source, {}) or {}).items() if value not in ("", None)})
    entries = [(name, value) for name, value in helpers if name not in merged] + sorted(merged.items())

    env = dict(from_env)
    for name, value in entries:
        if isinstance(value, dict):
            ref = value["valueFrom"]["secretKeyRef"]
            found = all_secrets.get(ref["name"], {}).get(ref["key"])
            if found is None:
                if ref.get("optional"):
                    continue
                raise PodWouldNotStart(f"{name}: Secret {ref['name']} has no key {ref['key']}")
            env[name] = found
        else:
            env[name] = expand(str(value), env)
    return Pod(env, files)


def secret_values(chart: Any) -> dict[str, dict[str, str]]:
    """The export's Secrets (a kubernetes.ChartValues made with secrets) as name -> key -> value."""
    from wizard.kubernetes import secret_data

    return {name: {key: item.value for key, item in keys.items()} for name, keys in secret_data(chart).items()}


_VAR = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")


def unexpanded(env: dict[str, str]) -> dict[str, str]:
    """Variables whose value still holds a $(VAR) Kubernetes could not expand (the chart's order broke it)."""
    return {name: value for name, value in env.items() if _VAR.search(value)}
