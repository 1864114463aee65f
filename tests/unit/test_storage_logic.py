"""The storage checks' verdicts on captured answers: CORS rules, SQS policies, S3 and GCS notification
configurations, Event Grid queue messages; plus the masked environment and the local volume check.

The GCS notification and Event Grid tests use CAPTURED REAL RESPONSE SHAPES (the emulators here lack those APIs),
as documented by Google's JSON API (notificationConfigs resource) and Azure Event Grid's event schema.
"""

from __future__ import annotations

import base64
import json

from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from tests.check_runs import collect
from wizard.checks.storage_common import (
    CorsRule, azure_cors_xml, evaluate_cors, merge_rules, origin_matches, s3_cors_json,
    wandb_rule,
)
from wizard.checks.s3_api import bucket_region
from wizard.draft import validate_step
from wizard.providers import local as local_storage
from wizard.providers.azure import blob_created_subjects, event_grid_instructions
from wizard.providers.gcs import evaluate_notifications
from wizard.providers.s3 import evaluate_notification, merged_notification, merged_policy, policy_allows_bucket

HOST = "https://wandb.example.com"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:wandb-events"
BUCKET_ARN = "arn:aws:s3:::acme-wandb"


# --- CORS ------------------------------------------------------------------------------------------------------


def test_origin_matching():
    assert origin_matches(HOST, "*")
    assert origin_matches(HOST, "HTTPS://WANDB.example.com/")
    assert origin_matches(HOST, "https://*.example.com")
    assert not origin_matches(HOST, "http://wandb.example.com")
    assert not origin_matches(HOST, "https://*.other.com")


def test_cors_verdicts():
    assert evaluate_cors([], HOST).status is Status.FAIL
    assert evaluate_cors([wandb_rule(HOST)], HOST).status is Status.PASS
    get_only = CorsRule((HOST,), ("GET",), ("*",))
    verdict = evaluate_cors([get_only], HOST)
    assert verdict.status is Status.FAIL and "to GET but not to PUT" in verdict.message
    narrow = CorsRule((HOST,), ("GET", "PUT", "HEAD"), ("Authorization",))
    assert "allows only the headers Authorization" in evaluate_cors([narrow], HOST).message
    no_head = CorsRule(("*",), ("GET", "PUT"), ("*",))
    assert evaluate_cors([no_head], HOST).status is Status.WARN
    # The first rule matching origin and method decides, as in S3: a later PUT rule still counts for PUT.
    assert evaluate_cors([get_only, CorsRule((HOST,), ("PUT", "HEAD"), ("*",))], HOST).status is Status.PASS


def test_merge_puts_ours_first_and_keeps_every_existing_rule_once():
    existing = [CorsRule(("https://a",), ("GET",)), wandb_rule(HOST)]
    merged = merge_rules(existing, wandb_rule(HOST))
    assert merged == [wandb_rule(HOST), CorsRule(("https://a",), ("GET",))]


