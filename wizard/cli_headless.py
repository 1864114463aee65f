"""Headless commands: `check`, `export`, `apply`, and `sessions export|copy`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from wizard import answers as answers_mod
from wizard import draft, exports, report, sources
from wizard.checks.engine import Status
from wizard.session import SessionStore

EXIT_WARNINGS, EXIT_CHECKS_FAILED, EXIT_INVALID = 7, 8, 9


def add_source_arguments(parser: argparse.ArgumentParser, *, answers_required: bool = False) -> None:
    group = parser.add_mutually_exclusive_group(required=not answers_required)
    group.add_argument("--session", metavar="NAME", default=argparse.SUPPRESS, help="a saved session")
    group.add_argument("--answers", metavar="FILE", required=answers_required, help="an answers file (.toml, .yaml)")
    parser.add_argument("--allow-inline-secrets", action="store_true",
                        help="accept literal secrets in the answers file (prefer env:, file: or keyring:)")


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per-check timeout (default 5)")
    parser.add_argument("--ca-file", metavar="PEM", help="trust this CA bundle for TLS checks")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (reported as a warning)")


def register(commands) -> None:
    check = commands.add_parser("check", help="run every step's live checks and print a report")
    add_source_arguments(check)
    add_check_arguments(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON (assets/check-report.schema.json)")

    export = commands.add_parser("export", help="write an env file, docker-compose project, Helm values or docker run script")
    add_source_arguments(export)
    export.add_argument("--format", required=True, choices=exports.FORMATS)
    export.add_argument("--out", required=True, metavar="PATH")
    export.add_argument("--with-secrets", action="store_true", help="write real secret values (file mode 0600)")


def _source(args: argparse.Namespace) -> sources.Source:
    if getattr(args, "answers", None):
        return sources.from_answers(args.answers, args.allow_inline_secrets, getattr(args, "session", None))
    return sources.from_session(args.session)


def run_check(args: argparse.Namespace) -> int:
    source = _source(args)
    reports = run_checks(source, args)
    print(report.as_json(reports) if args.json else report.as_text(reports), end="")
    return exit_code(reports)


def run_checks(source: sources.Source, args: argparse.Namespace) -> list[report.StepReport]:
    from wizard.checks.all_steps import check_all

    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int, result) -> None:
        print(f"\rchecking: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return asyncio.run(check_all(source.cfg, timeout=args.timeout, ca_file=args.ca_file, insecure=args.insecure,
                                 progress=progress if show_progress else None))


def exit_code(reports: list[report.StepReport]) -> int:
    return {Status.PASS: 0, Status.WARN: EXIT_WARNINGS, Status.FAIL: EXIT_CHECKS_FAILED}[report.overall(reports)]


def run_export(args: argparse.Namespace) -> int:
    source = _source(args)
    files = exports.build(source.cfg, args.format, Path(args.out), args.with_secrets)
    exports.write(files)
    for item in files:
        print(f"wrote {item.path}" + (" (mode 0600)" if item.secret else ""))
    if args.with_secrets and any(item.secret for item in files):
        print("warning: these files hold secrets in clear text: keep them private, delete them when done.",
              file=sys.stderr)
    return 0


def sessions_export(args: argparse.Namespace) -> int:
    """An answers file for a session: its values, and `keyring:` references for the secrets it has."""
    store = SessionStore()
    session = store.load(args.name)
    present = set(sources.stored_secrets(sources.open_keyring(), args.name))
    text = answers_mod.to_toml(session.values, session.name, present)
    exports.write([exports.ExportFile(Path(args.out), text, False)])
    print(f"wrote {args.out}")
    return 0


def sessions_copy(args: argparse.Namespace) -> int:
    store = SessionStore()
    keyring = sources.open_keyring()
    found = sources.stored_secrets(keyring, args.source)
    store.copy(args.source, args.target)
    for secret_id, value in found.items():
        keyring.set(args.target, secret_id, value)
    print(f"copied session '{args.source}' to '{args.target}' ({len(found)} secrets)")
    return 0


def describe_invalid(exc: Exception) -> tuple[int, str] | None:
    if isinstance(exc, answers_mod.AnswersInvalid):
        return EXIT_INVALID, "the answers file has problems:\n" + str(exc)
    if isinstance(exc, draft.ConfigErrors):
        return EXIT_INVALID, "the configuration is not complete:\n" + str(exc)
    return None
