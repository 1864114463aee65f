"""The exit codes of every command (documented in README.md), and how an error that ends a command becomes one."""

from __future__ import annotations

from enum import IntEnum

DEBUG_ENV = "WANDB_LOCAL_SETUP_DEBUG"  # set: a failure also prints its traceback


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # an operation failed
    USAGE = 2  # usage error, or no terminal for the interactive wizard
    LOCKED = 3  # the session is open in another wizard
    UNREADABLE = 4  # the session file is corrupt or written by a newer version
    KEYRING = 5  # the keyring cannot be used
    NOT_FOUND = 6  # no such session
    WARNINGS = 7  # checks passed with warnings
    CHECKS_FAILED = 8  # checks failed (nothing launched)
    INVALID = 9  # invalid answers file or incomplete configuration
    INTERRUPTED = 130  # Ctrl-C (SIGTERM: 143, SIGHUP: 129 during a launch, which puts the old server back first)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP while a command changes the server: handled as Ctrl-C is, so the launcher's rollback runs
    (by default the process would just end, the server set aside)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def describe_invalid(exc: BaseException) -> tuple[Exit, str] | None:
    """The exit code and message of an answers file or configuration that cannot be used, else None."""
    from wizard import answers, draft

    if isinstance(exc, answers.AnswersInvalid):
        return Exit.INVALID, "the answers file has problems:\n" + str(exc)
    if isinstance(exc, draft.ConfigErrors):
        return Exit.INVALID, "the configuration is not complete:\n" + str(exc)
    return None


def describe_failure(exc: BaseException) -> tuple[Exit, str]:
    """Exit code and one clear message for an error that ends the command."""
    from wizard import exports, secrets, session

    invalid = describe_invalid(exc)
    if invalid:
        return invalid
    if isinstance(exc, session.SessionLocked):
        return Exit.LOCKED, str(exc)
    if isinstance(exc, (session.SessionCorrupt, session.SessionTooNew)):
        return Exit.UNREADABLE, str(exc)
    if isinstance(exc, session.SessionNotFound):
        return Exit.NOT_FOUND, str(exc)
    if isinstance(exc, session.InvalidSessionName):
        return Exit.USAGE, str(exc)
    if isinstance(exc, secrets.SecretsError):
        return Exit.KEYRING, str(exc)
    if isinstance(exc, exports.ExportRefused):
        return Exit.USAGE, str(exc)
    if isinstance(exc, session.SessionError):
        return Exit.FAILED, str(exc)
    return Exit.FAILED, f"unexpected error ({type(exc).__name__}: {exc}). Set {DEBUG_ENV}=1 for details."
