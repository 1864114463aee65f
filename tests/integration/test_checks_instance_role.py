"""Amazon S3 with the EC2 instance's role, and Cloud Storage with the GCE instance's account: the server gets no
keys and its SDK asks the instance's metadata service. The checks take the credentials from there, reached as the
server reaches it, and never the keys, profile or settings of the admin's shell (which would pass what the server
fails).

Real moto (S3, SQS, STS with the role's policy enforced) and Squid; the metadata services are the hand-written
stand-ins of tests/services/instance_metadata.py (they cannot run off EC2 or GCE).
"""

from __future__ import annotations

import pytest

from tests.check_runs import collect
from tests.integration.test_checks_storage_s3 import GOOD_RULE, HOST, make_bucket, make_queue
from tests.services.forward_proxy import forward_proxy, squid  # noqa: F401 (fixtures)
from tests.services.instance_metadata import MetadataService, gce_metadata, metadata_service, role_credentials  # noqa: F401
from tests.services.local_process import closed_port
from tests.services.moto_server import MotoServer, moto_server  # noqa: F401 (fixture)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import DOCKER, KUBERNETES, checks_for
from wizard.checks.instance_metadata import METADATA_HOST
from wizard.draft import validate_step

PASSING = ("storage.credentials", "storage.bucket", "storage.region", "storage.probe", "storage.cors",
           "storage.queue", "storage.queue-policy", "storage.notification", "storage.events")


@pytest.fixture(autouse=True)
def _metadata_allowed(monkeypatch):
    # The suite's safety switch (tests/conftest.py) keeps every other test from the metadata address; these point
    # the checks at the stand-in instead, so they lift it.
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)


def _storage(moto: MotoServer) -> object:
    bucket = make_bucket(moto, cors=[GOOD_RULE])
    queue, _, _ = make_queue(moto, bucket)
    storage, errors = validate_step("storage", {"provider": "s3", "s3": {
        "bucket": bucket, "region": "us-east-1", "queue": queue, "instance_role": True}})
    assert not errors, errors
    return storage


async def _run(moto: MotoServer, storage, metadata: str, step: str = "storage", target: str = DOCKER,
               **server_fields) -> dict:
    host, _ = validate_step("host", {"url": HOST})
    server, errors = validate_step("server", server_fields)
    assert not errors, errors
    ctx = CheckContext({"storage": storage, "host": host, "server": server}, timeout=10.0, target=target, extra={
        "aws_endpoint_url": moto.endpoint, "aws_metadata_endpoint": metadata, "storage_event_wait": 3.0})
    return {item.id: item for item in await collect(checks_for(step), ctx)}


