"""The server image: use it if present, pull it with per-layer progress, or load it from a `docker save` file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from wizard.launcher.engine import engine_errors
from wizard.launcher.errors import (
    ImageLoadFailed,
    ImageNotFound,
    LauncherError,
    OperationFailed,
    RegistryUnreachable,
    docker_error_text,
)
from wizard.launcher.events import EventCallback, LayerProgress, PullProgress, Step, emit
from wizard.launcher.spec import LaunchSpec

_DONE = {"Pull complete", "Already exists"}
_HAVE_ALL_BYTES = {"Verifying Checksum", "Download complete", "Extracting", "Pull complete"}
_UNREACHABLE = re.compile(
    r"dial tcp|connection refused|no such host|i/o timeout|timeout|network is unreachable|no route to host|"
    r"TLS handshake|certificate|server gave HTTP response|connection reset|EOF",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"manifest unknown|not found|repository does not exist|pull access denied|name unknown",
                        re.IGNORECASE)


@dataclass(frozen=True)
class ImageInfo:
    ref: str
    id: str
    repo_digests: tuple[str, ...]  # "repo@sha256:..." as recorded when the image was pulled or pushed
    created: str


@dataclass(frozen=True)
class UpdateCheck:
    ref: str
    local_digest: str | None  # the digest the local image was pulled by, None if not pulled from this registry
    registry_digest: str
    running_image_id: str | None  # the image of the running container, if any
    local_image_id: str | None = None  # the local image of the tag, if any

    @property
    def running_newest(self) -> bool:
        """The container runs the local image of the tag, and that is the registry's current one."""
        return not self.update_available and self.local_image_id is not None \
            and self.running_image_id == self.local_image_id

    @property
    def update_available(self) -> bool:
        return self.local_digest != self.registry_digest


@dataclass(frozen=True)
class LoadResult:
    tags: tuple[str, ...]
    image_ids: tuple[str, ...]


def registry_of(image: str) -> str:
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _repository_key(image: str) -> str:
    """`wandb/local` and `docker.io/wandb/local` name the same repository; `busybox` is `docker.io/library/busybox`."""
    if registry_of(image) != "docker.io":
        return image
    name = image.split("/", 1)[1] if image.startswith(("docker.io/", "index.docker.io/")) else image
    return "docker.io/" + (name if "/" in name else f"library/{name}")


def _info(image: Any, ref: str) -> ImageInfo:
    return ImageInfo(ref=ref, id=image.id, repo_digests=tuple(image.attrs.get("RepoDigests") or ()),
                     created=image.attrs.get("Created", ""))


def local_image(client: Any, ref: str) -> ImageInfo | None:
    from docker.errors import ImageNotFound as DockerImageNotFound

    try:
        return _info(client.images.get(ref), ref)
    except DockerImageNotFound:
        return None


def digest_for(info: ImageInfo, image: str) -> str | None:
    """The digest recorded for `image`'s repository among the image's RepoDigests."""
    key = _repository_key(image)
    for entry in info.repo_digests:
        repo, _, digest = entry.partition("@")
        if _repository_key(repo) == key:
            return digest
    return None


def explain_registry_error(exc: BaseException, ref: str) -> LauncherError:
    text = docker_error_text(exc)
    image = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    registry = registry_of(image)
    if "toomanyrequests" in text or "rate limit" in text:
        return RegistryUnreachable(
            f"{registry} refused the pull of {ref}: pull rate limit reached ({text}).",
            f"Wait and try again, log Docker in (`docker login`), or load the image from a file made elsewhere "
            f"with `docker save {ref} -o wandb-local.tar`.",
        )
    if _NOT_FOUND.search(text) and not _UNREACHABLE.search(text):
        return ImageNotFound(
            f"{registry} has no image {ref} ({text}).",
            "Check the image name and tag (wandb/local, tags such as latest or 0.60.0), or `docker login` if it is "
            "a private registry.",
        )
    return RegistryUnreachable(
        f"The registry {registry} cannot be reached to pull {ref}: {text}",
        f"If this machine has no internet access, load the image from a file instead: on a machine with access run "
        f"`docker pull {ref} && docker save {ref} -o wandb-local.tar`, copy wandb-local.tar here and choose "
        "\"load from file\". If a proxy is required, Docker Engine itself must use it: set HTTP_PROXY/HTTPS_PROXY "
        "in a systemd drop-in for docker.service, then `sudo systemctl restart docker`.",
    )


