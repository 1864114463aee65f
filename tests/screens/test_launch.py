"""The Launch step on a real Docker Engine with the stand-in server image, driven by keys."""

from __future__ import annotations


from screens.app import WizardApp
from tests.screens.conftest import SIZE, fixed_clock
from tests.screens.helpers import ready, tab_to, wait_for, widget_text
from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import free_port
from tests.services.standin_image import (  # noqa: F401 (fixtures)
    DOCKER_ADDED,
    build_standin,
    received_environment,
    restore_password,
    standin_image,
)

LAUNCH_TIMEOUT = 60


def _configure(flow, names, image_ref: str, port: int) -> None:
    repository, _, tag = image_ref.rpartition(":")
    flow.set_value("host", ("url",), f"http://127.0.0.1:{port}")
    for path, value in {("image",): repository, ("tag",): tag, ("container_name",): names("server"),
                        ("bind_address",): "127.0.0.1", ("port",): port, ("volume",): names("data"),
                        ("restart_policy",): "no"}.items():
        flow.set_value("server", path, value)


def preflight_text(app) -> str:
    return "\n".join(str(row.render()) for row in app.query("#launch-preflight .launch-row"))


async def _open_launch(pilot, app) -> None:
    await ready(pilot)
    app.go_to("launch")
    await wait_for(pilot, lambda: app.current_step == "launch" and app.view.STEP == "launch", what="launch")
    await wait_for(pilot, lambda: preflight_text(app) and "… running" not in preflight_text(app), LAUNCH_TIMEOUT,
                   what="the preflight")


async def _press(pilot, button_id: str) -> None:
    await tab_to(pilot, button_id)
    await pilot.press("enter")


async def _outcome(pilot, app) -> str:
    await wait_for(pilot, lambda: app.view.running is None and widget_text(app, "#launch-outcome"), LAUNCH_TIMEOUT,
                   what="the outcome")
    return widget_text(app, "#launch-outcome")


async def test_launch_starts_the_server_and_shows_next_steps(keyring, docker_client, docker_names,  # noqa: F811
                                                             standin_image):  # noqa: F811
    port = free_port()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        _configure(app.flow, docker_names, standin_image, port)
        await _open_launch(pilot, app)
        preflight = preflight_text(app)
        assert "Docker Engine" in preflight, preflight
        assert f"container create {docker_names('server')}" in widget_text(app, "#launch-plan")
        assert app.focused is not None and app.focused.id == "action-launch"  # the first key press launches
        await pilot.press("enter")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✓ ok"), outcome
        assert "Next steps" in outcome and f"http://127.0.0.1:{port}" in outcome
        assert "All services started" in widget_text(app, "#launch-elapsed")
        log = "\n".join(app.query_one("#launch-log").lines)
        assert "*** All services started" in log
        expected = app.flow.launch_spec().environment
        received = received_environment("127.0.0.1", port)
        assert {k: v for k, v in received.items() if k not in DOCKER_ADDED} == expected
        assert app.flow.session.flags["last_launch"]["ok"] is True
    assert docker_client.containers.get(docker_names("server")).status == "running"


async def test_a_crashing_server_shows_its_last_log_lines(keyring, docker_client, docker_engine,  # noqa: F811
                                                         docker_names):  # noqa: F811
    crashing = build_standin(docker_engine.client, variant="crash", env={"STANDIN_CRASH": "1"})
    docker_names.image(crashing)
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        _configure(app.flow, docker_names, crashing, free_port())
        await _open_launch(pilot, app)
        await _press(pilot, "action-launch")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✗ fail"), outcome
        assert "Last lines of the server's log" in outcome
        assert app.flow.session.flags["last_launch"]["ok"] is False


async def test_recover_access_shows_the_temporary_password_then_ends(keyring, docker_client, docker_names,  # noqa: F811
                                                                    standin_image):  # noqa: F811
    port = free_port()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        _configure(app.flow, docker_names, standin_image, port)
        await _open_launch(pilot, app)
        await _press(pilot, "action-launch")
        assert (await _outcome(pilot, app)).startswith("✓ ok")
        await _press(pilot, "action-recover")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✓ ok"), outcome
        assert f"password: {restore_password('127.0.0.1', port)}" in outcome
        assert app.flow.restore_mode
        # Reopening the step offers to end restore mode and reminds what it means.
        app.go_to("review")
        await wait_for(pilot, lambda: app.current_step == "review")
        await _open_launch(pilot, app)
        assert "Restore mode is on" in widget_text(app, "#launch-restore")
        await _press(pilot, "action-end-recovery")
        assert (await _outcome(pilot, app)).startswith("✓ ok")
        assert not app.flow.restore_mode
        assert "LOCAL_RESTORE" not in received_environment("127.0.0.1", port)


