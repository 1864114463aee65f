"""Headless commands: `check`, `export`, `apply`, and `sessions export|copy`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from wizard.checks.engine import Status
from wizard.lazy import lazy_module
from wizard.session import SessionStore

# Loaded when a headless command runs, not when the parser is built for the interactive wizard (start-up time).
answers_mod = lazy_module("wizard.answers")
draft = lazy_module("wizard.draft")
exports = lazy_module("wizard.exports")
report = lazy_module("wizard.report")
sources = lazy_module("wizard.sources")

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
    try:
        source = _source(args)
    except (answers_mod.AnswersInvalid, draft.ConfigErrors) as exc:
        if args.json:  # machine readers get the problems too (the exit code and stderr stay as they are)
            print(report.invalid_json(setting_errors(exc)), end="")
        raise
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
    present = set(sources.open_keyring().get_all(args.name, draft.secret_ids_for(session.values)))
    text = answers_mod.to_toml(session.values, session.name, present)
    exports.write([exports.ExportFile(Path(args.out), text, False)])
    print(f"wrote {args.out}")
    return 0


def sessions_copy(args: argparse.Namespace) -> int:
    store = SessionStore()
    keyring = sources.open_keyring()
    found = keyring.get_all(args.source, draft.secret_ids_for(store.load(args.source).values))
    store.copy(args.source, args.target)
    for secret_id, value in found.items():
        keyring.set(args.target, secret_id, value)
    print(f"copied session '{args.source}' to '{args.target}' ({len(found)} secrets)")
    return 0


def setting_errors(exc: Exception) -> list[report.SettingError]:
    if isinstance(exc, answers_mod.AnswersInvalid):
        return [report.SettingError(exc.filename, error.line, error.key, error.message) for error in exc.errors]
    return [report.SettingError(None, None, ".".join((error.step, *error.path)), f"{error.label}: {error.message}")
            for error in exc.errors]


def describe_invalid(exc: Exception) -> tuple[int, str] | None:
    if isinstance(exc, answers_mod.AnswersInvalid):
        return EXIT_INVALID, "the answers file has problems:\n" + str(exc)
    if isinstance(exc, draft.ConfigErrors):
        return EXIT_INVALID, "the configuration is not complete:\n" + str(exc)
    return None


# --- apply ------------------------------------------------------------------------------------------------------

DEFAULT_SESSION = "default"


def register_apply(commands) -> None:
    apply = commands.add_parser("apply", help="save an answers file to a session, check it, and launch the server")
    apply.add_argument("--answers", required=True, metavar="FILE", help="an answers file (.toml, .yaml)")
    apply.add_argument("--session", metavar="NAME", default=argparse.SUPPRESS,
                       help="session to save to (default: the file's `session`, else 'default')")
    apply.add_argument("--allow-inline-secrets", action="store_true",
                       help="accept literal secrets in the answers file (prefer env:, file: or keyring:)")
    add_check_arguments(apply)
    apply.add_argument("--skip-checks", action="store_true", help="launch without running the live checks")
    apply.add_argument("--force", action="store_true", help="launch even if checks fail")
    apply.add_argument("--dry-run", action="store_true", help="show the Docker operations without doing them")
    apply.add_argument("--interactive", action="store_true",
                       help="save the answers to the session, then open the wizard on it to review and launch")
    apply.add_argument("--ready-timeout", type=float, default=600, metavar="SECONDS",
                       help="how long to wait for the server to become ready (default 600)")


def save_to_session(source: sources.Source, name: str) -> None:
    """The answers become the session's values (steps given are replaced) and its keyring entries."""
    from wizard.steps import StepStatus

    store = SessionStore()
    with store.lock(name):
        session = store.load(name) if store.exists(name) else store.create(name)
        keyring = sources.open_keyring() if source.secrets else None
        for secret_id, value in source.secrets.items():
            keyring.set(name, secret_id, value)
        for step, values in source.values.items():
            session.set_values(step, values)
            session.set_status(step, StepStatus.EDITED, "from an answers file")
        store.save(session, secret_keys=draft.secret_ids_for(session.values))


def record_checks(name: str, reports: list[report.StepReport]) -> None:
    from wizard.steps import StepStatus

    store = SessionStore()
    with store.lock(name):
        session = store.load(name)
        for step_report in reports:
            if not step_report.results:
                continue
            worst = report.overall([step_report])
            status = {Status.PASS: StepStatus.CHECKED_OK, Status.WARN: StepStatus.CHECKED_WARN}.get(worst, StepStatus.FAILED)
            session.set_status(step_report.step, status)
        store.save(session, secret_keys=draft.secret_ids_for(session.values))


def run_apply(args: argparse.Namespace) -> int:
    source = sources.from_answers(args.answers, args.allow_inline_secrets, getattr(args, "session", None))
    name = source.session or DEFAULT_SESSION
    save_to_session(source, name)
    print(f"saved the answers to session '{name}'")
    if args.interactive:
        from wizard.cli import open_wizard

        return open_wizard(name)
    if not args.skip_checks:
        reports = run_checks(source, args)
        print(report.as_text(reports), end="")
        record_checks(name, reports)
        if report.overall(reports) is Status.FAIL and not args.force:
            print("Not launched: fix the failures above (or use --force).", file=sys.stderr)
            return EXIT_CHECKS_FAILED

    from wizard import launch_plan, launcher

    spec = launch_plan.launch_spec(source.cfg, name)
    if args.dry_run:
        print("Dry run: these Docker operations would run (secrets masked):")
        for operation in launcher.dry_run(spec):
            print("\n".join("  " + line for line in operation.describe()))
        return 0
    return _launch(spec, args.ready_timeout)


def _launch(spec, ready_timeout: float) -> int:
    from wizard import launcher
    from wizard.text import printable

    preflight = list(launcher.run_preflight(spec))
    print(report.as_text([report.StepReport("server", preflight, title="Preflight")]), end="")
    if any(item.status in (Status.FAIL, Status.ERROR) for item in preflight):
        print("Not launched: fix the preflight failures above.", file=sys.stderr)
        return EXIT_CHECKS_FAILED
    result = launcher.launch(spec, on_event=_print_event, options=launcher.Options(ready_timeout=ready_timeout))
    print(printable(result.message))
    if result.ok:
        for line in (result.after.next_steps if result.after else ()):
            print(f"  - {printable(line)}")
        return 0
    if result.hint:
        print(f"how to fix: {printable(result.hint)}", file=sys.stderr)
    for line in result.last_logs:
        print(f"  | {printable(line)}", file=sys.stderr)
    return 1


def _print_event(event) -> None:
    from wizard import launcher
    from wizard.text import printable

    if isinstance(event, launcher.Step):
        print(f"- {printable(event.message)}", flush=True)
    elif isinstance(event, launcher.MarkerSeen):
        print(f"  {printable(event.marker)} ({event.elapsed:.0f} s)", flush=True)
    elif isinstance(event, launcher.PullProgress) and event.total_bytes:
        if event.layers_done == event.layers_total:
            print(f"  pulled {event.layers_total} layers, {event.total_bytes / 1e6:.0f} MB", flush=True)
