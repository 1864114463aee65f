"""Leaks: canary values in every secret field, then a search for each canary everywhere a secret must not be.

Headless: `check`, `apply` (launching the stand-in server on a real Docker Engine), `export` in every format
without --with-secrets, `sessions show|list|export`, for the S3-compatible + MySQL + Redis + Slack + license
configuration and for the Azure and Amazon S3 storage secrets (one storage provider per answers file). While the
commands run, a thread samples /proc/*/cmdline every ~10 ms. Then every file under HOME (the state dir is inside
it), stdout/stderr, the exports and `docker inspect` of the container (labels and everything else except its
environment) are searched. The container's environment is the one expected place: asserted too, together with an
export made --with-secrets, so the search is proven able to find the canaries.

TUI: a Pilot run at 80x24 with the real Secret Service (gnome-keyring) typing canaries into every secret field,
screenshots (SVG) at each step, then the state dir and the SVGs are searched; the committed snapshot SVGs must hold
no canary either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

from tests.jws import make_license
from tests.services.bridge_listener import BridgeListener, bridge_listener  # noqa: F401 (fixture)
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.cli_runner import run_wizard
from tests.services.local_process import free_port
from tests.services.standin_image import (  # noqa: F401
    DOCKER_ADDED,
    received_environment,
    standin_image,
    standin_server_toml,
)

ROOT = Path(__file__).resolve().parents[2]
PASS = "leak passphrase"


def _canaries() -> dict[str, str]:
    tag = uuid.uuid4().hex[:12]
    return {
        "T_LICENSE": make_license(sub=f"CANARY-license-{tag}"),  # the whole token is the secret
        "T_S3C_SECRET": f"CANARY-s3c-{tag}",
        "T_MYSQL": f"CANARY-mysql-{tag}",
        "T_REDIS": f"CANARY-redis-{tag}",
        "T_SLACK": uuid.uuid4().hex,  # a Slack client secret is 32 hex characters
        "T_AZURE": f"CANARY-azure-{tag}",
        "T_S3_SECRET": f"CANARY-s3-{tag}",
        "T_OIDC": f"CANARY-oidc-{tag}",
        "T_EXTRA": f"CANARY-extra-{tag}",  # a secret extra option (GORILLA_API_TOKEN)
    }


class CmdlineSampler:
    """Reads /proc/*/cmdline of every process every ~10 ms while running; keeps each distinct command line."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/cmdline", "rb") as f:
                            self.seen.add(f.read())
                    except OSError:
                        pass
            self.samples += 1
            time.sleep(0.01)

    def __enter__(self) -> CmdlineSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _hits(data: bytes | str, canaries: dict[str, str]) -> list[str]:
    if isinstance(data, str):
        data = data.encode()
    return [name for name, value in canaries.items() if value.encode() in data]


class Cli:
    def __init__(self, home: Path, canaries: dict[str, str]) -> None:
        self.home, self.canaries = home, canaries
        self.outputs: list[tuple[str, str]] = []  # (command, stdout+stderr)
        self.timings: list[tuple[str, float]] = []

    def __call__(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        began = time.monotonic()
        try:
            result = run_wizard(*args, state=self.home / "state", home=self.home, passphrase=PASS, timeout=timeout,
                                cwd=self.home, env_extra={"PYTHONPATH": str(ROOT), **self.canaries})
        finally:
            self.timings.append((" ".join(args)[:60], round(time.monotonic() - began, 1)))
        self.outputs.append((" ".join(args), result.stdout + result.stderr))
        return result


def _closed_port() -> int:
    return free_port()  # nothing listens there: the checks fail at once, as against an unreachable service


def _main_answers(path: Path, session: str, names, image_ref: str, port: int, listener: BridgeListener) -> Path:
    """The store, MySQL and Redis are the bridge listener: the stand-in connects to each from its container before
    it gets ready, while the checks run from here fail at once (a TCP accept that closes speaks no protocol)."""
    path.write_text(textwrap.dedent(f"""
        session = "{session}"
        [license]
        key = "env:T_LICENSE"
        [host]
        url = "http://127.0.0.1:{port}"
        [storage]
        provider = "s3-compatible"
        endpoint = "{listener.address}"
        bucket = "leak-bucket"
        access_key = "LEAKACCESSKEY"
        secret_key = "env:T_S3C_SECRET"
        tls = false
        [database]
        provider = "mysql"
        host = "{listener.host}"
        port = {listener.port}
        password = "env:T_MYSQL"
        [cache]
        provider = "redis"
        host = "{listener.host}"
        port = {listener.port}
        user = "wandb"
        password = "env:T_REDIS"
        tls = false
        [slack]
        client_id = "1234567890.9876543210"
        secret = "env:T_SLACK"
        """).lstrip() + standin_server_toml(names, image_ref, port)
        + '[[server.extra_env]]\nname = "GORILLA_API_TOKEN"\nvalue = "env:T_EXTRA"\n')
    return path


def _storage_answers(path: Path, session: str, storage: str) -> Path:
    path.write_text(f'session = "{session}"\n[license]\nkey = "env:T_LICENSE"\n[host]\nurl = "https://wandb.example.com"\n'
                    f"[storage]\n{storage}\n")
    return path


AZURE = 'provider = "azure"\naccount = "leakaccount"\ncontainer = "files"\nqueue = "events"\naccount_key = "env:T_AZURE"'
AMAZON_S3 = ('provider = "s3"\nbucket = "leak-bucket"\nregion = "us-east-1"\nqueue = "leak-queue"\n'
             'access_key_id = "AKIALEAKTEST"\nsecret_access_key = "env:T_S3_SECRET"\n'
             # a confidential OIDC client beside it (this variant is only checked and exported, never launched)
             '[sso]\nprovider = "oidc"\nissuer = "https://127.0.0.1:9/idp"\nclient_id = "leak-app"\n'
             'client_secret = "env:T_OIDC"')


def test_headless_run_leaks_no_secret(tmp_path, docker_client, docker_names, standin_image,  # noqa: F811
                                     bridge_listener):  # noqa: F811
    canaries = _canaries()
    home = tmp_path / "home"
    home.mkdir()
    cli = Cli(home, canaries)
    session = docker_names("session")
    port = free_port()
    main = _main_answers(home / "answers.toml", session, docker_names, standin_image, port, bridge_listener)
    started = time.monotonic()

    with CmdlineSampler() as sampler:
        checked = cli("check", "--answers", str(main), "--timeout", "3")
        # MySQL, Redis, the bucket: a listener that speaks none of their protocols
        assert checked.returncode == 8, checked.stdout + checked.stderr
        assert "Overall: fail" in checked.stdout
        checked_json = cli("check", "--answers", str(main), "--timeout", "3", "--json")
        assert json.loads(checked_json.stdout)["overall"] == "fail"
        applied = cli("apply", "--answers", str(main), "--skip-checks", "--ready-timeout", "60")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        for variant, storage in (("azure", AZURE), ("s3", AMAZON_S3)):
            other = _storage_answers(home / f"{variant}.toml", f"{session}-{variant}", storage)
            result = cli("check", "--answers", str(other), "--timeout", "3")
            assert result.returncode in (7, 8), result.stdout + result.stderr
            result = cli("apply", "--answers", str(other), "--skip-checks", "--dry-run")
            assert result.returncode == 0, result.stdout + result.stderr
    commands = {line for line in sampler.seen if b"wizard" in line}
    assert sampler.samples > 50 and any(b"apply" in line for line in commands), "the sampler saw nothing"

    # Exports without --with-secrets, sessions commands: all of them under HOME, so the file search covers them.
    exports = home / "exports"
    for source in (["--answers", str(main)], ["--session", session],
                   ["--answers", str(home / "azure.toml")], ["--answers", str(home / "s3.toml")]):
        label = Path(source[1]).stem
        formats = [("env", "wandb.env"), ("compose", "compose/docker-compose.yml"),
                   ("operator", "k8s/wandb-operator.yaml"), ("docker-run", "run-wandb.sh")]
        if source[0] == "--session" or label in ("azure", "s3"):
            # env and docker-run only: compose and the operator's resource render the same settings (and every
            # command on a session opens the encrypted keyring file, which takes seconds per secret)
            formats = formats[::3]
        for fmt, out in formats:
            result = cli("export", *source, "--format", fmt, "--out", str(exports / label / out))
            assert result.returncode == 0, result.stdout + result.stderr
    for name in (session, f"{session}-azure", f"{session}-s3"):
        assert cli("sessions", "show", name).returncode == 0
    assert cli("sessions", "export", session, "--out", str(home / f"{session}.answers.toml")).returncode == 0
    assert cli("sessions", "list").returncode == 0

    # The one expected place: the container's environment holds the secrets wandb/local needs ...
    received = received_environment("127.0.0.1", port)
    container_env = "\n".join(f"{k}={v}" for k, v in received.items() if k not in DOCKER_ADDED)
    needed = {"T_LICENSE", "T_S3C_SECRET", "T_MYSQL", "T_REDIS", "T_SLACK", "T_EXTRA"}
    assert set(_hits(container_env, canaries)) == needed, container_env.replace(";", " ")
    # ... and an export asked --with-secrets does too (outside HOME): the search below can find every canary.
    control = tmp_path / "control"
    for source in (main, home / "azure.toml", home / "s3.toml"):
        result = cli("export", "--answers", str(source), "--format", "env", "--out", str(control / f"{source.stem}.env"),
                     "--with-secrets")
        assert result.returncode == 0, result.stderr
    found = set()
    for file in control.iterdir():
        found |= set(_hits(file.read_bytes(), canaries))
    assert found == set(canaries)
    # The Amazon S3 key and the OIDC client secret are the server's own (AWS_SECRET_ACCESS_KEY, GORILLA_OIDC_SECRET).
    assert set(_hits((control / "s3.env").read_text(), canaries)) >= {"T_S3_SECRET", "T_OIDC"}

    problems = []
    for command, output in cli.outputs:
        if "--with-secrets" not in command and _hits(output, canaries):
            problems.append(f"output of `{command}`: {_hits(output, canaries)}")
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {f"{session}.json", "secrets.cfg", "wandb.env", "docker-compose.yml", "wandb-operator.yaml",
            "wandb-operator-secrets.sh", "run-wandb.sh"} <= names, names  # sessions, the keyring file, exports: the search covers them
    for file in files:
        if _hits(file.read_bytes(), canaries):
            problems.append(f"file {file.relative_to(home)}: {_hits(file.read_bytes(), canaries)}")
    for line in sampler.seen:
        if _hits(line, canaries):
            shown = line.replace(b"\0", b" ")[:200]
            problems.append(f"command line {shown!r}: {_hits(line, canaries)}")
    container = docker_client.containers.get(docker_names("server"))
    attrs = json.loads(json.dumps(container.attrs))
    labels = json.dumps(attrs["Config"].get("Labels") or {})
    if _hits(labels, canaries):
        problems.append(f"container labels: {_hits(labels, canaries)}")
    assert _hits(json.dumps(attrs["Config"]["Env"]), canaries)  # inspect shows the environment (expected) ...
    attrs["Config"]["Env"] = []
    if _hits(json.dumps(attrs), canaries):  # ... and nothing else of it: args, entrypoint, mounts, labels
        problems.append(f"docker inspect (outside Config.Env): {_hits(json.dumps(attrs), canaries)}")
    image = docker_client.images.get(container.image.id).attrs
    if _hits(json.dumps(image), canaries):
        problems.append(f"image: {_hits(json.dumps(image), canaries)}")
    logs = container.logs()
    if _hits(logs, canaries):
        problems.append(f"container log: {_hits(logs, canaries)}")
    assert not problems, "secrets leaked:\n" + "\n".join(problems)
    print(f"headless leak run: {len(cli.outputs)} commands, {len(files)} files, {len(sampler.seen)} command lines "
          f"({sampler.samples} samples), {time.monotonic() - started:.1f} s: {cli.timings}")


# --- the TUI ----------------------------------------------------------------------------------------------------

SNAPSHOTS = ROOT / "tests" / "screens" / "__snapshots__"
TUI_SESSION = "leak-tui"


def _all_texts(app) -> str:
    """Every text widget's whole content (also what is scrolled out of the 80x24 view), and the screen."""
    from textual.widgets import Static

    from tests.screens.helpers import screen_text

    parts = [screen_text(app)]
    for screen in app.screen_stack:
        parts += [str(widget.render()) for widget in screen.query(Static)]
    return "\n".join(parts)


async def test_tui_run_leaks_no_secret(tui_home):  # tui_home brings the Secret Service keyring
    from screens.app import WizardApp
    from tests.screens.helpers import choose, ready, settle, type_field, wait_for
    from wizard import draft, secrets
    from wizard.session import SessionStore

    canaries = _canaries()
    typed = {  # step, provider (or None), secret field path, canary
        "license.key": ("license", None, ("key",), canaries["T_LICENSE"]),
        "sso.okta.client_secret": ("sso", "okta", ("okta", "client_secret"), canaries["T_OIDC"]),
        "sso.oidc.client_secret": ("sso", "oidc", ("oidc", "client_secret"), canaries["T_OIDC"] + "-generic"),
        "storage.s3.secret_access_key": ("storage", "s3", ("s3", "secret_access_key"), canaries["T_S3_SECRET"]),
        "storage.azure.account_key": ("storage", "azure", ("azure", "account_key"), canaries["T_AZURE"]),
        "storage.s3_compatible.secret_key": ("storage", "s3-compatible", ("s3_compatible", "secret_key"),
                                             canaries["T_S3C_SECRET"]),
        "database.mysql.password": ("database", "mysql", ("mysql", "password"), canaries["T_MYSQL"]),
        "cache.redis.password": ("cache", "redis", ("redis", "password"), canaries["T_REDIS"]),
        "slack.secret": ("slack", None, ("secret",), canaries["T_SLACK"]),
    }
    assert set(typed) == set(draft.secret_ids()), "a secret field of the app is not covered here"
    plain_values = {  # visible values typed too: the screenshots must show these (the search works on them)
        "storage": [(("s3_compatible", "endpoint"), f"127.0.0.1:{_closed_port()}"),
                    (("s3_compatible", "bucket"), "leak-tui-bucket"), (("s3_compatible", "access_key"), "LEAKTUIKEY")],
        "database": [(("mysql", "host"), "127.0.0.1")],
        "cache": [(("redis", "host"), "127.0.0.1")],
        "slack": [(("client_id",), "1234567890.9876543210")],
    }
    store = secrets.open_store("secretservice")
    store.delete_all(TUI_SESSION, draft.secret_ids())
    shots: dict[str, str] = {}
    texts: dict[str, str] = {}
    app = WizardApp(TUI_SESSION, new=True, keyring_backend="secretservice")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, "welcome")
        await wait_for(pilot, lambda: app.flow.secrets is not None, what="the Secret Service keyring")
        # Output flushed while the app runs goes through Textual's App._flush(stderr=...) hook (the app once
        # shadowed it with its own _flush(step) and crashed here).
        print("stderr while the wizard runs", file=sys.stderr, flush=True)
        for step in ("license", "host", "sso", "storage", "database", "cache", "slack"):
            app.go_to(step)
            await wait_for(pilot, lambda s=step: app.current_step == s and app.view.STEP == s, what=step)
            if step == "host":
                await type_field(pilot, "host", ("url",), f"http://127.0.0.1:{_closed_port()}")
            for secret_step, provider, path, value in typed.values():
                if secret_step != step:
                    continue
                if provider is not None:
                    await choose(pilot, step, ("provider",), provider)
                await type_field(pilot, step, path, value)  # a terminal paste into the hidden field
                shots[f"{step}-{provider}"] = app.export_screenshot()
                texts[f"{step}-{provider}"] = _all_texts(app)
            for path, value in plain_values.get(step, []):
                await type_field(pilot, step, path, value)
            if step == "sso":  # the client secrets stay in the keyring; the review needs a complete SSO step
                await choose(pilot, "sso", ("provider",), "none")
            await pilot.pause(0.2)
            shots[step] = app.export_screenshot()
            texts[step] = _all_texts(app)
        await settle(pilot)
        for step in ("review", "launch"):
            app.go_to(step)
            await wait_for(pilot, lambda s=step: app.current_step == s and app.view.STEP == s, what=step)
            await pilot.pause(0.3)
            shots[step] = app.export_screenshot()
            texts[step] = _all_texts(app)
        assert "BUCKET=" in texts["review"] and "leak-tui-bucket" in texts["review"], texts["review"][-2000:]
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+q")
        await pilot.pause()

    # Every canary was typed and reached the keyring (the one place for them besides the container).
    for secret_id, (_, _, _, value) in typed.items():
        assert store.get(TUI_SESSION, secret_id) == value, secret_id
    session = SessionStore(tui_home / "state" / "sessions").load(TUI_SESSION)
    assert session.values["storage"]["s3_compatible"]["bucket"] == "leak-tui-bucket"

    problems = []
    assert "leak-tui-bucket" in shots["storage"] and "LEAKTUIKEY" in texts["storage"]  # the search sees what shows
    for where, svg in shots.items():
        if _hits(svg, canaries):
            problems.append(f"screenshot at {where}: {_hits(svg, canaries)}")
    for where, text in texts.items():
        if _hits(text, canaries):
            problems.append(f"widget texts at {where}: {_hits(text, canaries)}")
    files = [p for p in tui_home.rglob("*") if p.is_file()]
    assert any(p.name == f"{TUI_SESSION}.json" for p in files)
    for file in files:
        if _hits(file.read_bytes(), canaries):
            problems.append(f"file {file.relative_to(tui_home)}: {_hits(file.read_bytes(), canaries)}")
    assert not problems, "secrets leaked:\n" + "\n".join(problems)
    store.delete_all(TUI_SESSION, draft.secret_ids())


def test_committed_snapshots_hold_no_secret():
    """The screen tests type canaries (CANARY-...) and license tokens into secret fields: no SVG may show one."""
    from tests.screens.helpers import license_token

    svgs = list(SNAPSHOTS.rglob("*.svg"))
    assert len(svgs) >= 20, f"no snapshots found under {SNAPSHOTS}"
    token = license_token()
    leaked = [svg.name for svg in svgs if "CANARY" in svg.read_text() or token in svg.read_text()]
    assert not leaked, f"snapshots showing a secret: {leaked}"
