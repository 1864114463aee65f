"""Real nginx and Caddy (Debian packages) running a site configuration as the admin would paste it, on loopback.

Only what a machine's main configuration provides is added around the site (pid and temp paths in the test's
directory, no admin endpoint, no redirect listener on port 80); the site itself is used as given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.services import unavailable
from tests.services.local_process import wait_for_port


def _binary(name: str, path: str, service: str) -> str:
    found = shutil.which(name) or (path if Path(path).exists() else None)
    if found is None:
        unavailable(service, f"the {name} command is not installed (apt {name})")
    return str(found)


@contextmanager
def _running(argv: list[str], port: int, directory: Path, what: str, env: dict | None = None,
             logs: tuple[str, ...] = ()) -> Iterator[subprocess.Popen]:
    with open(directory / "output.log", "wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        if not wait_for_port(process, port, 15):
            process.kill()
            process.wait(timeout=10)
            text = "".join((directory / log).read_text(errors="replace") for log in ("output.log", *logs)
                           if (directory / log).exists())
            raise AssertionError(f"{what} did not start on port {port}:\n{text}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def nginx(directory: Path, site: str, port: int) -> Iterator[subprocess.Popen]:
    """nginx with `site` (server blocks, as in /etc/nginx/conf.d/) inside its http {} block."""
    binary = _binary("nginx", "/usr/sbin/nginx", "nginx")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "site.conf").write_text(site)
    temp = "\n".join(f"    {name}_temp_path {directory / name};" for name in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"{user}daemon off;\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} warn;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {directory / 'site.conf'};\n}}\n")
    argv = [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", str(directory / "error.log")]
    with _running(argv, port, directory, "nginx", logs=("error.log",)) as process:
        yield process


@contextmanager
def caddy(directory: Path, site: str, port: int) -> Iterator[subprocess.Popen]:
    """Caddy with `site` as the Caddyfile's site block."""
    binary = _binary("caddy", "/usr/bin/caddy", "Caddy")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "Caddyfile"
    config.write_text(f"{{\n    admin off\n    auto_https disable_redirects\n    skip_install_trust\n"
                      f"    storage file_system {directory / 'data'}\n}}\n\n{site}\n")
    env = {**os.environ, "HOME": str(directory), "XDG_DATA_HOME": str(directory / "data"),
           "XDG_CONFIG_HOME": str(directory / "config")}
    with _running([binary, "run", "--config", str(config), "--adapter", "caddyfile"], port, directory, "Caddy",
                  env=env) as process:
        yield process
