"""Getting the image: pulls from a real local registry with layer progress, an unreachable registry, tarballs."""

from __future__ import annotations

import os

import pytest

from tests.services.docker_engine import docker_client, docker_engine, docker_names  # noqa: F401 (fixtures)
from tests.services.local_process import closed_port
from tests.services.registry import local_registry  # noqa: F401 (fixtures)
from tests.services.standin_image import build_standin, standin_image, standin_spec  # noqa: F401 (fixtures)
from wizard.launcher import (
    ImageLoadFailed,
    ImageNotFound,
    LayerProgress,
    Options,
    PullProgress,
    RegistryUnreachable,
    ensure_image,
    launch,
    load_image_tarball,
)
from wizard.launcher.image import digest_for, local_image

FAST = Options(ready_timeout=20, poll_interval=0.2, stop_timeout=5, after_timeout=2)


def _unique_standin(client, names, variant: str) -> str:
    """A stand-in with a rootfs layer of its own (so a pull must really download it)."""
    reference = build_standin(client, f"{variant}-{names.tag}",
                              extra_files={f"etc/unique-{names.tag}": os.urandom(64 * 1024)})
    return names.image(reference)


def test_pull_reports_layer_progress_and_totals_from_a_real_registry(docker_client, docker_names,
                                                                    local_registry):
    source = _unique_standin(docker_client, docker_names, "pull")
    repository = docker_names("pulled")
    pushed_digest = local_registry.push(docker_client, source, repository, "v1")
    reference = docker_names.image(local_registry.reference(repository, "v1"))
    docker_client.images.remove(reference)
    docker_client.images.remove(source)  # now the layer exists nowhere on this engine
    assert local_image(docker_client, reference) is None

    spec = standin_spec(docker_names, reference)
    events = []
    info = ensure_image(docker_client, spec, events.append)

    layers = [e for e in events if isinstance(e, LayerProgress)]
    totals = [e for e in events if isinstance(e, PullProgress)]
    downloading = [e for e in layers if e.status == "Downloading"]
    assert downloading and all(e.total and 0 < e.current <= e.total for e in downloading)
    assert {e.status for e in layers} >= {"Downloading", "Pull complete"}
    last = totals[-1]
    assert last.layers_total >= 1 and last.layers_done == last.layers_total
    assert last.total_bytes > 0 and last.downloaded_bytes == last.total_bytes
    assert info.id == docker_client.images.get(reference).id
    assert digest_for(info, spec.image) == pushed_digest

    # Present now: a second ensure uses it without pulling.
    again = []
    assert ensure_image(docker_client, spec, again.append).id == info.id
    assert not any(isinstance(e, LayerProgress) for e in again)


def test_an_unknown_tag_is_not_found_rather_than_unreachable(docker_client, docker_names, local_registry):
    spec = standin_spec(docker_names, local_registry.reference(docker_names("nothing"), "v9"))
    with pytest.raises(ImageNotFound) as raised:
        ensure_image(docker_client, spec)
    assert local_registry.host in raised.value.message
    assert "Check the image name and tag" in raised.value.hint


def test_unreachable_registry_is_explained_and_a_docker_save_tarball_gets_the_server_running(
        docker_client, docker_names, standin_image, tmp_path):
    dead = f"127.0.0.1:{closed_port()}"  # nothing listens there
    repository = f"{dead}/{docker_names('offline')}"
    reference = docker_names.image(f"{repository}:v1")
    spec = standin_spec(docker_names, reference)
    with pytest.raises(RegistryUnreachable) as raised:
        launch(spec, client=docker_client, options=FAST)
    error = raised.value
    assert f"The registry {dead} cannot be reached to pull {reference}" in error.message
    assert f"docker save {reference} -o wandb-local.tar" in error.hint
    assert docker_client.containers.list(all=True, filters={"name": spec.container_name}) == []

    # On a machine with access: `docker save` (here: the same engine's image under that name).
    docker_client.images.get(standin_image).tag(repository, "v1")
    archive = tmp_path / "wandb-local.tar"
    with open(archive, "wb") as out:
        for chunk in docker_client.images.get(reference).save(named=True):
            out.write(chunk)
    docker_client.images.remove(reference)
    assert local_image(docker_client, reference) is None

    loaded = load_image_tarball(str(archive), client=docker_client, expected_ref=reference)
    assert reference in loaded.tags
    result = launch(spec, client=docker_client, options=FAST)
    assert result.ok, (result.message, result.last_logs)


def test_a_broken_or_wrong_tarball_is_refused_with_a_way_forward(docker_client, docker_names, standin_image,
                                                                tmp_path):
    with pytest.raises(ImageLoadFailed) as missing:
        load_image_tarball(str(tmp_path / "absent.tar"), client=docker_client)
    assert "is not a file" in missing.value.message and "docker save" in missing.value.hint

    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(ImageLoadFailed) as broken:
        load_image_tarball(str(garbage), client=docker_client)
    assert "could not be loaded" in broken.value.message and "docker save" in broken.value.hint

    other = tmp_path / "other.tar"
    with open(other, "wb") as out:
        for chunk in docker_client.images.get(standin_image).save(named=True):
            out.write(chunk)
    wanted = "wandb/local:0.0.0-not-this-one"
    with pytest.raises(ImageLoadFailed) as wrong:
        load_image_tarball(str(other), client=docker_client, expected_ref=wanted)
    assert standin_image in wrong.value.message and wanted in wrong.value.message
    assert standin_image in wrong.value.hint
