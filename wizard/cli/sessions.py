"""`wandb-local-setup sessions list|show|delete|export|copy`: the saved sessions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import secrets
from wizard.cli.exit import Exit
from wizard.lazy import lazy_module
from wizard.session import SessionExists, SessionNotFound, SessionStore
from wizard.steps import CONFIG_STEPS, provider_key, step_title

if TYPE_CHECKING:
    from wizard import draft, render, sources
else:  # loaded when the command runs, not when the parser is built for the interactive wizard (start-up time)
    draft = lazy_module("wizard.draft")
    render = lazy_module("wizard.render")
    sources = lazy_module("wizard.sources")


def register(commands: argparse._SubParsersAction) -> None:
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
    sessions.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    actions = {"list": _list, "show": _show, "delete": _delete, "export": _export, "copy": _copy}
    return actions[args.action](SessionStore(), args)


def _list(store: SessionStore, args: argparse.Namespace) -> int:
    summaries = store.list()
    if not summaries:
        print(f"No saved sessions (in {store.root}).")
        return Exit.OK
    print(f"{'SESSION':<24} {'LAST EDITED (UTC)':<20} {'STEPS DONE':<11} STATUS")
    for s in summaries:
        if s.error:
            print(f"{s.name:<24} {'-':<20} {'-':<11} unreadable: {s.error}")
            continue
        edited = (s.updated or "")[:19].replace("T", " ")
        worst = s.worst.value if s.worst else "-"
        print(f"{s.name:<24} {edited:<20} {f'{s.steps_done}/{s.steps_total}':<11} {worst}")
    return Exit.OK


def _show(store: SessionStore, args: argparse.Namespace) -> int:
    """Read-only: a corrupt file stays where it is; each secret of the providers in use is said stored or not."""
    session = store.read(args.name)
    stored = _stored_secrets(session.name, session.values)
    print(f"Session {session.name} (created {session.created}, last edited {session.updated})")
    for step in CONFIG_STEPS:
        status = session.status(step)
        message = session.step_message(step)
        print(f"\n[{status.symbol} {status.value}] {step_title(step)}" + (f": {message}" if message else ""))
        values = session.values.get(step, {})
        _print_values(values, "  ")
        for secret_id in _secrets_in_use(step, values, session.values):
            where = ("not read (the keyring could not be opened)" if stored is None
                     else "stored in the keyring" if secret_id in stored else "not stored")
            print(f"  {secret_id}: (secret, {where})")
    try:
        cfg = draft.build_config(session.values, stored or {})
    except draft.ConfigErrors as exc:
        print("\nThe configuration is not complete yet:")
        for error in exc.errors:
            print(f"  - {error}")
        return Exit.OK
    from wizard.instructions import container_lines

    print("\nWhat the server container gets (secrets masked):")
    for line in container_lines(render.container_inputs(cfg, render.mask)).splitlines():
        print(f"  {line}")
    return Exit.OK


def _stored_secrets(name: str, values: dict) -> dict[str, str] | None:
    """The session's secrets, or None when the keyring cannot be opened (show still lists the values)."""
    try:
        return sources.open_keyring().get_all(name, draft.secret_ids_for(values))
    except secrets.SecretsError as exc:
        print(f"(secrets not read: {exc})", file=sys.stderr)
        return None


def _secrets_in_use(step: str, values: dict, all_values: dict) -> list[str]:
    """The step's secret ids for the provider it uses (a provider step) or all of them (the others)."""
    ids = [secret_id for secret_id in draft.secret_ids_for(all_values) if secret_id.split(".")[0] == step]
    default = draft.default_provider(step)
    if default is None:  # not a provider step
        return ids
    chosen = provider_key(str(values.get("provider") or default))
    return [secret_id for secret_id in ids if secret_id.split(".")[1] == chosen]


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
            return Exit.FAILED
        if input(f"Delete session '{args.name}' and its secrets? Type the name to confirm: ").strip() != args.name:
            print("Not deleted.")
            return Exit.FAILED
    with store.lock(args.name):
        try:
            keyring = sources.open_keyring()
            keyring.delete_all(args.name, draft.secret_ids_for(store.load(args.name).values))
        except secrets.SecretsError as exc:
            if not args.keep_secrets:
                print(f"wandb-local-setup: {exc}\nThe session was not deleted. Add --keep-secrets to delete the "
                      "session file anyway (its keyring entries then stay).", file=sys.stderr)
                return Exit.KEYRING
        store.delete(args.name)
    print(f"Deleted session '{args.name}'.")
    return Exit.OK


def _export(store: SessionStore, args: argparse.Namespace) -> int:
    """An answers file for a session: its values, and `keyring:` references for the secrets it has."""
    from wizard import answers, exports

    session = store.read(args.name)
    present = set(sources.open_keyring().get_all(args.name, draft.secret_ids_for(session.values)))
    text = answers.to_toml(session.values, session.name, present)
    exports.write([exports.ExportFile(Path(args.out), text, False)])
    print(f"wrote {args.out}")
    return Exit.OK


def _copy(store: SessionStore, args: argparse.Namespace) -> int:
    """The secrets first, the session file last: a copy killed midway leaves no session that looks complete, and a
    retry clears what it left in the keyring. The target's lock keeps a second copy to that name out meanwhile."""
    keyring = sources.open_keyring()
    ids = draft.secret_ids_for(store.load(args.source).values)
    found = keyring.get_all(args.source, ids)
    lock = store.lock(args.target)
    try:
        if store.exists(args.target):
            raise SessionExists(f"A session named '{args.target}' already exists: pick another name.")
        keyring.delete_all(args.target, sorted(set(draft.secret_ids()) | set(ids)))  # an unfinished copy's
        for secret_id, value in found.items():
            keyring.set(args.target, secret_id, value)
        store.copy(args.source, args.target)
    finally:
        lock.release()
    print(f"copied session '{args.source}' to '{args.target}' ({len(found)} secrets)")
    return Exit.OK
