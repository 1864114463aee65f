"""Launcher errors: each says what went wrong (`message`) and what to do about it (`hint`), never a traceback."""

from __future__ import annotations


class LauncherError(Exception):
    """Base of every error the launcher raises on purpose."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class EngineUnavailable(LauncherError):
    """Docker Engine is not running, not installed, or does not answer."""


class EnginePermissionDenied(LauncherError):
    """The Docker socket exists but this user may not use it."""


class RegistryUnreachable(LauncherError):
    """The image registry cannot be reached: pull impossible. Loading a `docker save` tarball is the way out."""


class ImageNotFound(LauncherError):
    """The registry answers but has no such image or tag."""


class ImageLoadFailed(LauncherError):
    """A tarball could not be loaded, or does not hold the expected image."""


class NameConflict(LauncherError):
    """A container with the name exists and was not created by this wizard."""


class PortInUse(LauncherError):
    """The published port is taken on the bind address."""


class VolumeNotWritable(LauncherError):
    """A bind path that UID 999 / GID 0 (the server's user inside the container) cannot write."""


class ConfirmationMismatch(LauncherError):
    """A destructive action was not confirmed by typing the exact name."""


class OperationFailed(LauncherError):
    """Docker refused an operation; the message carries Docker's own words."""


def docker_error_text(exc: BaseException) -> str:
    """Docker's explanation from an APIError (or the exception text), on one line."""
    explanation = getattr(exc, "explanation", None)
    text = explanation.decode(errors="replace") if isinstance(explanation, bytes) else explanation
    text = str(text or exc).strip()
    return " ".join(text.split())