def test_fix_texts_are_the_exact_documents():
    rule = wandb_rule(HOST)
    assert json.loads(s3_cors_json([rule])) == {"CORSRules": [{
        "AllowedOrigins": [HOST], "AllowedMethods": ["GET", "HEAD", "PUT"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]}
    xml = azure_cors_xml([wandb_rule(HOST, max_age=3600)])
    assert "<AllowedMethods>GET,HEAD,PUT</AllowedMethods>" in xml and "<MaxAgeInSeconds>3600</MaxAgeInSeconds>" in xml


# --- SQS policy and S3 notification --------------------------------------------------------------------------------


def _policy(**statement):
    base = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
    return {"Version": "2012-10-17", "Statement": [dict(base, **statement)]}


def test_queue_policy_verdicts():
    assert not policy_allows_bucket(None, QUEUE_ARN, BUCKET_ARN)
    assert policy_allows_bucket(_policy(Condition={"ArnEquals": {"aws:SourceArn": BUCKET_ARN}}), QUEUE_ARN, BUCKET_ARN)
    assert policy_allows_bucket(_policy(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::acme-*"}}),
                                QUEUE_ARN, BUCKET_ARN)
    assert policy_allows_bucket(_policy(), QUEUE_ARN, BUCKET_ARN)  # broader: any sender
    assert not policy_allows_bucket(_policy(Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::other"}}),
                                    QUEUE_ARN, BUCKET_ARN)
    assert not policy_allows_bucket(_policy(Effect="Deny"), QUEUE_ARN, BUCKET_ARN)
    assert not policy_allows_bucket(_policy(Action="sqs:ReceiveMessage"), QUEUE_ARN, BUCKET_ARN)


def test_merged_policy_keeps_other_statements():
    other = {"Sid": "consumers", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/x"},
             "Action": "sqs:ReceiveMessage", "Resource": QUEUE_ARN}
    merged = merged_policy({"Version": "2012-10-17", "Statement": [other]}, QUEUE_ARN, BUCKET_ARN)
    assert merged["Statement"][0] == other
    assert policy_allows_bucket(merged, QUEUE_ARN, BUCKET_ARN)


def test_notification_verdicts_and_merge():
    empty = {"ResponseMetadata": {}}
    verdict, fixable = evaluate_notification(empty, QUEUE_ARN)
    assert verdict.status is Status.FAIL and fixable
    topic = {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Events": ["s3:ObjectRemoved:*"]}
    merged = merged_notification({"TopicConfigurations": [topic], "ResponseMetadata": {}}, QUEUE_ARN)
    assert merged["TopicConfigurations"] == [topic] and "ResponseMetadata" not in merged
    assert evaluate_notification(merged, QUEUE_ARN)[0].status is Status.PASS
    put_only = {"QueueConfigurations": [{"QueueArn": QUEUE_ARN, "Events": ["s3:ObjectCreated:Put"]}]}
    verdict, fixable = evaluate_notification(put_only, QUEUE_ARN)
    assert verdict.status is Status.FAIL and "only of s3:ObjectCreated:Put" in verdict.message and fixable
    filtered = {"QueueConfigurations": [{"QueueArn": QUEUE_ARN, "Events": ["s3:ObjectCreated:*"], "Filter": {
        "Key": {"FilterRules": [{"Name": "Prefix", "Value": "media/"}]}}}]}
    assert evaluate_notification(filtered, QUEUE_ARN)[0].status is Status.WARN


def test_bucket_region_names():
    assert bucket_region(None) == "us-east-1" and bucket_region("EU") == "eu-west-1"
    assert bucket_region("ap-south-1") == "ap-south-1"


# --- GCS notifications: captured real notificationConfigs shapes ------------------------------------------------

CAPTURED_GCS_NOTIFICATION = {  # GET storage/v1/b/acme-wandb/notificationConfigs, one item (gsutil -f json default)
    "kind": "storage#notification", "id": "7",
    "selfLink": "https://www.googleapis.com/storage/v1/b/acme-wandb/notificationConfigs/7",
    "topic": "//pubsub.googleapis.com/projects/acme/topics/wandb-files", "payload_format": "JSON_API_V1",
    "etag": "7",
}


def test_gcs_notification_on_captured_real_response_shapes():
    assert evaluate_notifications([CAPTURED_GCS_NOTIFICATION], "acme", "wandb-files").status is Status.PASS
    finalize = dict(CAPTURED_GCS_NOTIFICATION, event_types=["OBJECT_FINALIZE", "OBJECT_DELETE"])
    assert evaluate_notifications([finalize], "acme", "wandb-files").status is Status.PASS
    deletes = dict(CAPTURED_GCS_NOTIFICATION, event_types=["OBJECT_DELETE"])
    assert evaluate_notifications([deletes], "acme", "wandb-files").status is Status.FAIL
    plain = dict(CAPTURED_GCS_NOTIFICATION, payload_format="NONE")
    assert "JSON_API_V1" in evaluate_notifications([plain], "acme", "wandb-files").message
    verdict = evaluate_notifications([CAPTURED_GCS_NOTIFICATION], "acme", "other-topic")
    assert verdict.status is Status.FAIL and "it notifies projects/acme/topics/wandb-files" in verdict.message
    assert evaluate_notifications([], "acme", "wandb-files").status is Status.FAIL


# --- Azure Event Grid: captured real queue message shape --------------------------------------------------------

CAPTURED_EVENT = {  # Event Grid schema, as delivered to a storage queue (base64 of this JSON)
    "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
             "Microsoft.Storage/storageAccounts/acmewandb",
    "subject": "/blobServices/default/containers/wandb/blobs/wandb-local-setup-probe/1234",
    "eventType": "Microsoft.Storage.BlobCreated", "id": "831e1650-001e-001b-66ab-eeb76e069631",
    "data": {"api": "PutBlob", "contentType": "application/octet-stream", "contentLength": 30,
             "blobType": "BlockBlob", "url": "https://acmewandb.blob.core.windows.net/wandb/wandb-local-setup-probe/1234"},
    "dataVersion": "", "metadataVersion": "1", "eventTime": "2024-05-01T10:00:00.0000000Z",
}


def test_event_grid_messages_on_captured_real_shapes():
    encoded = base64.b64encode(json.dumps(CAPTURED_EVENT).encode()).decode()
    assert blob_created_subjects(encoded) == [CAPTURED_EVENT["subject"]]
    assert blob_created_subjects(json.dumps([CAPTURED_EVENT])) == [CAPTURED_EVENT["subject"]]
    assert blob_created_subjects(json.dumps(dict(CAPTURED_EVENT, eventType="Microsoft.Storage.BlobDeleted"))) == []
    assert blob_created_subjects("someone else's message") == []


def test_event_grid_instructions_name_everything_to_create():
    section, _ = validate_step("storage", {"provider": "azure", "azure": {
        "account": "acmewandb", "container": "wandb", "queue": "wandb-events"}}, {"storage.azure.account_key": "a2V5"})
    text = event_grid_instructions(section)
    assert "Microsoft.Storage.BlobCreated" in text and "/blobServices/default/containers/wandb/blobs/" in text
    assert "queues/wandb-events" in text


# --- What the screen shows, and the local volume ------------------------------------------------------------------


def _settings(draft: dict, secrets: dict | None = None) -> tuple[dict, dict]:
    """The storage settings box of the screen: (shown, copied) as dicts."""
    from wizard.providers import server_inputs

    [box] = server_inputs("storage", {"storage": draft}, secrets or {})
    return (dict(line.split("=", 1) for line in box.text.splitlines()),
            dict(line.split("=", 1) for line in box.copy_text.splitlines()))


def test_storage_settings_shown_on_the_screen():
    canary = "canary-azure-key-0123456789"
    shown, copied = _settings({"provider": "azure", "azure": {
        "account": "acmewandb", "container": "wandb", "queue": "wandb-events"}}, {"storage.azure.account_key": canary})
    assert shown == {"BUCKET": "az://acmewandb/wandb", "BUCKET_QUEUE": "az://acmewandb/wandb-events",
                     "AZURE_STORAGE_ACCOUNT": "acmewandb", "AZURE_STORAGE_KEY": "********"}
    assert copied["AZURE_STORAGE_KEY"] == canary  # the copy is for the server's settings page
    shown, _ = _settings({"provider": "s3-compatible", "s3_compatible": {
        "endpoint": "minio.example.com:9000", "bucket": "wandb", "access_key": "AKIA"}},
        {"storage.s3_compatible.secret_key": canary})
    assert canary not in shown["BUCKET"] and "********" in shown["BUCKET"]
    shown, _ = _settings({"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "eu-west-1",
                                                   "queue": "wandb-events", "instance_role": True}})
    assert shown == {"BUCKET": "s3://acme-wandb", "BUCKET_QUEUE": "sqs://wandb-events", "AWS_REGION": "eu-west-1"}
    from wizard.providers import server_inputs

    assert server_inputs("storage", {"storage": {"provider": "s3", "s3": {"bucket": "Bad_Name"}}}, {}) == []
    assert server_inputs("storage", {"storage": {"provider": "local"}}, {}) == []


async def _local_results(tmp_path, volume: str):
    server, errors = validate_step("server", {"volume": volume})
    assert not errors
    ctx = CheckContext({"storage": validate_step("storage", {"provider": "local"})[0], "server": server})
    return {r.id: r for r in await collect(checks_for("storage"), ctx)}


async def test_local_volume_passes_and_warns_on_a_small_filesystem(tmp_path, monkeypatch):
    results = await _local_results(tmp_path, "wandb")
    local = results["storage.local"]
    assert local.status is Status.PASS and "mounted at /vol" in local.message
    assert results["storage.cors"].status is Status.SKIPPED
    monkeypatch.setattr(local_storage, "LOW_SPACE", 1 << 62)  # any real filesystem is "small" next to 4 EiB
    local = (await _local_results(tmp_path, str(tmp_path / "not-yet" / "data")))["storage.local"]
    assert local.status is Status.WARN and "GB free" in local.message and "20 GB" in local.hint


async def test_gcs_key_file_problems_without_any_network(tmp_path):
    def gcs(path):
        section, errors = validate_step("storage", {"provider": "gcs", "gcs": {"bucket": "acme-wandb",
                                                                                 "credentials_file": path}})
        assert not errors
        return section

    host, _ = validate_step("host", {"url": HOST})
    missing = await collect(checks_for("storage"), CheckContext({"storage": gcs(str(tmp_path / "nope.json")),
                                                                 "host": host}))
    results = {r.id: r for r in missing}
    assert results["storage.credentials"].status is Status.FAIL and "does not exist" in results["storage.credentials"].message
    assert results["storage.cors"].status is Status.SKIPPED
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "authorized_user"}')
    results = {r.id: r for r in await collect(checks_for("storage"), CheckContext({"storage": gcs(str(bad)),
                                                                                    "host": host}))}
    assert "is not a service account key" in results["storage.credentials"].message


def _client_error(code: str, message: str, status: int = 400):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetBucketLocation")


def test_aws_errors_in_plain_words_without_the_secret():
    from wizard.checks.s3_api import _region_text, aws, describe
    from wizard.providers.s3 import target

    secret = "canary-aws-secret-1234567890"
    section, _ = validate_step("storage", {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "us-east-1",
                                                                     "access_key_id": "AKIAEXAMPLE"}},
                               {"storage.s3.secret_access_key": secret})
    client = aws(CheckContext({}), target(CheckContext({}), section))
    verdict = describe(_client_error("SignatureDoesNotMatch", f"bad signature for {secret}", 403), client, "x")
    assert verdict.status is Status.FAIL and "does not match" in verdict.message and secret not in verdict.message
    verdict = describe(_client_error("AccessDenied", f"denied {secret}", 403), client, "reading the CORS rules")
    assert "Access denied while reading the CORS rules" in verdict.message and secret not in verdict.message
    assert "does not know this access key" in describe(_client_error("InvalidAccessKeyId", "", 403), client, "x").message
    # MinIO's answer to a request signed for the wrong region:
    minio = _client_error("AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                          "'us-east-1' is wrong; expecting 'eu-west-1'")
    assert _region_text(minio, "us-east-1") == "The bucket is in eu-west-1, not us-east-1."


def test_storage_settings_show_the_key_file_and_copy_only_the_settings_page_values():
    from wizard.providers import server_inputs

    settings = server_inputs("storage", {"storage": {"provider": "gcs", "gcs": {
        "bucket": "acme-wandb", "credentials_file": "/srv/keys/gcs.json"}}}, {})
    assert "file /srv/keys/gcs.json -> /etc/wandb-local-setup/gcs-key.json" in settings[0].text
    assert settings[0].clipboard == "BUCKET=gs://acme-wandb\nBUCKET_QUEUE=internal://"