@engine_errors
def pull_image(client: Any, ref: str, on_event: EventCallback | None = None) -> ImageInfo:
    """Pull `ref` ("repo:tag"), reporting LayerProgress per layer and PullProgress totals."""
    from docker.errors import APIError

    repository, tag = ref.rsplit(":", 1)
    emit(on_event, Step("image", f"Pulling {ref}"))
    layers: dict[str, list] = {}  # id -> [status, current, total]

    def totals() -> PullProgress:
        done = sum(1 for status, _, _ in layers.values() if status in _DONE)
        total_bytes = sum(t for _, _, t in layers.values() if t)
        downloaded = sum(min(c or 0, t or c or 0) for _, c, t in layers.values())
        return PullProgress(done, len(layers), downloaded, total_bytes)

    try:
        for item in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in item:
                raise explain_registry_error(Exception(item.get("error")), ref)
            status, layer = item.get("status", ""), item.get("id")
            if not layer or status.startswith(("Pulling from", "Digest:", "Status:")):
                continue
            detail = item.get("progressDetail") or {}
            entry = layers.setdefault(layer, [status, None, None])
            entry[0] = status
            if detail.get("total"):
                entry[2] = int(detail["total"])
            if status == "Downloading" and "current" in detail:
                entry[1] = int(detail["current"])
            elif status in _HAVE_ALL_BYTES and entry[2]:
                entry[1] = entry[2]
            emit(on_event, LayerProgress(layer, status, detail.get("current"), detail.get("total")))
            emit(on_event, totals())
    except APIError as exc:
        raise explain_registry_error(exc, ref) from None
    except LauncherError:
        raise
    except Exception as exc:  # the stream broke (engine restarted, socket closed)
        raise OperationFailed(f"The pull of {ref} was interrupted: {docker_error_text(exc)}",
                              "Try again; `docker pull " + ref + "` shows Docker's own view.") from None
    info = local_image(client, ref)
    if info is None:
        raise OperationFailed(f"The pull of {ref} finished but the image is not there.", f"Try `docker pull {ref}`.")
    emit(on_event, Step("image", f"Pulled {ref} ({info.id[:19]})"))
    return info


def ensure_image(client: Any, spec: LaunchSpec, on_event: EventCallback | None = None,
                 pull: str = "missing") -> ImageInfo:
    """The spec's image, pulled when missing (pull="missing") or always (pull="always", for upgrades)."""
    if pull not in ("missing", "always"):
        raise ValueError("pull must be 'missing' or 'always'")
    info = local_image(client, spec.image_ref)
    if info is not None and pull == "missing":
        emit(on_event, Step("image", f"Using the image {spec.image_ref} already on this machine ({info.id[:19]})"))
        return info
    return pull_image(client, spec.image_ref, on_event)


def registry_digest(client: Any, ref: str) -> str:
    """The digest the registry serves for `ref` now (what a pull would fetch)."""
    from docker.errors import APIError

    try:
        return client.images.get_registry_data(ref).id
    except APIError as exc:
        raise explain_registry_error(exc, ref) from None


@engine_errors
def check_for_update(client: Any, spec: LaunchSpec) -> UpdateCheck:
    """Compare the local image's RepoDigest with the registry's digest (what `wandb server start --upgrade` does)."""
    from wizard.launcher.existing import get_container

    local = local_image(client, spec.image_ref)
    container = get_container(client, spec.container_name)
    return UpdateCheck(
        ref=spec.image_ref,
        local_digest=digest_for(local, spec.image) if local else None,
        registry_digest=registry_digest(client, spec.image_ref),
        running_image_id=container.attrs.get("Image") if container is not None else None,
        local_image_id=local.id if local is not None else None,
    )


@engine_errors
def load_image_tarball(path: str, client: Any = None, expected_ref: str | None = None,
                       on_event: EventCallback | None = None) -> LoadResult:
    """Load a `docker save` archive (`docker load -i PATH`). With `expected_ref`, the archive must contain it."""
    from docker.errors import DockerException

    from wizard.launcher.engine import connect

    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise ImageLoadFailed(f"{path} is not a file.", "Give the path of the file written by `docker save -o FILE`.")
    if not os.access(path, os.R_OK):
        raise ImageLoadFailed(f"{path} cannot be read: permission denied.", "Check the file's owner and mode.")
    client = client or connect()
    size = os.path.getsize(path)
    emit(on_event, Step("image", f"Loading the image from {path} ({size / 1e6:.0f} MB)"))
    try:
        with open(path, "rb") as archive:
            images = client.images.load(archive)
    except DockerException as exc:  # APIError, or ImageLoadError for what the engine found in the stream
        raise ImageLoadFailed(
            f"{path} could not be loaded: {docker_error_text(exc)}",
            "It must be an archive written by `docker save IMAGE -o FILE` (copy it again if the copy was cut short).",
        ) from None
    tags = tuple(sorted(tag for image in images for tag in image.tags))
    result = LoadResult(tags=tags, image_ids=tuple(sorted({image.id for image in images})))
    if not images:
        raise ImageLoadFailed(f"{path} holds no image.", "Write it with `docker save IMAGE -o FILE`.")
    if expected_ref is not None and _normal_ref(expected_ref) not in {_normal_ref(t) for t in tags}:
        found = ", ".join(tags) or "images without a name"
        raise ImageLoadFailed(
            f"{path} was loaded but holds {found}, not {expected_ref}.",
            f"Set the image and tag to one of: {found}; or save the right one with "
            f"`docker save {expected_ref} -o FILE`.",
        )
    emit(on_event, Step("image", f"Loaded {', '.join(tags) or result.image_ids[0][:19]}"))
    return result


def split_ref(ref: str) -> tuple[str, str]:
    """An image reference's repository and tag ("latest" when it names none; a digest is left out)."""
    name = ref.partition("@")[0]
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon of a registry's port
        repository, tag = name, "latest"
    return repository, tag


def _normal_ref(ref: str) -> str:
    repository, tag = split_ref(ref)
    return f"{_repository_key(repository)}:{tag}"
