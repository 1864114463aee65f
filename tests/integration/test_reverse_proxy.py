"""TLS at a reverse proxy (Host step, "Reverse proxy"): the nginx and Caddy configurations the wizard gives, run by
real nginx and Caddy in front of the stand-in server on Docker; after launch, HOST/ready is fetched through them and
each way it fails is named."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import free_port
from tests.services.openssl_certs import make_certificates, openssl_missing
from tests.services.reverse_proxies import caddy, nginx
from tests.services.standin_image import standin_image, standin_spec  # noqa: F401 (fixtures)
from wizard import reverse_proxy
from wizard.checks.engine import Status
from wizard.launcher import Options, launch
from wizard.launcher.after_ready import check_host_reachable

FAST = Options(ready_timeout=20, poll_interval=0.2, stop_timeout=5, after_timeout=3)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if problem := openssl_missing():
        pytest.fail(problem)
    return make_certificates(tmp_path_factory.mktemp("proxy-tls"))


def site(kind: str, host_url: str, spec, certs) -> str:
    """The wizard's configuration for this install, exactly as the Host step shows it, with the test's certificate
    where the admin puts theirs."""
    values = {"host": {"url": host_url, "reverse_proxy": True},
              "server": {"bind_address": spec.bind_address, "port": spec.port}}
    (text,) = [i.clipboard for i in reverse_proxy.instructions(values) if i.id == f"host.{kind}"]
    assert f"127.0.0.1:{spec.port}" in text  # the upstream is the published port
    return (text.replace(reverse_proxy.CERT.format(name="localhost"), str(certs.cert))
                .replace(reverse_proxy.KEY.format(name="localhost"), str(certs.key)))


def behind(host_url: str, docker_names, standin_image, certs):  # noqa: F811
    """The stand-in's launch with HOST at the proxy, and options that trust the proxy's CA (--ca-file)."""
    spec = standin_spec(docker_names, standin_image, env={"HOST": host_url}, host_url=host_url)
    return spec, dataclasses.replace(FAST, ca_file=str(certs.ca))


def test_nginx_in_front_green_after_launch_and_each_failure_named(tmp_path, docker_client, docker_names,  # noqa: F811
                                                                  standin_image, certs):  # noqa: F811
    port = free_port()
    host_url = f"https://localhost:{port}"
    spec, options = behind(host_url, docker_names, standin_image, certs)
    config = site("nginx", host_url, spec, certs)
    with nginx(tmp_path / "nginx", config, port):
        result = launch(spec, client=docker_client, options=options)
        assert result.ok, (result.message, result.last_logs)
        assert result.after.host.status is Status.PASS, result.after.host
        assert result.after.host.message == f"{host_url}/ready answers 200 from this machine."

        # The proxy's certificate, from a machine that does not trust its CA.
        untrusted = check_host_reachable(spec, 3)
        assert untrusted.status is Status.WARN
        assert untrusted.message.startswith("HOST's certificate is not trusted from this machine:"), untrusted
        assert "--ca-file" in untrusted.hint

        # The server gone: the proxy answers 502 and the check says the proxy does not reach the server.
        docker_client.containers.get(spec.container_name).stop(timeout=5)
        gone = check_host_reachable(spec, 3, str(certs.ca))
        assert gone.message == (f"{host_url}/ready answers HTTP 502 Bad Gateway: the proxy runs but does not reach "
                                "the server."), gone
        assert f"http://<this server>:{spec.port}" in gone.hint

    # Nothing listens at HOST any more.
    refused = check_host_reachable(spec, 3, str(certs.ca))
    assert refused.message == f"Nothing listens at {host_url}/ready (connection refused).", refused


def test_a_redirect_loop_at_the_proxy_is_named(tmp_path, certs):
    # The classic: a TLS-ending load balancer forwards plain HTTP and the proxy behind it redirects to https again.
    port = free_port()
    looping = (f"server {{\n    listen {port} ssl;\n    ssl_certificate {certs.cert};\n"
               f"    ssl_certificate_key {certs.key};\n    return 301 https://$http_host$request_uri;\n}}\n")
    spec = _spec_for(f"https://localhost:{port}")
    with nginx(tmp_path / "nginx", looping, port):
        got = check_host_reachable(spec, 3, str(certs.ca))
    assert got.status is Status.WARN
    assert got.message.startswith(f"https://localhost:{port}/ready redirects in a loop (HTTP 301 to "), got
    assert "X-Forwarded-Proto" in got.hint


def test_plain_http_on_the_https_port_is_named(tmp_path, certs):
    port = free_port()
    plain = f"server {{\n    listen {port};\n    return 200 'ok';\n}}\n"
    with nginx(tmp_path / "nginx", plain, port):
        got = check_host_reachable(_spec_for(f"https://localhost:{port}"), 3, str(certs.ca))
    assert got.message.startswith("The TLS handshake with HOST fails:"), got
    assert "listen 443 ssl" in got.hint


def test_caddy_in_front_green_after_launch(tmp_path, docker_client, docker_names, standin_image, certs):  # noqa: F811
    port = free_port()
    host_url = f"https://localhost:{port}"
    spec, options = behind(host_url, docker_names, standin_image, certs)
    config = site("caddy", host_url, spec, certs)
    given = tmp_path / "Caddyfile"
    given.write_text(config + "\n")  # as saved by an editor
    check = subprocess.run(["caddy", "adapt", "--config", str(given), "--adapter", "caddyfile"], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stderr  # the Caddyfile as given, without the test's global options
    assert "not formatted" not in check.stderr, check.stderr
    formatted = subprocess.run(["caddy", "fmt", str(given)], capture_output=True, text=True, timeout=30)
    assert formatted.stdout.rstrip("\n") == config.rstrip("\n")  # as `caddy fmt` writes it
    with caddy(tmp_path / "caddy", config, port):
        result = launch(spec, client=docker_client, options=options)
        assert result.ok, (result.message, result.last_logs)
        assert result.after.host.status is Status.PASS, result.after.host


def test_the_nginx_site_as_given_passes_nginx_t(tmp_path, certs):
    # For the usual public install (https on 443, with the http -> https redirect on 80): the text is valid nginx.
    values = {"host": {"url": "https://wandb.example.com", "reverse_proxy": True}, "server": {"port": 8080}}
    (text,) = [i.clipboard for i in reverse_proxy.instructions(values) if i.id == "host.nginx"]
    assert "listen 80;" in text and "return 301 https://$host$request_uri;" in text and "listen 443 ssl;" in text
    text = (text.replace(reverse_proxy.CERT.format(name="wandb.example.com"), str(certs.cert))
                .replace(reverse_proxy.KEY.format(name="wandb.example.com"), str(certs.key)))
    conf = tmp_path / "nginx.conf"
    (tmp_path / "site.conf").write_text(text)
    conf.write_text(f"pid {tmp_path / 'nginx.pid'};\nevents {{}}\nhttp {{ include {tmp_path / 'site.conf'}; }}\n")
    tested = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
                            capture_output=True, text=True, timeout=30)
    assert tested.returncode == 0, tested.stderr
    for needed in ("client_max_body_size 0;", "proxy_set_header Upgrade $http_upgrade;",
                   "proxy_set_header X-Forwarded-Proto $scheme;", "proxy_set_header Host $http_host;",
                   "proxy_read_timeout 600s;", "proxy_pass http://127.0.0.1:8080;"):
        assert needed in text


def _spec_for(host_url: str):
    from wizard.launcher import LaunchSpec

    return LaunchSpec(image="wandb/local", tag="latest", container_name="unused", port=free_port(),
                      host_url=host_url)


def test_no_proxy_configuration_without_a_reverse_proxy():
    assert reverse_proxy.instructions({"host": {"url": "https://wandb.example.com"}}) == []
    assert reverse_proxy.instructions({"host": {"url": "not a url", "reverse_proxy": True}}) == []

