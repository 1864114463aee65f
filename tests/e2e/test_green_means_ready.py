"""Green means the server works: the wizard's checks and the faithful stand-in agree, end to end.

Services run on this machine as a real admin's would: MariaDB and Redis (TLS, a private CA) on 127.0.0.1 and also
on the Docker bridge (a forwarder on the gateway address, as `bind-address` would do), reached by the server as
host.docker.internal; moto as an S3-compatible store on this machine's own address. The configuration is built from
the same draft values the wizard keeps, checked with every live check (`check_all`), then launched from the same
container inputs (`launch_spec`) with the real Docker Engine. The stand-in (tests/services/standin/entrypoint.sh)
gets ready only when it can resolve and connect to every dependency from inside the container and read every file
it is given as UID 999.

The good configuration passes every check about reaching, trusting and logging in to the services, and gets ready;
each mistake that breaks real installs is either caught by a check (and the stand-in, launched anyway, never gets
ready: the check was right) or made harmless by the rendered inputs (then ready).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.services.azurite import ACCOUNT as AZURE_ACCOUNT
from tests.services.azurite import KEY as AZURE_KEY
from tests.services.azurite import azurite  # noqa: F401 (fixture)
from tests.services.bridge_listener import TcpForwarder, bridge_gateway  # noqa: F401 (fixtures)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.gcs_emulator import gcs_emulator  # noqa: F401 (fixture)
from tests.services.host_address import machine_address
from tests.services.local_process import free_port
from tests.services.mariadb import MariaDB, mariadb  # noqa: F401 (fixtures)
from tests.services.moto_server import moto_server  # noqa: F401 (fixtures)
from tests.services.redis_tls import RedisServer, _redis_tls_server, redis_tls  # noqa: F401 (fixtures)
from tests.services.standin_image import (  # noqa: F401 (fixtures)
    dependency_errors,
    received_environment,
    standin_image,
)
from wizard.checks import CheckContext, Status, checks_for
from wizard.checks.all_steps import check_all
from tests.check_runs import collect
from wizard.container import HOST_ALIAS
from wizard.draft import ConfigErrors, build_config
from wizard.launch_plan import launch_spec
from wizard.launcher import Options, launch

READY = Options(ready_timeout=40, poll_interval=0.2, after_timeout=2)
NEVER_READY = Options(ready_timeout=6, poll_interval=0.3, after_timeout=1)
REACHING = ("database.reachable", "database.tls", "database.login", "cache.reachable", "cache.tls", "cache.auth",
            "cache.ping", "storage.endpoint", "storage.credentials", "storage.bucket", "storage.probe")


@pytest.fixture
def on_the_bridge(bridge_gateway, mariadb: MariaDB, redis_tls: RedisServer):  # noqa: F811
    """MariaDB and Redis also listening on the Docker bridge's gateway address (what the admin configures)."""
    forwarders = {"mysql": TcpForwarder(bridge_gateway, mariadb.port), "redis": TcpForwarder(bridge_gateway,
                                                                                            redis_tls.port)}
    yield forwarders
    for forwarder in forwarders.values():
        forwarder.close()


@pytest.fixture
def good(tmp_path, docker_names, standin_image, mariadb, redis_tls, moto_server, on_the_bridge):  # noqa: F811
    """Draft values and secrets of a complete external configuration, as the wizard keeps them."""
    account = mariadb.account()
    bucket = moto_server.unique("green")
    moto_server.client("s3").create_bucket(Bucket=bucket)
    # The Redis CA as an admin keeps it: root's, 0600. UID 999 in the container could not read it as it is.
    ca = tmp_path / "redis-ca.pem"
    shutil.copy(redis_tls.certs.ca, ca)
    os.chmod(ca, 0o600)
    port = free_port()
    repository, _, tag = standin_image.rpartition(":")
    values = {
        "host": {"url": f"http://127.0.0.1:{port}"},
        "storage": {"provider": "s3-compatible", "s3_compatible": {
            "endpoint": f"{machine_address()}:{moto_server.port}", "bucket": bucket,
            "access_key": moto_server.access_key_id, "tls": False}},
        "database": {"provider": "mysql", "mysql": {
            "host": HOST_ALIAS, "port": on_the_bridge["mysql"].port, "user": account.user,
            "database": account.database, "tls": "required", "ca_file": str(mariadb.certs.ca)}},
        "cache": {"provider": "redis", "redis": {
            "host": HOST_ALIAS, "port": on_the_bridge["redis"].port, "user": redis_tls.user, "tls": True,
            "ca_file": str(ca)}},
        "server": {"image": repository, "tag": tag, "container_name": docker_names("server"), "port": port,
                   "bind_address": "127.0.0.1", "volume": docker_names("data"), "restart_policy": "no"},
    }
    secrets = {"database.mysql.password": account.password, "cache.redis.password": redis_tls.password,
               "storage.s3_compatible.secret_key": moto_server.secret_access_key}
    return values, secrets