def _shell_has_admin_keys(monkeypatch, moto: MotoServer, tmp_path) -> None:
    """The admin's own full-access key in the shell's variables and in a default profile."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret_access_key)
    profile = tmp_path / "credentials"
    profile.write_text(f"[default]\naws_access_key_id = {moto.access_key_id}\n"
                       f"aws_secret_access_key = {moto.secret_access_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(profile))


async def test_the_roles_credentials_from_the_metadata_service_pass_every_check(moto_server, metadata_service):
    metadata_service.credentials = role_credentials(moto_server)
    results = await _run(moto_server, _storage(moto_server), metadata_service.url)
    for check_id in PASSING:
        assert results[check_id].status is Status.PASS, results[check_id]
    assert "assumed-role/wandb-node" in results["storage.credentials"].message
    role = results["storage.instance-role"]  # the container's hop limit, said once
    assert role.status is Status.WARN and "hop limit raised to 2" in role.message, role
    # IMDSv2 as the SDKs ask: a session token first, then every read with it.
    requests = metadata_service.requests
    assert requests and requests[0][:2] == ("PUT", "/latest/api/token")
    assert all(with_token for method, _, with_token in requests if method == "GET")


async def test_for_kubernetes_a_pass_with_this_machines_role_is_not_taken_for_the_pods(moto_server, metadata_service):
    metadata_service.credentials = role_credentials(moto_server)
    results = await _run(moto_server, _storage(moto_server), metadata_service.url, target=KUBERNETES)
    assert results["storage.credentials"].status is Status.PASS
    warning = results["storage.instance-role"]
    assert warning.status is Status.WARN and "The pods use their service account's role" in warning.message, warning


async def test_an_instance_answering_only_imdsv1_gives_the_role_as_the_sdks_fall_back(moto_server, metadata_service):
    metadata_service.credentials, metadata_service.v1_only = role_credentials(moto_server), True
    results = await _run(moto_server, _storage(moto_server), metadata_service.url)
    assert results["storage.credentials"].status is Status.PASS, results["storage.credentials"]
    assert ("GET", "/latest/meta-data/iam/security-credentials/", False) in metadata_service.requests


async def test_the_shells_keys_and_profile_are_never_used(moto_server, metadata_service, monkeypatch, tmp_path):
    # The role may not write objects; the admin's own key, in the shell and its profile, may do anything.
    metadata_service.credentials = role_credentials(moto_server, denied=("s3:PutObject",))
    _shell_has_admin_keys(monkeypatch, moto_server, tmp_path)
    results = await _run(moto_server, _storage(moto_server), metadata_service.url)
    assert results["storage.credentials"].status is Status.PASS
    assert "assumed-role/wandb-node" in results["storage.credentials"].message, results["storage.credentials"]
    probe = results["storage.probe"]
    assert probe.status is Status.FAIL and "Access denied" in probe.message, probe


@pytest.mark.parametrize("instance", ["no metadata service", "no role attached", "metadata disabled in the shell"])
async def test_without_the_roles_credentials_nothing_passes_even_with_keys_in_the_shell(
        moto_server, metadata_service, monkeypatch, tmp_path, instance):
    _shell_has_admin_keys(monkeypatch, moto_server, tmp_path)
    metadata = metadata_service.url  # with no credentials set: an instance without a role
    expected = f"this instance has no IAM role attached (the instance metadata service at {metadata} lists none)"
    if instance == "no metadata service":
        metadata = f"http://127.0.0.1:{closed_port()}"
        expected = f"the instance metadata service at {metadata} cannot be reached from here"
    elif instance == "metadata disabled in the shell":
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        expected = "not asked: AWS_EC2_METADATA_DISABLED=true in this shell"
    results = await _run(moto_server, _storage(moto_server), metadata)
    credentials = results["storage.credentials"]
    assert credentials.status is Status.FAIL, credentials
    assert credentials.message.startswith(f"The instance's role gave no credentials here: {expected}"), credentials
    assert "server, which relies on the same role, would have none either" in credentials.message
    for check_id in PASSING:
        assert results.get(check_id) is None or results[check_id].status is not Status.PASS, results[check_id]


async def test_the_servers_proxy_carries_the_metadata_requests_unless_no_proxy_names_it(
        moto_server, metadata_service, forward_proxy):  # noqa: F811
    metadata_service.credentials = role_credentials(moto_server)
    storage = _storage(moto_server)
    proxy = {"http_proxy": forward_proxy.url, "https_proxy": forward_proxy.url}
    results = await _run(moto_server, storage, metadata_service.url, **proxy)
    assert results["storage.credentials"].status is Status.PASS, results["storage.credentials"]
    assert metadata_service.host_port in forward_proxy.targets({metadata_service.host_port}), forward_proxy.requests()

    # The Server options step names the metadata address the server's SDK will ask, and offers NO_PROXY for it.
    proxy_check = (await _run(moto_server, storage, metadata_service.url, step="server", **proxy))["server.proxy"]
    assert proxy_check.status is Status.WARN and METADATA_HOST in proxy_check.message, proxy_check
    assert proxy_check.fix is not None and METADATA_HOST in proxy_check.fix.changes

    carried = len(forward_proxy.requests())
    asked = len(metadata_service.requests)
    no_proxy = metadata_service.host_port.rpartition(":")[0]
    results = await _run(moto_server, storage, metadata_service.url, **proxy, no_proxy=no_proxy)
    assert results["storage.credentials"].status is Status.PASS, results["storage.credentials"]
    assert len(metadata_service.requests) > asked  # asked again, directly
    assert not any(metadata_service.host_port in target for _, target in forward_proxy.requests()[carried:])


async def test_a_proxy_that_cannot_reach_the_metadata_service_is_named(moto_server, metadata_service):
    metadata_service.credentials = role_credentials(moto_server)
    dead = f"http://127.0.0.1:{closed_port()}"
    results = await _run(moto_server, _storage(moto_server), metadata_service.url, http_proxy=dead, https_proxy=dead)
    credentials = results["storage.credentials"]
    assert credentials.status in (Status.FAIL, Status.ERROR) and dead in credentials.message, credentials


# --- Cloud Storage with the GCE instance's service account ---------------------------------------------------------


def _gce_check(tmp_path, squid_url: str, metadata_host: str, *options: str) -> tuple[dict, str]:
    """`check --json` as an admin runs it, with the admin's own key in GOOGLE_APPLICATION_CREDENTIALS. The server
    goes through Squid, which reaches no outside name (it answers 503), so nothing leaves this machine."""
    import json

    from tests.cli_runner import run_wizard
    from tests.e2e.test_green_means_ready import _service_account_key

    key = tmp_path / "admin-key.json"
    _service_account_key(key, tmp_path)  # wandb@wandb-test...; its token_uri is a closed local port
    answers = tmp_path / "answers.toml"
    answers.write_text(f'[host]\nurl = "{HOST}"\n[storage]\nprovider = "gcs"\nbucket = "wandb-files"\n'
                       f'instance_account = true\n[server]\nhttp_proxy = "{squid_url}"\nhttps_proxy = "{squid_url}"\n')
    result = run_wizard("check", "--answers", str(answers), "--json", "--no-preflight", *options, state=tmp_path / "state",
                        home=tmp_path, passphrase="instance account", cwd=tmp_path, env_extra={
                            "GOOGLE_APPLICATION_CREDENTIALS": str(key), "GCE_METADATA_HOST": metadata_host,
                            "GCE_METADATA_IP": metadata_host})
    report = json.loads(result.stdout)
    (storage,) = [step for step in report["steps"] if step["step"] == "storage"]
    return {item["id"]: item for item in storage["results"]}, result.stderr


def test_the_gce_instances_account_comes_from_its_metadata_server_not_the_shells_key(
        gce_metadata, forward_proxy, tmp_path):  # noqa: F811
    results, stderr = _gce_check(tmp_path, forward_proxy.url, gce_metadata.host_port)
    credentials = results["storage.credentials"]
    assert credentials["status"] == "pass", (credentials, stderr)
    assert gce_metadata.email in credentials["message"] and "wandb@wandb-test" not in credentials["message"]
    assert any("/service-accounts/default/token" in path for path in gce_metadata.requests), gce_metadata.requests
    # The bucket is asked (through the server's proxy, which answers 503 for every outside name) with that token.
    assert results["storage.bucket"]["status"] == "error" and forward_proxy.url in results["storage.bucket"]["message"]
    # signBlob is asked for the account the metadata server names (it was skipped: the email read "default").
    assert results["storage.signing"]["status"] == "error", results["storage.signing"]
    assert forward_proxy.url in results["storage.signing"]["message"], results["storage.signing"]


def test_for_kubernetes_a_pass_with_this_machines_account_is_not_taken_for_the_pods(
        gce_metadata, forward_proxy, tmp_path):  # noqa: F811
    results, stderr = _gce_check(tmp_path, forward_proxy.url, gce_metadata.host_port, "--target", "kubernetes")
    assert results["storage.credentials"]["status"] == "pass", (results, stderr)
    warning = results["storage.instance-account"]
    assert warning["status"] == "warn" and "The pods use their Kubernetes service account" in warning["message"]


def test_no_metadata_server_fails_the_gce_account_even_with_a_key_in_the_shell(forward_proxy, tmp_path):  # noqa: F811
    metadata = f"127.0.0.1:{closed_port()}"
    results, stderr = _gce_check(tmp_path, forward_proxy.url, metadata)
    credentials = results["storage.credentials"]
    assert credentials["status"] == "fail", (credentials, stderr)
    assert credentials["message"].startswith("The instance's service account gave no credentials here: its metadata "
                                             f"server at {metadata} cannot be reached from here."), credentials
    assert "storage.bucket" not in results
    assert stderr == ""  # no warning from google-auth's retries
