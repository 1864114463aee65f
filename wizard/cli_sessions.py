"""`wandb-local-setup sessions list|show|delete`."""

from __future__ import annotations

import argparse
import sys

from wizard import draft, render, secrets
from wizard.cli import EXIT_FAILED, EXIT_KEYRING, EXIT_OK
from wizard.session import SessionNotFound, SessionStore
from wizard.sources import open_keyring
from wizard.steps import CONFIG_STEPS, step_title


def run(args: argparse.Namespace) -> int:
    store = SessionStore()
    from wizard import cli_headless

    actions = {"list": _list, "show": _show, "delete": _delete,
               "export": lambda _, a: cli_headless.sessions_export(a), "copy": lambda _, a: cli_headless.sessions_copy(a)}
    return actions[args.action](store, args)


def _list(store: SessionStore, args: argparse.Namespace) -> int:
    summaries = store.list()
    if not summaries:
        print(f"No saved sessions (in {store.root}).")
        return EXIT_OK
    print(f"{'SESSION':<24} {'LAST EDITED (UTC)':<20} {'STEPS DONE':<11} STATUS")
    for s in summaries:
        if s.error:
            print(f"{s.name:<24} {'-':<20} {'-':<11} unreadable: {s.error}")
            continue
        edited = (s.updated or "")[:19].replace("T", " ")
        worst = s.worst.value if s.worst else "-"
        print(f"{s.name:<24} {edited:<20} {f'{s.steps_done}/{s.steps_total}':<11} {worst}")
    return EXIT_OK


def _show(store: SessionStore, args: argparse.Namespace) -> int:
    session = store.load(args.name)
    print(f"Session {session.name} (created {session.created}, last edited {session.updated})")
    for step in CONFIG_STEPS:
        status = session.status(step)
        message = session.step_message(step)
        print(f"\n[{status.symbol} {status.value}] {step_title(step)}" + (f": {message}" if message else ""))
        values = session.values.get(step, {})
        _print_values(values, "  ")
        for secret_id in draft.secret_ids(step):
            print(f"  {secret_id}: (secret, kept in the keyring)")
    try:
        cfg = draft.build_config(session.values, _stored_secrets(session.name, session.values))
    except draft.ConfigErrors as exc:
        print("\nThe configuration is not complete yet:")
        for error in exc.errors:
            print(f"  - {error}")
        return EXIT_OK
    from wizard.instructions import container_lines

    print("\nWhat the server container gets (secrets masked):")
    for line in container_lines(render.container_inputs(cfg, render.mask)).splitlines():
        print(f"  {line}")
    return EXIT_OK


def _stored_secrets(name: str, values: dict) -> dict[str, str]:
    """The session's secrets, or {} when the keyring cannot be opened (show still lists the values)."""
    try:
        return open_keyring().get_all(name, draft.secret_ids_for(values))
    except secrets.SecretsError as exc:
        print(f"(secrets not read: {exc})", file=sys.stderr)
        return {}


def _print_values(values: dict, indent: str) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_values(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value!r}")


def _delete(store: SessionStore, args: argparse.Namespace) -> int:
    if not store.exists(args.name):
        raise SessionNotFound(f"There is no session '{args.name}' (in {store.root}).")
    if not args.yes:
        if not sys.stdin.isatty():
            print("Refusing to delete without confirmation: add --yes.", file=sys.stderr)
            return EXIT_FAILED
        if input(f"Delete session '{args.name}' and its secrets? Type the name to confirm: ").strip() != args.name:
            print("Not deleted.")
            return EXIT_FAILED
    with store.lock(args.name):
        try:
            keyring = open_keyring()
            keyring.delete_all(args.name, draft.secret_ids_for(store.load(args.name).values))
        except secrets.SecretsError as exc:
            if not args.keep_secrets:
                print(f"wandb-local-setup: {exc}\nThe session was not deleted. Add --keep-secrets to delete the "
                      "session file anyway (its keyring entries then stay).", file=sys.stderr)
                return EXIT_KEYRING
        store.delete(args.name)
    print(f"Deleted session '{args.name}'.")
    return EXIT_OK
