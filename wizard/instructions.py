"""Texts the administrator pastes elsewhere (identity provider, bucket settings, database console, Slack app),
built from the values typed so far. No UI: the screens show `Instruction.text` and copy `Instruction.copy_text`.

Values come from the session's draft (possibly incomplete or invalid): a value that is missing or not valid yet
is shown as a <PLACEHOLDER> so the text is never silently wrong. Secrets are masked in `text`; `copy_text` holds
the real secret only where the target needs it (the MySQL statement), and `note` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from wizard import validators as v
from wizard.draft import provider_key
from wizard.text import MASK

DEFAULT_HOST = "http://localhost:8080"


@dataclass(frozen=True)
class Instruction:
    id: str  # e.g. "sso.callback"
    title: str  # one line: where it goes
    text: str  # what the screen shows (secrets masked)
    copy_text: str = ""  # what a copy puts on the clipboard (defaults to text)
    note: str = ""  # one line of explanation under the text
    placeholders: tuple[str, ...] = field(default_factory=tuple)  # names still to fill in

    @property
    def clipboard(self) -> str:
        return self.copy_text or self.text


def host_url(values: Mapping[str, Mapping[str, Any]]) -> str:
    """HOST as the server will get it, or a placeholder when the Host step's URL is not valid yet."""
    raw = str((values.get("host") or {}).get("url") or "").strip()
    if not raw:
        return DEFAULT_HOST
    try:
        return v.server_url(raw)
    except ValueError:
        return "<SERVER-URL>"


def _value(draft: Mapping[str, Any], name: str, check: Callable[[str], str] | None, placeholder: str,
           missing: list[str]) -> str:
    raw = str(draft.get(name) or "").strip()
    if raw and check is not None:
        try:
            raw = check(raw)
        except ValueError:
            raw = ""
    if not raw:
        missing.append(placeholder)
        return f"<{placeholder}>"
    return raw


def _provider_draft(step_draft: Mapping[str, Any], provider: str) -> Mapping[str, Any]:
    return step_draft.get(provider_key(provider)) or {}


# --- SSO -------------------------------------------------------------------------------------------------------


def sso_instructions(values: Mapping[str, Mapping[str, Any]]) -> list[Instruction]:
    sso = values.get("sso") or {}
    provider = str(sso.get("provider") or "none")
    if provider == "none":
        return []
    host = host_url(values)
    items = [
        Instruction(
            "sso.callback", "Callback URL", f"{host}/oidc/callback",
            note="Allow it as a callback (redirect) URL of the application client in your identity provider.",
        )
    ]
    if provider == "okta":
        items.append(Instruction(
            "sso.logout", "Sign-out redirect URL", f"{host}/logout",
            note="Okta › your app › General › Sign-out redirect URIs.",
        ))
    else:
        items.append(Instruction(
            "sso.logout", "Logout URL", host,
            note="Allow it as the sign-out (logout) URL: where users land after signing out.",
        ))
    return items


# --- Storage ---------------------------------------------------------------------------------------------------


def s3_cors_json(origin: str) -> str:
    rule = [{
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        "AllowedOrigins": [origin],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }]
    return json.dumps(rule, indent=2)


def s3_cors_xml(origin: str) -> str:
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
        "  <CORSRule>",
        f"    <AllowedOrigin>{_xml_escape(origin)}</AllowedOrigin>",
        "    <AllowedMethod>GET</AllowedMethod>",
        "    <AllowedMethod>HEAD</AllowedMethod>",
        "    <AllowedMethod>PUT</AllowedMethod>",
        "    <AllowedHeader>*</AllowedHeader>",
        "    <ExposeHeader>ETag</ExposeHeader>",
        "    <MaxAgeSeconds>3000</MaxAgeSeconds>",
        "  </CORSRule>",
        "</CORSConfiguration>",
    ])


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sqs_policy(region: str, queue: str, bucket: str, account: str = "<AWS-ACCOUNT-ID>") -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": ["sqs:SendMessage"],
            "Resource": f"arn:aws:sqs:{region}:{account}:{queue}",
            "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }],
    }
    return json.dumps(policy, indent=2)


