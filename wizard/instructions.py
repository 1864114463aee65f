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
from wizard.steps import provider_key
from wizard.suggested_host import default_url


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
        return default_url()  # the Host step's default
    try:
        return v.server_url(raw)
    except ValueError:
        return "<SERVER-URL>"


def draft_value(draft: Mapping[str, Any], name: str, check: Callable[[str], str] | None, placeholder: str,
                missing: list[str]) -> str:
    """A draft field's value once it is valid, else <PLACEHOLDER> (and its name appended to `missing`)."""
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


def provider_draft(values: Mapping[str, Mapping[str, Any]], step: str, provider: str) -> Mapping[str, Any]:
    """One provider's draft values in a step."""
    return (values.get(step) or {}).get(provider_key(provider)) or {}


def s3_cors_instructions(origin: str) -> list[Instruction]:
    """The bucket CORS rule of an S3 API (Amazon S3 and S3-compatible stores)."""
    return [
        Instruction("storage.cors-json", "Bucket CORS rule (JSON)", s3_cors_json(origin),
                    note="S3 console › your bucket › Permissions › CORS. Lets browsers upload and download "
                         "files directly."),
        Instruction("storage.cors-xml", "Bucket CORS rule (XML)", s3_cors_xml(origin),
                    note="The same rule for older tools and MinIO."),
    ]


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


# --- What the server container gets --------------------------------------------------------------------------


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
