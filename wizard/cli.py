"""Command line: the interactive wizard (default) and session management. Headless modes plug in here later.

Exit codes (documented in README.md):
  0 success · 1 an operation failed · 2 usage error · 3 session open in another wizard · 4 session unreadable
  5 keyring unavailable · 6 no such session · 7 checks passed with warnings · 8 checks failed
  9 invalid answers file or incomplete configuration · 130 interrupted
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from wizard import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_UNREADABLE, EXIT_KEYRING, EXIT_NOT_FOUND = 0, 1, 2, 3, 4, 5, 6
EXIT_INTERRUPTED = 130
DEBUG_ENV = "WANDB_LOCAL_SETUP_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wandb-local-setup",
        description="Install and configure a W&B Local Server (wandb/local), step by step.",
        epilog="Without a command, the interactive wizard starts (resuming the session if it exists).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--session", metavar="NAME", help="session to open or create (default: choose on start)")
    parser.add_argument("--new", action="store_true", help="start the session afresh even if it exists")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sessions = commands.add_parser("sessions", help="list, show or delete saved sessions")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="saved sessions with progress and check status")
    show = actions.add_parser("show", help="one session's values (secrets masked)")
    show.add_argument("name")
    delete = actions.add_parser("delete", help="delete a session and its keyring entries")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--keep-secrets", action="store_true", help="delete the session file even if the keyring cannot be opened"
    )
    export = actions.add_parser("export", help="write a session as an answers file (secrets as keyring: references)")
    export.add_argument("name")
    export.add_argument("--out", required=True, metavar="FILE")
    copy = actions.add_parser("copy", help="copy a session (and its secrets) to a new name")
    copy.add_argument("source")
    copy.add_argument("target")

    from wizard import cli_headless

    cli_headless.register(commands)
    cli_headless.register_apply(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sessions":
            from wizard import cli_sessions

            return cli_sessions.run(args)
        if args.command in ("check", "export", "apply"):
            from wizard import cli_headless

            run = {"check": cli_headless.run_check, "export": cli_headless.run_export, "apply": cli_headless.run_apply}
            return run[args.command](args)
        return _interactive(args)
    except KeyboardInterrupt:
        print("\nInterrupted: everything entered up to the last field left is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback in front of the user
        code, message = describe_failure(exc)
        print(f"wandb-local-setup: {message}", file=sys.stderr)
        if os.environ.get(DEBUG_ENV):
            import traceback

            traceback.print_exc()
        return code


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """Exit code and one clear message for an error that ends the command."""
    from wizard import cli_headless, secrets, session

    invalid = cli_headless.describe_invalid(exc)
    if invalid:
        return invalid
    if isinstance(exc, session.SessionLocked):
        return EXIT_LOCKED, str(exc)
    if isinstance(exc, (session.SessionCorrupt, session.SessionTooNew)):
        return EXIT_UNREADABLE, str(exc)
    if isinstance(exc, session.SessionNotFound):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, session.InvalidSessionName):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, secrets.SecretsError):
        return EXIT_KEYRING, str(exc)
    if isinstance(exc, session.SessionError):
        return EXIT_FAILED, str(exc)
    return EXIT_FAILED, f"unexpected error ({type(exc).__name__}: {exc}). Set {DEBUG_ENV}=1 for details."


def _interactive(args: argparse.Namespace) -> int:
    return open_wizard(args.session, new=args.new)


def open_wizard(session: str | None, new: bool = False) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print(
            "wandb-local-setup: the interactive wizard needs a terminal. "
            "Run it in an SSH session or terminal, or use the headless commands (check, export, apply).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from screens.app import run_wizard  # Textual is loaded only for the interactive mode

    return run_wizard(session, new=new)