def storage_settings(values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str]) -> list[Instruction]:
    """BUCKET, BUCKET_QUEUE, AWS_REGION, AZURE_STORAGE_*: what the container gets, which are also the values of
    System Settings › File storage. Shown once the step is valid; secrets masked, copied for real."""
    from wizard.checks.storage_common import STORAGE_VARIABLES
    from wizard.draft import validate_step
    from wizard.render import mask, reveal, section_inputs

    section, errors = validate_step("storage", values.get("storage") or {}, secrets)
    if errors or section is None or section.provider == "local":
        return []
    shown = container_lines(section_inputs(section, mask))
    copied = container_lines(section_inputs(section, reveal), STORAGE_VARIABLES)
    return [Instruction("storage.settings", "What the server container gets", shown, copy_text=copied,
                        note="The copy holds the System Settings › File storage values (secrets included).")]


def storage_instructions(values: Mapping[str, Mapping[str, Any]]) -> list[Instruction]:
    storage = values.get("storage") or {}
    provider = str(storage.get("provider") or "local")
    origin = host_url(values)
    draft = _provider_draft(storage, provider)
    missing: list[str] = []
    if provider in ("s3", "s3-compatible"):
        items = [
            Instruction("storage.cors-json", "Bucket CORS rule (JSON)", s3_cors_json(origin),
                        note="S3 console › your bucket › Permissions › CORS. Lets browsers upload and download "
                             "files directly."),
            Instruction("storage.cors-xml", "Bucket CORS rule (XML)", s3_cors_xml(origin),
                        note="The same rule for older tools and MinIO."),
        ]
        if provider == "s3":
            queue = str(draft.get("queue") or "").strip()
            if queue:
                region = _value(draft, "region", v.aws_region, "REGION", missing)
                bucket = _value(draft, "bucket", v.s3_bucket, "BUCKET", missing)
                items.append(Instruction(
                    "storage.sqs-policy", "SQS queue access policy",
                    sqs_policy(region, _value(draft, "queue", v.sqs_queue_name, "QUEUE", missing), bucket),
                    note="SQS › your queue › Access policy. Replace <AWS-ACCOUNT-ID> with your 12-digit account "
                         "ID; then send the bucket's s3:ObjectCreated:* events to the queue.",
                    placeholders=("AWS-ACCOUNT-ID", *missing),
                ))
        return items
    if provider == "gcs":
        bucket = _value(draft, "bucket", v.gcs_bucket, "BUCKET", missing)
        items = [Instruction(
            "storage.gcs-cors", "Bucket CORS rule (JSON)",
            json.dumps([{"origin": [origin], "method": ["GET", "HEAD", "PUT"], "responseHeader": ["*"],
                         "maxAgeSeconds": 3000}], indent=2),
            note=f"Save it as cors.json, then run: gsutil cors set cors.json gs://{bucket}",
        )]
        topic = str(draft.get("topic") or "").strip()
        if topic:
            project = str(draft.get("project") or "").strip()
            topic_ref = _value(draft, "topic", v.pubsub_name, "TOPIC", missing)
            if project:
                topic_ref = f"projects/{_value(draft, 'project', v.gcp_project, 'PROJECT', missing)}/topics/{topic_ref}"
            items.append(Instruction(
                "storage.gsutil", "Bucket notification to Pub/Sub",
                f"gsutil notification create -t {topic_ref} -f json gs://{bucket}",
                note="Run where gsutil is logged in. The Cloud Storage service agent needs "
                     "roles/pubsub.publisher on the topic.",
                placeholders=tuple(missing),
            ))
        return items
    if provider == "azure":
        account = _value(draft, "account", v.azure_account, "ACCOUNT", missing)
        return [Instruction(
            "storage.azure-cors", "Blob service CORS rule (Azure CLI)",
            f"az storage cors add --account-name {account} --services b --methods GET HEAD PUT "
            f"--origins {origin} --allowed-headers '*' --exposed-headers '*' --max-age 3600",
            note="Or in the portal: Storage account › CORS › Blob service: origin = the server URL, methods "
                 "GET, HEAD, PUT, all headers allowed and exposed.",
            placeholders=tuple(missing),
        )]
    return []