def _edit(values: dict, step: str, **fields) -> dict:
    provider = values[step]["provider"].replace("-", "_")
    return {**values, step: {**values[step], provider: {**values[step][provider], **fields}}}


async def _checked(values, secrets) -> dict:
    cfg = build_config(values, secrets)
    reports = await check_all(cfg, timeout=30.0)  # generous: under load a good service can take over 5 s
    return {result.id: result for report in reports for result in report.results}


def _launch(values, secrets, docker_client, options: Options):  # noqa: F811
    spec = launch_spec(build_config(values, secrets), "green").with_environment(STANDIN_READY_DELAY="0.2")
    result = launch(spec, client=docker_client, options=options)
    return spec, result, docker_client.containers.get(spec.container_name)


async def test_a_good_configuration_is_green_and_the_server_gets_ready(good, docker_client, mariadb):  # noqa: F811
    values, secrets = good
    results = await _checked(values, secrets)
    for check_id in REACHING:
        assert results[check_id].status is Status.PASS, results[check_id]
    assert "host.docker.internal is this machine for the container" in results["database.reachable"].message
    assert "caCertPath" in results["cache.url"].message
    # MariaDB is not MySQL 8 (a real failure, about the server's version, not about reaching it).
    assert results["database.version"].status is Status.FAIL

    spec, result, container = _launch(values, secrets, docker_client, READY)
    assert result.ok, (result.message, container.logs()[-2000:])
    assert dependency_errors(container.logs()) == {}
    received = received_environment("127.0.0.1", spec.port)
    assert "caCertPath=/etc/wandb-local-setup/redis-ca.pem" in received["REDIS"]
    assert received["REDIS"].endswith("ttlInSeconds=604800")
    assert received["MYSQL_CA_CERT_PATH"] == "/etc/wandb-local-setup/mysql-ca.pem"
    container.reload()
    assert f"{HOST_ALIAS}:host-gateway" in container.attrs["HostConfig"]["ExtraHosts"]
    files = {m["Destination"]: m for m in container.attrs["Mounts"] if m["Type"] == "bind"}
    assert set(files) == {"/etc/wandb-local-setup/redis-ca.pem", "/etc/wandb-local-setup/mysql-ca.pem"}
    assert all(not mount["RW"] for mount in files.values())
    # The server got a copy it can read; the admin's own file stayed as it was.
    staged = files["/etc/wandb-local-setup/redis-ca.pem"]["Source"]
    assert os.stat(staged).st_uid == 999 and oct(os.stat(staged).st_mode & 0o777) == "0o400"
    assert oct(os.stat(values["cache"]["redis"]["ca_file"]).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("mistake", ["mysql-on-loopback", "redis-only-on-127.0.0.1", "redis-on-localhost"])
async def test_a_mistake_is_caught_by_its_check_and_the_server_would_never_get_ready(
        good, mistake, docker_client, mariadb, redis_tls):  # noqa: F811
    values, secrets = good
    if mistake == "mysql-on-loopback":  # the MySQL is on this machine, but 127.0.0.1 is the container itself
        values, failing, variable, step = _edit(values, "database", host="127.0.0.1", port=mariadb.port), \
            "database.reachable", "MYSQL", "Database"
    elif mistake == "redis-only-on-127.0.0.1":  # host.docker.internal, but Redis listens on 127.0.0.1 only
        values, failing, variable, step = _edit(values, "cache", port=redis_tls.port), "cache.reachable", "REDIS", \
            "Cache"
    else:
        values, failing, variable, step = _edit(values, "cache", host="localhost", port=redis_tls.port), \
            "cache.reachable", "REDIS", "Cache"
    results = await _checked(values, secrets)
    assert results[failing].status is Status.FAIL, results[failing]

    _, result, container = _launch(values, secrets, docker_client, NEVER_READY)
    assert not result.ok
    assert variable in dependency_errors(container.logs()), container.logs()[-2000:]
    # The launcher read the reason in the log and names the step to correct.
    assert f"The log names a problem with {step} (ERROR dependency {variable}:" in result.watch.hint


async def test_s3_without_keys_is_refused_before_anything_runs(good):
    values, secrets = good
    values = {**values, "storage": {"provider": "s3", "s3": {"bucket": "acme-wandb", "region": "us-east-1"}}}
    with pytest.raises(ConfigErrors) as refused:
        build_config(values, secrets)
    assert "the server needs credentials for the bucket" in str(refused.value)


# --- Cloud storage: the checks pass against the emulators, and the server gets the credentials they used --------


def _service_account_key(path, tmp_path) -> None:
    """A service-account key file as Google issues them (a real RSA key; nothing is ever signed with it here)."""
    import json
    import subprocess

    pem = tmp_path / "sa.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(pem), "2048"], check=True, capture_output=True, timeout=60)
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "wandb-test", "private_key_id": "0" * 40,
        "private_key": pem.read_text(), "client_email": "wandb@wandb-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "http://127.0.0.1:9/token",  # a closed port: never fetched (emulator)
    }))
    os.chmod(path, 0o600)  # as an admin keeps a key: only root may read it


