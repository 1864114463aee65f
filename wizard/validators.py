"""Value checks for single fields. Each raises ValueError with a message saying what is expected.

The message never repeats the field name: the caller (pydantic error formatting) prefixes the field's label,
so every message reads "<Step> › <Field>: <what is wrong and what is expected>".
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", re.IGNORECASE)


_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return", "\x1b": "an escape character (ESC)",
                  "\0": "a NUL character", "\t": "a tab"}


def control_character(value: str) -> str:
    """The problem with a control character (C0, DEL or C1) in `value`, or "" when it has none."""
    for char in value:
        code = ord(char)
        if code < 32 or 127 <= code < 160:
            name = _CONTROL_NAMES.get(char, f"the control character U+{code:04X}")
            return (f"contains {name}: a setting is one line of printable text (type or paste it again, without "
                    "line breaks or escape sequences)")
    return ""


def stripped(value: str) -> str:
    return value.strip() if isinstance(value, str) else value


def is_ip(value: str) -> bool:
    """An IPv4 or IPv6 address (IPv6 without brackets)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def hostname(value: str) -> str:
    """A DNS name or an IP address (IPv6 without brackets)."""
    value = value.strip()
    if not value:
        raise ValueError("expected a host name or IP address, e.g. wandb.example.com")
    if is_ip(value):
        return value
    if len(value) > 253 or not all(_LABEL.match(label) and len(label) <= 63 for label in value.rstrip(".").split(".")):
        raise ValueError(
            f"'{value}' is not a valid host name: use letters, digits, hyphens and dots, e.g. wandb.example.com"
        )
    return value


def ip_address(value: str) -> str:
    """An IPv4 or IPv6 address (no brackets): Docker publishes ports on addresses, not host names."""
    value = value.strip()
    if not is_ip(value):
        raise ValueError(f"'{value}' is not an IP address: expected e.g. 0.0.0.0 (all interfaces), 127.0.0.1 or ::")
    return value


def port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port: expected a number from 1 to 65535")
    return value


def _split_url(value: str, what: str, example: str):
    value = value.strip()
    if not value:
        raise ValueError(f"expected {what}, e.g. {example}")
    if "://" not in value:
        raise ValueError(f"'{value}' has no scheme: expected {what} starting with http:// or https://, e.g. {example}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"scheme '{parts.scheme}' is not supported: expected http:// or https://, e.g. {example}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    if not parts.hostname:
        raise ValueError(f"has no host name: expected {what}, e.g. {example}")
    hostname(parts.hostname)
    try:
        url_port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port: expected a number from 1 to 65535 after ':', e.g. {example}") from None
    if url_port is not None:
        port(url_port)
    if parts.query or parts.fragment:
        raise ValueError(f"must not contain '?' or '#' parts, e.g. {example}")
    return parts


def server_url(value: str) -> str:
    """HOST: scheme, host and optional port, no path. A trailing slash is dropped (the server wants none)."""
    parts = _split_url(value, "the full URL users will open", "https://wandb.example.com or http://10.0.0.5:8080")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"must not contain a path ('{parts.path}'): W&B is served at the root of its address, "
            "e.g. https://wandb.example.com"
        )
    return f"{parts.scheme.lower()}://{parts.netloc}"


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_private  # loopback ranges are private too
    except ValueError:
        return False


def issuer_url(value: str) -> str:
    """An OIDC issuer: https (http only for a test IdP at a private or loopback IP address), path allowed, kept
    exactly as typed."""
    parts = _split_url(value, "the issuer URL of your identity provider", "https://idp.example.com/realms/wandb")
    host = parts.hostname or ""
    if parts.scheme.lower() == "http" and not (is_loopback_host(host) or _private_ip(host)):
        raise ValueError("must use https://: identity providers publish their issuer over TLS")
    return value.strip()


# --- AWS -------------------------------------------------------------------------------------------------------

_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


def aws_region(value: str) -> str:
    value = value.strip()
    if not _AWS_REGION.match(value):
        raise ValueError(f"'{value}' is not an AWS region: expected a code such as us-east-1 or eu-central-1")
    return value


def s3_bucket(value: str) -> str:
    value = value.strip()
    if value.startswith("s3://"):
        raise ValueError(f"enter the bucket name only, without s3:// (e.g. '{value[5:].strip('/')}')")
    rules = "3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ValueError(f"'{value}' is not a valid S3 bucket name: expected {rules}")
    if ".." in value or ".-" in value or "-." in value:
        raise ValueError(f"'{value}' is not a valid S3 bucket name: dots must not be next to dots or hyphens")
    if is_ip(value):
        raise ValueError(f"'{value}' is not a valid S3 bucket name: it must not look like an IP address")
    if value.startswith(("xn--", "sthree-")) or value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        raise ValueError(f"'{value}' is not a valid S3 bucket name: it uses a prefix or suffix AWS reserves")
    return value


def sqs_queue_name(value: str) -> str:
    value = value.strip()
    if value.startswith(("https://", "http://", "sqs://", "arn:")):
        name = value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        raise ValueError(f"enter the queue name only, not a URL or ARN (e.g. '{name}')")
    if value.endswith(".fifo"):
        raise ValueError("is a FIFO queue: S3 event notifications need a standard SQS queue")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", value):
        raise ValueError(f"'{value}' is not a valid SQS queue name: expected 1-80 letters, digits, hyphens or underscores")
    return value


_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$")