async def test_an_incomplete_configuration_cannot_be_launched(keyring):
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.flow.set_provider("storage", "s3")
        app.go_to("launch")
        await wait_for(pilot, lambda: app.current_step == "launch" and app.view.STEP == "launch")
        assert "Not ready to launch" in widget_text(app, "#launch-problem")
        assert not app.query("#action-launch")
        await pilot.press("enter")  # the focused "Go to Review" button
        await wait_for(pilot, lambda: app.current_step == "review", what="review")


async def test_the_welcome_step_reminds_that_restore_mode_is_on(keyring, store):
    session = store.create("demo")
    session.flags["local_restore_on"] = True
    store.save(session)
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.go_to("welcome")
        await wait_for(pilot, lambda: app.current_step == "welcome" and app.view.STEP == "welcome")
        assert "Restore mode is on" in widget_text(app, "#welcome-restore")


async def test_load_the_image_from_a_file_then_remove_the_server(keyring, tmp_path, docker_client, docker_names,  # noqa: F811
                                                                 standin_image):  # noqa: F811
    """Air-gapped path: a `docker save` archive loaded from the Launch step; then the typed-name removal."""
    archive = tmp_path / "standin.tar"
    reference = docker_names.image(f"wlst-airgap-{docker_names.tag}:v1")
    docker_client.images.get(standin_image).tag(reference)
    with open(archive, "wb") as handle:
        for chunk in docker_client.images.get(reference).save(named=reference):
            handle.write(chunk)
    docker_client.images.remove(reference)
    port = free_port()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        _configure(app.flow, docker_names, reference, port)
        await _open_launch(pilot, app)
        await _press(pilot, "action-load")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the path dialog")
        await pilot.press(*list(str(archive)), "enter")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✓ ok") and reference in outcome, outcome
        await _press(pilot, "action-launch")
        assert (await _outcome(pilot, app)).startswith("✓ ok")

        # Removal needs the volume's name typed exactly; a near miss removes nothing.
        await _press(pilot, "action-destroy")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the confirmation dialog")
        await pilot.press(*list("wandb"), "enter")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✗ fail") and "nothing was removed" in outcome, outcome
        assert docker_client.volumes.get(docker_names("data"))
        await _press(pilot, "action-destroy")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the confirmation dialog")
        await pilot.press(*list(docker_names("data")), "enter")
        outcome = await _outcome(pilot, app)
        assert outcome.startswith("✓ ok"), outcome
    assert not docker_client.containers.list(all=True, filters={"name": docker_names("server")})
    assert not [v for v in docker_client.volumes.list() if v.name == docker_names("data")]