@pytest.fixture
def cloud(request, tmp_path, moto_server, docker_names, standin_image):  # noqa: F811
    """(storage draft, secrets, check extra) for one cloud provider against its emulator."""
    provider = request.param
    if provider == "s3":
        bucket = moto_server.unique("green")
        moto_server.client("s3").create_bucket(Bucket=bucket)
        return ({"provider": "s3", "s3": {"bucket": bucket, "region": "us-east-1",
                                          "access_key_id": moto_server.access_key_id}},
                {"storage.s3.secret_access_key": moto_server.secret_access_key},
                {"aws_endpoint_url": moto_server.endpoint, "storage_event_wait": 1.0})
    if provider == "gcs":
        gcs = request.getfixturevalue("gcs_emulator")
        bucket = gcs.unique("green")
        gcs.client().create_bucket(bucket)
        key = tmp_path / "gcs-key.json"
        _service_account_key(key, tmp_path)
        return ({"provider": "gcs", "gcs": {"bucket": bucket, "credentials_file": str(key)}}, {},
                {"gcs_endpoint": gcs.endpoint})
    server = request.getfixturevalue("azurite")
    container = server.unique("green")
    server.blob_service().create_container(container)
    return ({"provider": "azure", "azure": {"account": AZURE_ACCOUNT, "container": container}},
            {"storage.azure.account_key": AZURE_KEY},
            {"azure_blob_endpoint": server.blob_endpoint, "azure_queue_endpoint": server.queue_endpoint})


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"], indirect=True)
async def test_cloud_storage_checked_green_gets_the_server_ready(cloud, good, docker_client):  # noqa: F811
    storage, storage_secrets, extra = cloud
    values, secrets = good
    values = {key: value for key, value in values.items() if key not in ("database", "cache")}
    values["storage"] = storage
    secrets = {**storage_secrets}
    cfg = build_config(values, secrets)
    # 30 s: the emulators answer at once, but under load (a second suite on the other core) the S3 check once ran
    # past 5 s and gave one "no answer" result instead of its bucket and probe results.
    ctx = CheckContext({"storage": cfg.storage, "host": cfg.host}, timeout=30.0, extra=extra)
    results = {result.id: result for result in await collect(checks_for("storage"), ctx)}
    for check_id in ("storage.bucket", "storage.probe"):
        assert check_id in results and results[check_id].status is Status.PASS, results

    spec, result, container = _launch(values, secrets, docker_client, READY)
    assert result.ok, (result.message, container.logs()[-2000:])
    received = received_environment("127.0.0.1", spec.port)
    if storage["provider"] == "s3":  # the keys the checks used are the server's own
        assert received["AWS_ACCESS_KEY_ID"] == storage["s3"]["access_key_id"]
        assert received["AWS_SECRET_ACCESS_KEY"] == storage_secrets["storage.s3.secret_access_key"]
    elif storage["provider"] == "gcs":  # the key file, 0600 root's, reached the server as a copy UID 999 reads
        assert received["GOOGLE_APPLICATION_CREDENTIALS"] == "/etc/wandb-local-setup/gcs-key.json"
        container.reload()
        staged = next(m["Source"] for m in container.attrs["Mounts"] if m["Destination"].endswith("gcs-key.json"))
        assert os.stat(staged).st_uid == 999 and os.stat(staged).st_mode & 0o077 == 0
    else:
        assert received["AZURE_STORAGE_KEY"] == AZURE_KEY
