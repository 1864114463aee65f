"""The command line: the interactive wizard (default), `sessions`, and the headless `check`, `export` and
`apply`. One module per command; the exit codes are in `wizard.cli.exit`; only `wizard.cli.interactive` starts
the UI."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import NoReturn, Sequence

from wizard import __version__
from wizard.cli import adopt, apply, check, doctor, export, sessions, team_bucket
from wizard.cli.exit import DEBUG_ENV, Terminated, describe_failure


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
    for command in (sessions, check, export, apply, adopt, doctor, team_bucket):
        command.register(commands)
    return parser


def _exit_at_once(code: int) -> NoReturn:
    """Ctrl-C ends the command now. Every `finally` has run (sessions saved and unlocked); what is skipped is the
    interpreter's shutdown, which would wait for a check blocked in a thread (a connection that never answers) until
    its timeout, and print warnings about the event loop it interrupted."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def pin_grpc_proxy_choice() -> None:
    """Leave gRPC's proxy choice to each channel's options (`container_view.Proxies.grpc_options`: the server's
    proxy, or none). grpc's core reads no_grpc_proxy, else no_proxy, from the process's environment for every
    channel, even one given grpc.http_proxy: a no_proxy in the admin's shell naming Pub/Sub would send the check
    direct while the server goes through its proxy. An empty no_grpc_proxy is read first, exempts nothing, and
    nothing but gRPC reads it. Set at start-up, before any thread: changing the environment while another thread
    reads it is unsafe."""
    os.environ["no_grpc_proxy"] = ""


def main(argv: Sequence[str] | None = None) -> int:
    pin_grpc_proxy_choice()
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from wizard.cli.interactive import open_wizard

            return open_wizard(args.session, new=args.new)
        return args.run(args)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
        print(f"\nInterrupted{name}: everything entered up to the last field left is saved.", file=sys.stderr)
        _exit_at_once(128 + signum)
    except Exception as exc:  # never a traceback in front of the user
        code, message = describe_failure(exc)
        print(f"wandb-local-setup: {message}", file=sys.stderr)
        if os.environ.get(DEBUG_ENV):
            import traceback

            traceback.print_exc()
        return code
