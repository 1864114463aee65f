"""The storage SDKs (boto3, google-cloud-storage and Pub/Sub's gRPC, azure-storage) reach their services as the
server container would: through the proxy the server gets, direct for the names in its NO_PROXY, and never through
the proxy of the shell the wizard runs in (which the server does not get).

The proxy is a real Squid on loopback; the stores are the real emulators (moto, the Cloud Storage and Pub/Sub
emulators, Azurite). Squid's access log says which connections it carried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.check_runs import collect
from tests.integration import test_checks_storage_azure as azure_case
from tests.integration import test_checks_storage_gcs as gcs_case
from tests.integration import test_checks_storage_s3 as s3_case
from tests.services.azurite import azurite  # noqa: F401 (fixture)
from tests.services.forward_proxy import forward_proxy, squid  # noqa: F401 (fixtures)
from tests.services.gcs_emulator import gcs_emulator  # noqa: F401 (fixture)
from tests.services.local_process import closed_port
from tests.services.moto_server import moto_server  # noqa: F401 (fixture)
from tests.services.pubsub_emulator import pubsub_emulator  # noqa: F401 (fixture)
from wizard.checks import CheckContext, Status
from wizard.checks.engine import checks_for
from wizard.draft import validate_step
from wizard.providers.gcs import STORAGE_HOST

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "grpc_proxy")


@dataclass
class Store:
    storage: object  # the File storage section
    extra: dict  # the emulators' endpoints
    passes: tuple[str, ...]  # the checks that pass when the store is reached
    targets: set[str] = field(default_factory=set)  # host:port of every service the checks talk to


def _host_port(url: str) -> str:
    return urlsplit(url).netloc


def _s3(request) -> Store:
    moto = request.getfixturevalue("moto_server")
    bucket = s3_case.make_bucket(moto, cors=[s3_case.GOOD_RULE])
    queue, _, _ = s3_case.make_queue(moto, bucket)
    return Store(s3_case.s3_section(moto, bucket, queue=queue),
                 {"aws_endpoint_url": moto.endpoint, "storage_event_wait": 3.0},
                 ("storage.credentials", "storage.bucket", "storage.probe", "storage.cors", "storage.queue",
                  "storage.notification", "storage.events"),
                 {_host_port(moto.endpoint)})


def _gcs(request) -> Store:
    gcs, pubsub = request.getfixturevalue("gcs_emulator"), request.getfixturevalue("pubsub_emulator")
    bucket = gcs_case.make_bucket(gcs, cors=[gcs_case.GOOD_RULE])
    topic, subscription = gcs_case.make_subscription(pubsub)
    return Store(gcs_case.section(bucket, topic, subscription),
                 {"gcs_endpoint": gcs.endpoint, "pubsub_endpoint": pubsub.host},
                 ("storage.bucket", "storage.probe", "storage.cors", "storage.subscription"),
                 {_host_port(gcs.endpoint), pubsub.host})  # Pub/Sub: a CONNECT tunnel for gRPC


def _azure(request) -> Store:
    server = request.getfixturevalue("azurite")
    container, queue = azure_case.make_container(server), azure_case.make_queue(server)
    return Store(azure_case.section(container, queue),
                 {"azure_blob_endpoint": server.blob_endpoint, "azure_queue_endpoint": server.queue_endpoint,
                  "storage_event_wait": 1.0},
                 ("storage.credentials", "storage.bucket", "storage.probe", "storage.queue"),
                 {_host_port(server.blob_endpoint), _host_port(server.queue_endpoint)})


STORES = {"s3": _s3, "gcs": _gcs, "azure": _azure}


@pytest.fixture(params=sorted(STORES))
def store(request) -> Store:
    return STORES[request.param](request)


async def _run(store: Store, **server_fields) -> dict:
    server, errors = validate_step("server", server_fields)
    assert not errors, errors
    host, _ = validate_step("host", {"url": s3_case.HOST})
    ctx = CheckContext({"storage": store.storage, "host": host, "server": server}, timeout=5.0, extra=store.extra)
    return {item.id: item for item in await collect(checks_for("storage"), ctx)}


def _assert_passed(store: Store, results: dict) -> None:
    missing = [check_id for check_id in store.passes if check_id not in results]
    assert not missing, (missing, [(r.id, r.status, r.message) for r in results.values()])
    for check_id in store.passes:
        assert results[check_id].status is Status.PASS, results[check_id]


async def test_the_servers_proxy_carries_every_call_of_the_storage_checks(store, forward_proxy):  # noqa: F811
    results = await _run(store, http_proxy=forward_proxy.url, https_proxy=forward_proxy.url)
    _assert_passed(store, results)
    assert forward_proxy.targets(store.targets) == store.targets, forward_proxy.requests()


async def test_no_proxy_sends_the_store_direct(store, forward_proxy):  # noqa: F811
    hosts = ",".join(sorted({target.rpartition(":")[0] for target in store.targets}))
    results = await _run(store, http_proxy=forward_proxy.url, https_proxy=forward_proxy.url, no_proxy=hosts)
    _assert_passed(store, results)
    assert forward_proxy.requests() == []


async def test_a_no_proxy_in_the_shell_does_not_send_the_store_direct(store, forward_proxy, monkeypatch):  # noqa: F811
    # The server goes through its proxy; the admin's shell exempts the store's hosts. gRPC (Pub/Sub) reads the
    # shell's no_proxy itself, unless no_grpc_proxy is pinned empty, as the command line does when it starts.
    from wizard.cli import pin_grpc_proxy_choice

    hosts = ",".join(sorted({target.rpartition(":")[0] for target in store.targets}))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, hosts)
    monkeypatch.delenv("no_grpc_proxy", raising=False)
    pin_grpc_proxy_choice()
    results = await _run(store, http_proxy=forward_proxy.url, https_proxy=forward_proxy.url)
    _assert_passed(store, results)
    assert forward_proxy.targets(store.targets) == store.targets, forward_proxy.requests()


async def test_the_shells_proxy_is_never_used_by_the_storage_checks(store, monkeypatch):
    # The admin's shell has proxies that go nowhere; the server gets none, so the checks connect directly.
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy", "no_grpc_proxy"):
        monkeypatch.delenv(name, raising=False)
    _assert_passed(store, await _run(store))


async def test_a_proxy_the_server_gets_but_that_is_down_fails_the_storage_checks(store):
    dead = f"http://127.0.0.1:{closed_port()}"
    results = await _run(store, http_proxy=dead, https_proxy=dead)
    assert results, "no results"
    passed = [check_id for check_id in store.passes if check_id in results and results[check_id].status is Status.PASS]
    assert passed == [], [(check_id, results[check_id].message) for check_id in passed]
    failed = [result for result in results.values() if result.status in (Status.FAIL, Status.ERROR)]
    assert failed
    for result in failed:  # each says it was the proxy, naming it, and what to do
        assert "The proxy the server gets" in result.message and dead in result.message, result
        assert "No proxy for" in result.hint, result


def _guard_lookups(monkeypatch) -> list[str]:
    """Names this process tries to resolve itself (none may be outside: a direct request would have been made).
    The lookup is refused, so nothing leaves this machine even if the product went direct."""
    import socket

    asked: list[str] = []
    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("localhost", "127.0.0.1", "::1") or name.replace(".", "").isdigit():
            return real(host, *args, **kwargs)
        asked.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "refused by the test: no outside lookups")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return asked


async def test_amazons_own_endpoints_go_through_the_servers_proxy_whatever_the_shells_endpoint_variables(
        forward_proxy, monkeypatch, moto_server):  # noqa: F811
    # No emulator: AWS's regional endpoints, as the server uses them. The admin's shell names another S3 endpoint
    # (the server gets none of it); the proxy resolves nothing outside, answers 503, and logs where each went.
    elsewhere = f"http://127.0.0.1:{closed_port()}"
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.setenv(name, elsewhere)
    storage = s3_case.s3_section(moto_server, "wandb-files", queue="wandb-events")
    asked = _guard_lookups(monkeypatch)
    results = await _run(Store(storage, {"storage_event_wait": 1.0}, ()), http_proxy=forward_proxy.url,
                         https_proxy=forward_proxy.url)
    carried = forward_proxy.targets({"sts.us-east-1.amazonaws.com:443", "sqs.us-east-1.amazonaws.com:443"}, seconds=10)
    assert {"sts.us-east-1.amazonaws.com:443", "sqs.us-east-1.amazonaws.com:443"} <= carried, forward_proxy.requests()
    assert all(target.endswith(".amazonaws.com:443") for target in carried), carried
    assert asked == []
    for check_id in ("storage.credentials", "storage.cors", "storage.queue"):
        assert forward_proxy.url in results[check_id].message, results[check_id]


@pytest.mark.parametrize("shell", ["plain", "emulator variables"])
async def test_googles_own_endpoints_and_the_keys_token_uri_go_through_the_servers_proxy(
        forward_proxy, tmp_path, monkeypatch, shell):  # noqa: F811
    # No emulator: the endpoints the server uses in production. The proxy resolves nothing outside (its hosts file
    # only), so it answers 503 itself; its log shows where every request was going. The SDKs' own emulator and
    # endpoint variables in the admin's shell (the server gets none) change nothing.
    from tests.e2e.test_green_means_ready import _service_account_key

    if shell == "emulator variables":
        elsewhere = f"127.0.0.1:{closed_port()}"
        for name in ("STORAGE_EMULATOR_HOST", "API_ENDPOINT_OVERRIDE"):
            monkeypatch.setenv(name, f"http://{elsewhere}")
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", elsewhere)

    key = tmp_path / "key.json"
    _service_account_key(key, tmp_path)
    key.write_text(key.read_text().replace("http://127.0.0.1:9/token", "https://oauth2.private.example.test/token"))
    storage, errors = validate_step("storage", {"provider": "gcs", "gcs": {
        "bucket": "wandb-files", "credentials_file": str(key), "project": "wandb-test", "topic": "wandb-events",
        "subscription": "wandb-sub"}})
    assert not errors, errors
    asked = _guard_lookups(monkeypatch)
    results = await _run(Store(storage, {}, ()), http_proxy=forward_proxy.url, https_proxy=forward_proxy.url)
    carried = forward_proxy.targets({"oauth2.private.example.test:443", "pubsub.googleapis.com:443"}, seconds=10)
    assert "oauth2.private.example.test:443" in carried, forward_proxy.requests()  # the key's own token endpoint
    assert "pubsub.googleapis.com:443" in carried, forward_proxy.requests()  # gRPC, through a CONNECT tunnel
    assert all(target.endswith((".googleapis.com:443", "oauth2.private.example.test:443")) for target in carried)
    assert asked == []  # nothing was looked up to be reached directly
    for check_id in ("storage.bucket", "storage.subscription"):  # the proxy's 503 is said as the proxy's
        result = results[check_id]
        assert result.status is Status.ERROR and forward_proxy.url in result.message, result
    preflight = results["storage.preflight"]  # the signed URL names the server's endpoint, not an emulator's
    assert "The proxy the server gets" in preflight.message and STORAGE_HOST in preflight.message, preflight
