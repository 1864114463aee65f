"""Every function in wizard.validators, called directly with good and bad values.

A bad value's message must say what is expected (the rule or an example) and must not repeat the field name: the
caller prefixes "<Step> › <Field>:" (see test_config.py, which checks that prefix through `validate_step`).
"""

from __future__ import annotations

import inspect

import pytest

from wizard import validators as v

# function name -> [(args, expected return)]
GOOD: dict[str, list[tuple[tuple, object]]] = {
    "stripped": [(("  a b  ",), "a b"), (("x",), "x"), ((None,), None), ((5,), 5)],
    "hostname": [
        (("wandb.example.com",), "wandb.example.com"),
        ((" db-1.internal ",), "db-1.internal"),
        (("localhost",), "localhost"),
        (("10.0.0.5",), "10.0.0.5"),
        (("::1",), "::1"),
        (("fd00::5",), "fd00::5"),
        (("a" * 63 + ".example.com",), "a" * 63 + ".example.com"),
        (("wandb.example.com.",), "wandb.example.com."),
    ],
    "ip_address": [
        (("0.0.0.0",), "0.0.0.0"),
        ((" 127.0.0.1 ",), "127.0.0.1"),
        (("::",), "::"),
        (("::1",), "::1"),
    ],
    "port": [((1,), 1), ((8080,), 8080), ((65535,), 65535)],
    "server_url": [
        (("https://wandb.example.com",), "https://wandb.example.com"),
        (("https://wandb.example.com/",), "https://wandb.example.com"),  # trailing slash dropped
        (("  http://10.0.0.5:8080  ",), "http://10.0.0.5:8080"),
        (("HTTPS://wandb.example.com",), "https://wandb.example.com"),
        (("http://[::1]:8080",), "http://[::1]:8080"),
        (("http://localhost:8080/",), "http://localhost:8080"),
    ],
    "looks_secret": [
        (("GORILLA_API_TOKEN",), True),
        (("LDAP_BIND_PASSWORD",), True),
        (("gorilla_signing_key",), True),
        (("ENABLE_REGISTRY_UI",), False),
        (("SESSION_LENGTH",), False),
    ],
    "control_character": [
        (("wandb.example.com",), ""),
        (("pässwörd with spaces €",), ""),
        (("a\nb",), "contains a line break: a setting is one line of printable text (type or paste it again, "
                     "without line breaks or escape sequences)"),
        (("\x1b[31mred",), "contains an escape character (ESC): a setting is one line of printable text (type or "
                          "paste it again, without line breaks or escape sequences)"),
        (("x\x9by",), "contains the control character U+009B: a setting is one line of printable text (type or "
                     "paste it again, without line breaks or escape sequences)"),
    ],
    "is_ip": [
        (("10.0.0.5",), True),
        (("2001:db8::5",), True),
        (("[2001:db8::5]",), False),
        (("wandb.example.com",), False),
        (("10.0.0",), False),
    ],
    "is_loopback_host": [
        (("localhost",), True),
        (("LOCALHOST",), True),
        (("localhost.localdomain",), True),
        (("idp.localhost",), True),
        (("127.0.0.1",), True),
        (("127.10.0.1",), True),
        (("::1",), True),
        (("10.0.0.5",), False),
        (("idp.example.com",), False),
        (("notlocalhost",), False),
        (("",), False),
    ],
    "issuer_url": [
        (("https://idp.example.com/realms/wandb/",), "https://idp.example.com/realms/wandb/"),  # kept exactly
        (("https://idp.example.com/realms/wandb",), "https://idp.example.com/realms/wandb"),
        ((" https://idp.example.com ",), "https://idp.example.com"),
        (("http://localhost:8081/realms/test",), "http://localhost:8081/realms/test"),
        (("http://127.0.0.1:5556/dex",), "http://127.0.0.1:5556/dex"),
        (("http://10.0.0.5:8081/realms/test",), "http://10.0.0.5:8081/realms/test"),  # a test IdP on the LAN
        (("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC",), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC"),
    ],
    "aws_region": [
        (("us-east-1",), "us-east-1"),
        (("eu-central-1",), "eu-central-1"),
        (("us-gov-west-1",), "us-gov-west-1"),
        (("ap-southeast-4",), "ap-southeast-4"),
        ((" us-west-2 ",), "us-west-2"),
        (("us-isob-east-1",), "us-isob-east-1"),
    ],
    "s3_bucket": [
        (("abc",), "abc"),
        (("a" * 63,), "a" * 63),
        (("acme-wandb",), "acme-wandb"),
        (("acme.wandb.files",), "acme.wandb.files"),
        (("1acme",), "1acme"),
    ],
    "sqs_queue_name": [
        (("q",), "q"),
        (("wandb-events_1",), "wandb-events_1"),
        (("a" * 80,), "a" * 80),
    ],
    "kms_key_arn": [
        (
            ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",),
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        (("arn:aws:kms:eu-west-1:123456789012:alias/wandb",), "arn:aws:kms:eu-west-1:123456789012:alias/wandb"),
        (("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/abc",), "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/abc"),
    ],
    "gcs_bucket": [
        (("abc",), "abc"),
        (("acme_wandb-files",), "acme_wandb-files"),
        (("a" * 63,), "a" * 63),
        (("files.acme.com",), "files.acme.com"),
        ((".".join(["a" * 63] * 3) + "." + "a" * 30,), ".".join(["a" * 63] * 3) + "." + "a" * 30),  # 222
    ],
    "gcp_project": [
        (("abcdef",), "abcdef"),
        (("my-project-123",), "my-project-123"),
        (("a" * 30,), "a" * 30),
    ],
    "pubsub_name": [
        (("abc",), "abc"),
        (("wandb-files_topic.v1~x+y%z",), "wandb-files_topic.v1~x+y%z"),
        (("W" + "a" * 254,), "W" + "a" * 254),
    ],
    "azure_account": [(("abc",), "abc"), (("acmewandb01",), "acmewandb01"), (("a" * 24,), "a" * 24)],
    "azure_container_or_queue": [
        (("abc", "container"), "abc"),
        (("wandb-files-1", "container"), "wandb-files-1"),
        (("a" * 63, "queue"), "a" * 63),
    ],
    "docker_name": [
        (("wandb-local", "container"), "wandb-local"),
        (("wandb", "volume"), "wandb"),
        (("W_1.x-y", "container"), "W_1.x-y"),
        (("ab", "volume"), "ab"),
    ],
    "image_name": [
        (("wandb/local",), "wandb/local"),
        (("local",), "local"),
        (("registry.example.com:5000/wandb/local",), "registry.example.com:5000/wandb/local"),
        (("localhost:5000/wandb/local",), "localhost:5000/wandb/local"),
        (("ghcr.io/acme/wandb__local-mirror",), "ghcr.io/acme/wandb__local-mirror"),
    ],
    "image_tag": [(("latest",), "latest"), (("0.60.0",), "0.60.0"), (("v1_rc-2",), "v1_rc-2"), (("a" * 128,), "a" * 128)],
    "proxy_url": [
        (("http://proxy.example.com:3128",), "http://proxy.example.com:3128"),
        (("https://10.0.0.1:8443/",), "https://10.0.0.1:8443"),
    ],
    "no_proxy_list": [
        (("localhost,127.0.0.1",), "localhost,127.0.0.1"),
        ((" .corp.example.com , 10.0.0.0/8,[fd00::1] ",), ".corp.example.com,10.0.0.0/8,[fd00::1]"),
        (("*",), "*"),
    ],
    "file_path": [
        (("/etc/ssl/private-ca.pem",), "/etc/ssl/private-ca.pem"),
        ((" /srv/keys/gcs key.json ",), "/srv/keys/gcs key.json"),
    ],
    "extra_env_name": [
        (("GORILLA_CORS_ORIGINS",), "GORILLA_CORS_ORIGINS"),
        ((" GORILLA_DISABLE_PERSONAL_ENTITY ",), "GORILLA_DISABLE_PERSONAL_ENTITY"),
        (("GORILLA_X1",), "GORILLA_X1"),
        (("ENABLE_REGISTRY_UI",), "ENABLE_REGISTRY_UI"),  # documented options that are not GORILLA_*
        (("SESSION_LENGTH",), "SESSION_LENGTH"),
    ],
    "env_value": [(("",), ""), (("a b = c; 'd'",), "a b = c; 'd'"), ((" padded ",), " padded ")],
}

# function name -> [(args, fragments the message must contain)]
BAD: dict[str, list[tuple[tuple, tuple[str, ...]]]] = {
    "hostname": [
        (("",), ("expected a host name or IP address",)),
        (("db_host",), ("'db_host' is not a valid host name", "e.g. wandb.example.com")),
        (("-db.example.com",), ("is not a valid host name",)),
        (("a b",), ("is not a valid host name",)),
        (("a" * 64 + ".example.com",), ("is not a valid host name",)),
        (("x." * 127 + "x",), ("is not a valid host name",)),  # 255 characters
    ],
    "ip_address": [
        (("localhost",), ("'localhost' is not an IP address", "expected", "0.0.0.0")),
        (("[::1]",), ("is not an IP address",)),
        (("10.0.0.256",), ("is not an IP address",)),
    ],
    "port": [
        ((0,), ("0 is not a TCP port", "expected a number from 1 to 65535")),
        ((65536,), ("expected a number from 1 to 65535",)),
        ((-1,), ("expected a number from 1 to 65535",)),
    ],
    "server_url": [
        (("",), ("expected the full URL users will open",)),
        (("wandb.example.com",), ("has no scheme", "starting with http:// or https://")),
        (("ftp://wandb.example.com",), ("scheme 'ftp' is not supported", "expected http:// or https://")),
        (("https://wandb.example.com/wandb",), ("must not contain a path ('/wandb')", "root of its address")),
        (("https://wandb.example.com?x=1",), ("must not contain '?' or '#' parts",)),
        (("https://wandb.example.com#top",), ("must not contain '?' or '#' parts",)),
        (("https://user:pass@wandb.example.com",), ("must not contain a user name or password",)),
        (("https://user@wandb.example.com",), ("must not contain a user name or password",)),
        (("https://wandb.example.com:0",), ("expected a number from 1 to 65535",)),
        (("https://wandb.example.com:70000",), ("invalid port", "expected a number from 1 to 65535")),
        (("https://wandb.example.com:http",), ("invalid port", "expected a number from 1 to 65535")),
        (("https://",), ("has no host name",)),
        (("https://wandb_example.com",), ("is not a valid host name",)),
    ],
    "issuer_url": [
        (("http://idp.example.com/realms/wandb",), ("must use https://",)),
        (("http://8.8.8.8:8081",), ("must use https://",)),  # a public address: only private ones may use http
        (("idp.example.com",), ("has no scheme", "http:// or https://")),
        (("ftp://idp.example.com",), ("scheme 'ftp' is not supported",)),
        (("https://idp.example.com/?x=1",), ("must not contain '?' or '#' parts",)),
        (("https://u:p@idp.example.com",), ("must not contain a user name or password",)),
    ],
    "aws_region": [
        (("useast1",), ("'useast1' is not an AWS region", "expected a code such as us-east-1")),
        (("US-EAST-1",), ("is not an AWS region",)),
        (("us-east",), ("is not an AWS region",)),
        (("us-east-1a",), ("is not an AWS region",)),  # an availability zone
        (("",), ("is not an AWS region",)),
    ],
    "s3_bucket": [
        (("ab",), ("is not a valid S3 bucket name", "expected 3-63 characters")),
        (("a" * 64,), ("expected 3-63 characters",)),
        (("Acme-Wandb",), ("expected 3-63 characters: lowercase letters",)),
        (("acme_wandb",), ("expected 3-63 characters",)),
        (("-acme",), ("expected 3-63 characters",)),
        (("acme-",), ("expected 3-63 characters",)),
        (("192.168.1.1",), ("must not look like an IP address",)),
        (("acme..wandb",), ("dots must not be next to dots or hyphens",)),
        (("acme.-wandb",), ("dots must not be next to dots or hyphens",)),
        (("xn--acme",), ("prefix or suffix AWS reserves",)),
        (("sthree-acme",), ("prefix or suffix AWS reserves",)),
        (("acme-s3alias",), ("prefix or suffix AWS reserves",)),
        (("acme--ol-s3",), ("prefix or suffix AWS reserves",)),
        (("s3://acme-wandb/",), ("without s3://", "'acme-wandb'")),
    ],
    "sqs_queue_name": [
        (("events.fifo",), ("FIFO", "standard SQS queue")),
        (("https://sqs.us-east-1.amazonaws.com/123456789012/wandb-events",), ("not a URL or ARN", "'wandb-events'")),
        (("https://sqs.us-east-1.amazonaws.com/123456789012/wandb-events/",), ("'wandb-events'",)),
        (("arn:aws:sqs:us-east-1:123456789012:wandb-events",), ("not a URL or ARN", "'wandb-events'")),
        (("sqs://wandb-events",), ("not a URL or ARN", "'wandb-events'")),
        (("a" * 81,), ("expected 1-80 letters, digits, hyphens or underscores",)),
        (("wandb events",), ("expected 1-80",)),
        (("",), ("expected 1-80",)),
    ],
    "kms_key_arn": [
        (("1234abcd-12ab-34cd-56ef-1234567890ab",), ("expected a KMS key ARN", "arn:aws:kms:")),
        (("arn:aws:kms:us-east-1:1234:key/abc",), ("expected a KMS key ARN",)),  # account id is 12 digits
        (("arn:aws:s3:::acme-wandb",), ("expected a KMS key ARN",)),
    ],
    "gcs_bucket": [
        (("ab",), ("is not a valid Cloud Storage bucket name", "expected lowercase letters")),
        (("Acme",), ("expected lowercase letters",)),
        (("acme-",), ("expected lowercase letters",)),
        (("a" * 64,), ("too long", "at most 63 characters")),
        (("a" * 64 + ".b",), ("too long", "63 between dots")),
        (("a" * 223,), ("expected lowercase letters",)),
        (("10.0.0.5",), ("must not look like an IP address",)),
        (("goog-files",), ("must not start with 'goog'",)),
        (("my-google-files",), ("contain 'google'",)),
        (("my-g00gle-files",), ("is not allowed",)),
        (("gs://acme-files",), ("without gs://", "'acme-files'")),
    ],
    "gcp_project": [
        (("abcde",), ("is not a Google Cloud project ID", "expected 6-30 lowercase letters")),
        (("a" * 31,), ("expected 6-30",)),
        (("My-project",), ("expected 6-30 lowercase letters",)),
        (("1project",), ("starting with a letter",)),
        (("project-",), ("expected 6-30",)),
        (("my_project",), ("expected 6-30",)),
    ],
    "pubsub_name": [
        (("projects/acme/topics/wandb-files",), ("short name only", "'wandb-files'")),
        (("projects/acme/subscriptions/wandb-sub",), ("'wandb-sub'",)),
        (("ab",), ("is not a valid Pub/Sub name", "expected 3-255 characters starting with a letter")),
        (("1topic",), ("starting with a letter",)),
        (("goog-topic",), ("not starting with 'goog'",)),
        (("topic name",), ("expected 3-255",)),
        (("a" * 256,), ("expected 3-255",)),
    ],
    "azure_account": [
        (("AcmeWandb",), ("is not a valid storage account name", "expected 3-24 lowercase letters and digits")),
        (("ab",), ("expected 3-24",)),
        (("a" * 25,), ("expected 3-24",)),
        (("acme-wandb",), ("expected 3-24",)),
    ],
    "azure_container_or_queue": [
        (("wandb--files", "container"), ("is not a valid container name", "single hyphens")),
        (("-wandb", "container"), ("starting and ending with a letter or digit",)),
        (("wandb-", "queue"), ("is not a valid queue name",)),
        (("ab", "queue"), ("expected 3-63",)),
        (("a" * 64, "container"), ("expected 3-63",)),
        (("Wandb", "container"), ("lowercase",)),
    ],
    "docker_name": [
        (("w", "container"), ("is not a valid container name", "at least 2 characters")),
        (("-wandb", "container"), ("is not a valid container name",)),
        (("wandb local", "volume"), ("is not a valid volume name", "expected letters, digits")),
        (("wandb/local", "volume"), ("is not a valid volume name",)),
    ],
    "image_name": [
        (("wandb/local:latest",), ("without a tag or digest", "own field")),
        (("registry.example.com:5000/wandb/local:0.60.0",), ("without a tag or digest",)),
        (("wandb/local@sha256:" + "a" * 64,), ("without a tag or digest",)),
        (("Wandb/Local",), ("is not a valid image name", "expected e.g. wandb/local")),
        (("wandb//local",), ("is not a valid image name",)),
        (("",), ("is not a valid image name",)),
    ],
    "image_tag": [
        (("-latest",), ("is not a valid image tag", "expected letters, digits")),
        ((".latest",), ("is not a valid image tag",)),
        (("a" * 129,), ("is not a valid image tag",)),
        (("läte",), ("is not a valid image tag",)),  # tags are ASCII
        (("v1 2",), ("is not a valid image tag",)),
        (("",), ("is not a valid image tag",)),
    ],
    "proxy_url": [
        (("socks5://proxy:1080",), ("is not supported",)),
        (("http://u:p@proxy:3128",), ("stored in clear",)),
        (("http://proxy:3128/path",), ("scheme://host[:port] only",)),
    ],
    "no_proxy_list": [
        (("a b",), ("is not a host name",)),
        (("localhost\n",), ("control character",)),
    ],
    "file_path": [
        (("ca.pem",), ("expected an absolute path",)),
        (("~/ca.pem",), ("expected an absolute path",)),
        (("/etc/ca\n.pem",), ("control characters",)),
    ],
    "extra_env_name": [
        (("HOST",), ("HOST is set by the wizard's steps", "on its step")),
        (("1ABC",), ("is not an environment variable name", "not starting with a digit")),
        (("GORILLA-X",), ("is not an environment variable name",)),
        (("MYSQL",), ("set by the wizard's steps",)),
        (("aws_secret_access_key",), ("set by the wizard's steps",)),
        (("GORILLA_OIDC_SECRET",), ("set by the wizard's steps",)),
    ],
    "env_value": [
        (("a\nb",), ("single line",)),
        (("a\r\nb",), ("single line",)),
        (("a\0b",), ("NUL",)),
    ],
}

# Functions with nothing to refuse (they normalise or answer a question).
NO_BAD_VALUES = {"control_character", "stripped", "is_ip", "is_loopback_host", "looks_secret"}


def _public_functions() -> set[str]:
    return {
        name
        for name, fn in inspect.getmembers(v, inspect.isfunction)
        if fn.__module__ == v.__name__ and not name.startswith("_")
    }


def test_every_validator_has_good_and_bad_cases():
    functions = _public_functions()
    assert functions - GOOD.keys() == set(), "validators without good cases"
    assert functions - NO_BAD_VALUES - BAD.keys() == set(), "validators without bad cases"
    assert (GOOD.keys() | BAD.keys()) - functions == set(), "cases for functions that no longer exist"


@pytest.mark.parametrize(
    "name, args, expected", [(name, args, expected) for name, cases in GOOD.items() for args, expected in cases]
)
def test_good_values(name, args, expected):
    assert getattr(v, name)(*args) == expected


@pytest.mark.parametrize(
    "name, args, fragments", [(name, args, fragments) for name, cases in BAD.items() for args, fragments in cases]
)
def test_bad_values_say_what_is_expected(name, args, fragments):
    with pytest.raises(ValueError) as caught:
        getattr(v, name)(*args)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    # The caller prefixes the field's label: the message itself starts with the value or the problem.
    assert message and message[0] not in " :›"
    assert "Value error" not in message and "Input should" not in message


def test_urls_are_checked_in_order_scheme_before_host():
    # A pasted host name gets the "no scheme" hint, not a confusing host-name error.
    with pytest.raises(ValueError, match="has no scheme"):
        v.server_url("wandb_example.com:8080")


def test_issuer_is_kept_exactly_while_server_url_is_normalised():
    assert v.issuer_url("https://idp.example.com/") == "https://idp.example.com/"
    assert v.server_url("https://idp.example.com/") == "https://idp.example.com"


def test_pasted_queue_url_suggestion_is_a_valid_name():
    with pytest.raises(ValueError) as caught:
        v.sqs_queue_name("https://sqs.eu-west-1.amazonaws.com/123456789012/wandb_files-1")
    suggestion = str(caught.value).split("'")[1]
    assert v.sqs_queue_name(suggestion) == "wandb_files-1"