async def test_a_relaunch_cut_short_is_undone_when_the_wizard_opens(keyring, docker_client, docker_names,  # noqa: F811
                                                                   standin_image, monkeypatch):  # noqa: F811
    """A relaunch killed (SIGKILL, a reboot) after it set the server aside: the next time the wizard opens, the
    relaunch journal brings the server back and a notice says so, before any step is launched."""
    from tests.services.standin_image import standin_spec
    from wizard.launcher import launch
    from wizard import relaunch_journal as journal
    from wizard.launcher.operations import Options
    from wizard.launcher.watch import ready_url

    spec = standin_spec(docker_names, standin_image)
    assert launch(spec, client=docker_client, options=Options(ready_timeout=20, poll_interval=0.2)).ok
    server = docker_client.containers.get(spec.container_name)
    aside = f"{spec.container_name}-previous-20261201T120000Z"
    journal.record(journal.Entry(container=spec.container_name, old_id=server.id, previous_name=aside,
                                 restart_policy="no", was_running=True, ready_url=ready_url(spec), step="stop"))
    server.rename(aside)
    server.stop(timeout=5)
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    said: list[tuple[str, dict]] = []
    monkeypatch.setattr(app, "notify", lambda message, **options: said.append((message, options)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "welcome")
        await wait_for(pilot, lambda: bool(said), LAUNCH_TIMEOUT, what="the notice")
        assert said == [(f"An interrupted relaunch had set {spec.container_name} aside as {aside}: it is back under "
                         "its name and running.", {"title": "Interrupted relaunch", "severity": "warning",
                                                   "timeout": 15, "markup": False})]
        server.reload()
        assert server.name == spec.container_name and server.status == "running"
        assert journal.pending() == []
        await pilot.press("ctrl+q")


async def test_the_support_bundle_is_written_from_the_launch_step(keyring, tmp_path, monkeypatch, docker_client,  # noqa: F811
                                                                 docker_names, standin_image):  # noqa: F811
    """Support bundle (Launch step): doctor's bundle in the home directory, 0600, the license nowhere in it."""
    import stat
    import tarfile

    from tests.jws import make_license

    monkeypatch.setenv("HOME", str(tmp_path))
    license_key = make_license(sub="CANARY-support-bundle")
    port = free_port()
    app = WizardApp("demo", secret_store=keyring, clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        _configure(app.flow, docker_names, standin_image, port)
        app.flow.set_value("license", ("key",), license_key)
        await _open_launch(pilot, app)
        await pilot.press("enter")  # Launch
        assert (await _outcome(pilot, app)).startswith("✓ ok")
        await _press(pilot, "action-support")
        await wait_for(pilot, lambda: app.view.running is None and "Support bundle" in widget_text(app, "#launch-outcome")
                       and "Wrote" in widget_text(app, "#launch-outcome"), LAUNCH_TIMEOUT, what="the bundle")
        outcome = " ".join(widget_text(app, "#launch-outcome").split())
        assert outcome.startswith(f"✓ ok Support bundle Wrote {tmp_path}/wandb-local-support-"), outcome
        assert "mode 0600" in outcome and "Not included" not in outcome
    (bundle,) = tmp_path.glob("wandb-local-support-*.tar.gz")
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    with tarfile.open(bundle) as tar:
        names = {m.name.removeprefix("wandb-local-support/") for m in tar.getmembers()}
        content = b"".join(tar.extractfile(m).read() for m in tar.getmembers())
    assert {"README.txt", "checks.json", "container/server.log", "container/inspect.json"} <= names
    assert license_key.encode() not in content and b"*** All services started" in content


async def test_a_running_wandb_server_is_offered_for_adoption_on_the_welcome_step(keyring, docker_client,  # noqa: F811
                                                                                   docker_names,  # noqa: F811
                                                                                   standin_image):  # noqa: F811
    """A new session, and a container running wandb/local that this wizard did not start: Welcome offers to adopt
    it; its settings become the session's (the license to the keyring) and Launch may then replace it."""
    from tests.jws import make_license
    from tests.screens.helpers import tab_to

    image = f"wandb/local:adopt-{docker_names.tag}"
    docker_client.images.get(standin_image).tag(image)
    license_key = make_license(sub="CANARY-adopt")
    port = free_port()
    try:
        server = docker_client.containers.run(image, name=docker_names("server"), detach=True,
                                              ports={"8080/tcp": ("127.0.0.1", port)},
                                              volumes={docker_names("data"): {"bind": "/vol", "mode": "rw"}},
                                              environment={"LICENSE": license_key, "LOCAL_USERNAME": "admin"})
        app = WizardApp("adopting", secret_store=keyring, clock=fixed_clock, new=True)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, "welcome")
            await wait_for(pilot, lambda: bool(app.query("#welcome-adopt")), LAUNCH_TIMEOUT, what="the offer")
            assert str(app.query_one("#welcome-adopt").label) == f"Adopt the running server {server.name}"
            await tab_to(pilot, "welcome-adopt")
            await pilot.press("enter")
            await wait_for(pilot, lambda: widget_text(app, "#welcome-adopted").startswith("✓ Adopted"),
                           LAUNCH_TIMEOUT, what="the adoption")
            said = widget_text(app, "#welcome-adopted")
            assert "HOST was not set" in said and license_key not in said
            assert app.flow.session.values["server"]["port"] == port
            assert app.flow.session.values["server"]["extra_env"] == [{"name": "LOCAL_USERNAME", "value": "admin"}]
            assert app.flow.launch_spec().adopted_id == server.id
            assert app.flow.launch_spec().environment["LICENSE"] == license_key
            await pilot.press("ctrl+q")
    finally:
        docker_client.images.remove(image, noprune=True)