# --- Database --------------------------------------------------------------------------------------------------


def mysql_statements(user: str, database: str, password: str) -> str:
    def quoted(text: str) -> str:
        return text.replace("\\", "\\\\").replace("'", "\\'")

    return "\n".join([
        f"CREATE USER '{quoted(user)}'@'%' IDENTIFIED BY '{quoted(password)}';",
        f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;",
        f"GRANT ALL ON `{database}`.* TO '{quoted(user)}'@'%' WITH GRANT OPTION;",
    ])


def database_instructions(values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str] | None = None
                          ) -> list[Instruction]:
    database = values.get("database") or {}
    if str(database.get("provider") or "embedded") != "mysql":
        return []
    draft = _provider_draft(database, "mysql")
    user = str(draft.get("user") or "wandb_local").strip()
    name = str(draft.get("database") or "wandb_local").strip()
    password = (secrets or {}).get("database.mysql.password") or ""
    return [Instruction(
        "database.mysql-sql", "Database and user (SQL)",
        mysql_statements(user, name, MASK if password else "<PASSWORD>"),
        copy_text=mysql_statements(user, name, password or "<PASSWORD>"),
        note="Run as a MySQL administrator. " + ("The copy holds the password you entered." if password
                                                 else "Enter the password above, or replace <PASSWORD>."),
    )]


# --- Slack -----------------------------------------------------------------------------------------------------


def slack_instructions(values: Mapping[str, Mapping[str, Any]]) -> list[Instruction]:
    return [Instruction(
        "slack.redirect", "Slack redirect URL", host_url(values),
        note="Slack app › OAuth & Permissions › Redirect URLs. Also give the bot the incoming-webhook scope.",
    )]


def container_lines(inputs, names: tuple[str, ...] | None = None) -> str:
    """Container inputs as lines: NAME=value, then the read-only files and the host entries. With `names`, only
    those variables (as a settings page takes them)."""
    if names is not None:
        return "\n".join(f"{item.name}={item.value}" for item in inputs.env if item.name in names)
    lines = [f"{item.name}={item.value}" for item in inputs.env]
    lines += [f"file {mount.source} -> {mount.target} (read-only, a copy readable by UID 999)"
              for mount in inputs.mounts]
    lines += [f"host entry {entry.option}" for entry in inputs.extra_hosts]
    return "\n".join(lines)


def server_inputs(step: str, values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str]
                  ) -> list[Instruction]:
    """What the server container gets from this step (secrets masked, in the copy too). Shown once it is valid."""
    from wizard.draft import validate_step
    from wizard.render import mask, section_inputs

    section, errors = validate_step(step, values.get(step) or {}, secrets)
    if errors or section is None:
        return []
    text = container_lines(section_inputs(section, mask))
    if not text:
        return []
    return [Instruction(f"{step}.server", "What the server container gets", text,
                        note="Exactly what the launcher and every export give the container; the checks test it.")]


def for_step(step: str, values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str] | None = None
             ) -> list[Instruction]:
    """Every text to paste elsewhere for one step, built from the session's draft values."""
    secrets = secrets or {}
    if step == "sso":
        return sso_instructions(values) + server_inputs(step, values, secrets)
    if step == "storage":
        return storage_instructions(values) + storage_settings(values, secrets)
    if step == "database":
        return database_instructions(values, secrets) + server_inputs(step, values, secrets)
    if step == "cache":
        return server_inputs(step, values, secrets)
    if step == "slack":
        return slack_instructions(values)
    return []