def kms_key_arn(value: str) -> str:
    value = value.strip()
    if not _KMS_ARN.match(value):
        raise ValueError(
            "expected a KMS key ARN, e.g. arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )
    return value


# --- Google Cloud ----------------------------------------------------------------------------------------------


def gcs_bucket(value: str) -> str:
    value = value.strip()
    if value.startswith("gs://"):
        raise ValueError(f"enter the bucket name only, without gs:// (e.g. '{value[5:].strip('/')}')")
    rules = "lowercase letters, digits, hyphens, underscores and dots, starting and ending with a letter or digit"
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]", value):
        raise ValueError(f"'{value}' is not a valid Cloud Storage bucket name: expected {rules}")
    if len(value) > 63 and "." not in value or any(len(part) > 63 for part in value.split(".")):
        raise ValueError(f"'{value}' is too long: at most 63 characters (222 with dots, 63 between dots)")
    if is_ip(value):
        raise ValueError(f"'{value}' is not a valid Cloud Storage bucket name: it must not look like an IP address")
    if value.startswith("goog") or "google" in value or "g00gle" in value:
        raise ValueError(f"'{value}' is not allowed: bucket names must not start with 'goog' or contain 'google'")
    return value


def gcp_project(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", value):
        raise ValueError(
            f"'{value}' is not a Google Cloud project ID: expected 6-30 lowercase letters, digits or hyphens, "
            "starting with a letter"
        )
    return value


def pubsub_name(value: str) -> str:
    value = value.strip()
    if value.startswith("projects/"):
        raise ValueError(f"enter the short name only, not the full path (e.g. '{value.rsplit('/', 1)[-1]}')")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.~+%-]{2,254}", value) or value.startswith("goog"):
        raise ValueError(
            f"'{value}' is not a valid Pub/Sub name: expected 3-255 characters starting with a letter "
            "(letters, digits, - _ . ~ + %), not starting with 'goog'"
        )
    return value


# --- Azure -----------------------------------------------------------------------------------------------------


def azure_account(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-z0-9]{3,24}", value):
        raise ValueError(f"'{value}' is not a valid storage account name: expected 3-24 lowercase letters and digits")
    return value


def azure_container_or_queue(value: str, kind: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", value):
        raise ValueError(
            f"'{value}' is not a valid {kind} name: expected 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
    return value


# --- Docker ----------------------------------------------------------------------------------------------------


def docker_name(value: str, kind: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", value):
        raise ValueError(
            f"'{value}' is not a valid {kind} name: expected letters, digits, '_', '.' or '-', at least 2 characters"
        )
    return value


_IMAGE = re.compile(
    r"^(?:(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)(?::\d+)?/)?"  # optional registry[:port]/
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


def image_name(value: str) -> str:
    value = value.strip()
    if ":" in value.rsplit("/", 1)[-1] or "@" in value:
        raise ValueError("enter the image name without a tag or digest (the tag has its own field)")
    if not _IMAGE.match(value):
        raise ValueError(f"'{value}' is not a valid image name: expected e.g. wandb/local or registry.example.com:5000/wandb/local")
    return value


def image_tag(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[\w][\w.-]{0,127}", value, re.ASCII):
        raise ValueError(f"'{value}' is not a valid image tag: expected letters, digits, '_', '.' or '-', e.g. latest or 0.60.0")
    return value


# --- Environment -----------------------------------------------------------------------------------------------


# Variables the wizard's steps set themselves: an extra option may not set them a second time.
RENDERED_NAMES = frozenset({
    "HOST", "LICENSE", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_AUTH_METHOD", "GORILLA_OIDC_SECRET", "BUCKET",
    "BUCKET_QUEUE", "AWS_REGION", "AWS_S3_KMS_ID", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "NOTIFICATIONS_QUEUE", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "MYSQL",
    "MYSQL_CA_CERT_PATH", "REDIS", "SLACK_CLIENT_ID", "SLACK_SECRET", "LOGGING_ENABLED", "LOCAL_RESTORE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
})


_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """An extra option whose name says it holds a secret (its value then goes to the keyring by default)."""
    return bool(_SECRET_NAME.search(name))


def extra_env_name(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(
            f"'{value}' is not an environment variable name: expected letters, digits and '_', not starting with a "
            "digit (e.g. GORILLA_DISABLE_PERSONAL_ENTITY or ENABLE_REGISTRY_UI)"
        )
    if value.upper() in RENDERED_NAMES:
        raise ValueError(f"{value} is set by the wizard's steps: change it on its step instead")
    return value


def proxy_url(value: str) -> str:
    """http(s)://host[:port] of a forward proxy, without credentials (they would be kept in clear)."""
    value = value.strip()
    if "@" in urlsplit(value).netloc:
        raise ValueError("a proxy URL with a user name or password would be stored in clear in the session: use "
                         "a proxy that admits this machine by its address")
    parts = _split_url(value, "a proxy URL", "http://proxy.example.com:3128")
    if parts.path.strip("/"):
        raise ValueError("expected scheme://host[:port] only, e.g. http://proxy.example.com:3128")
    return f"{parts.scheme.lower()}://{parts.netloc}"


def no_proxy_list(value: str) -> str:
    """NO_PROXY: comma-separated host names, .domains, IP addresses or CIDR ranges."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("is not a host name list: it holds a control character (a line break?); separate entries "
                         "with commas")
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        if not re.fullmatch(r"\*|[A-Za-z0-9.*_:\[\]/-]+", item):
            raise ValueError(f"'{item}' is not a host name, .domain, IP address or CIDR range: separate entries "
                             "with commas, e.g. localhost,127.0.0.1,.internal.example.com")
    return ",".join(items)


def file_path(value: str) -> str:
    value = value.strip()
    if not value.startswith("/"):
        raise ValueError("expected an absolute path to a file on this machine, e.g. /etc/ssl/private-ca.pem")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("a file path cannot hold control characters")
    return value


def env_value(value: str) -> str:
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("must be a single line (no line breaks or NUL characters)")
    return value
