"""`wandb-local-setup apply`: an answers file saved to a session, checked, then launched (or shown, --dry-run)."""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from wizard.cli.common import (
    DEFAULT_SESSION, add_check_arguments, add_inline_secrets_argument, failed, launch_spec, preflight, run_checks,
)
from wizard.cli.exit import Exit, Terminated
from wizard.lazy import lazy_module

if TYPE_CHECKING:
    from wizard.checks import engine
    from wizard import report, sources
    from wizard.launcher import LaunchEvent, LaunchResult, LaunchSpec, Options
else:
    engine = lazy_module("wizard.checks.engine")
    report = lazy_module("wizard.report")
    sources = lazy_module("wizard.sources")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("apply", help="save an answers file to a session, check it, and launch the server")
    parser.add_argument("--answers", required=True, metavar="FILE", help="an answers file (.toml, .yaml)")
    parser.add_argument("--session", metavar="NAME", default=argparse.SUPPRESS,
                        help="session to save to (default: the file's `session`, else 'default')")
    add_inline_secrets_argument(parser)
    add_check_arguments(parser)
    parser.add_argument("--skip-checks", action="store_true", help="launch without running the live checks")
    parser.add_argument("--force", action="store_true", help="launch even if checks fail")
    parser.add_argument("--dry-run", action="store_true",
                        help="run the preflight and show the Docker operations, without doing them")
    parser.add_argument("--interactive", action="store_true",
                        help="save the answers to the session, then open the wizard on it to review and launch")
    parser.add_argument("--ready-timeout", type=float, default=600, metavar="SECONDS",
                        help="how long to wait for the server to become ready (default 600)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.flow import WizardFlow

    source = sources.from_answers(args.answers, args.allow_inline_secrets, getattr(args, "session", None))
    name = source.session or DEFAULT_SESSION
    # The same flow as the TUI's: the answers and the check results are recorded as the wizard records them.
    flow = WizardFlow.open(name)
    try:
        if source.secrets:
            flow.attach_secrets(sources.open_keyring())
        flow.take_answers(source.values, source.secrets)
        flow.flush_secrets()
        flow.save()
        source.flags = dict(flow.session.flags)  # what the session records (a container it adopted)
        print(f"saved the answers to session '{name}'")
        if not args.interactive and not args.skip_checks:
            reports = run_checks(source, args)
            print(report.as_text(reports), end="")
            for step_report in reports:
                if step_report.results:
                    flow.record_checks(step_report.step, step_report.results)
            flow.save()
            if report.overall(reports) is engine.Status.FAIL and not args.force:
                print("Not launched: fix the failures above (or use --force).", file=sys.stderr)
                return Exit.CHECKS_FAILED
    finally:
        flow.close()
    if args.interactive:
        from wizard.cli.interactive import open_wizard

        return open_wizard(name)

    from wizard import launcher

    spec = launch_spec(source)
    checked = preflight(spec)
    print(report.as_text([checked]), end="")
    if args.dry_run:
        print("Dry run: these Docker operations would run (secrets masked):")
        for operation in launcher.dry_run(spec):
            print("\n".join("  " + line for line in operation.describe()))
        if failed(checked):
            print("A real apply would stop at the preflight: fix its failures above.", file=sys.stderr)
            return Exit.CHECKS_FAILED
        return Exit.OK
    if failed(checked):
        print("Not launched: fix the preflight failures above.", file=sys.stderr)
        return Exit.CHECKS_FAILED
    try:
        result = _launch(spec, launcher.Options(ready_timeout=args.ready_timeout, ca_file=args.ca_file))
    except launcher.LauncherError as exc:
        _record(name, "launch", False, exc.message)
        raise
    _record(name, result.action, result.ok, result.message)
    return Exit.OK if result.ok else Exit.FAILED


def _record(name: str, action: str, ok: bool, message: str) -> None:
    """The launch's outcome in the session, as the Launch step records it (`doctor` and the TUI read it)."""
    from wizard.flow import WizardFlow

    flow = WizardFlow.open(name)
    try:
        flow.record_launch(action, ok, message)
        flow.save()
    finally:
        flow.close()


def _launch(spec: LaunchSpec, options: Options) -> LaunchResult:
    from wizard import launcher
    from wizard.text import printable

    with _signals_interrupt():
        result = launcher.launch(spec, on_event=_print_event, options=options)
    print(printable(result.message))
    if result.ok:
        for line in (result.after.next_steps if result.after else ()):
            print(f"  - {printable(line)}")
        return result
    if result.hint:
        print(f"how to fix: {printable(result.hint)}", file=sys.stderr)
    for line in result.last_logs:
        print(f"  | {printable(line)}", file=sys.stderr)
    return result


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a `kill`, a closed SSH session) interrupt the launch as Ctrl-C does: a replacement under
    way then puts the old server back before the command ends (their default would end it on the spot)."""
    def interrupt(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_event(event: LaunchEvent) -> None:
    from wizard import launcher
    from wizard.text import printable

    if isinstance(event, launcher.Step):
        print(f"- {printable(event.message)}", flush=True)
    elif isinstance(event, launcher.MarkerSeen):
        print(f"  {printable(event.marker)} ({event.elapsed:.0f} s)", flush=True)
    elif isinstance(event, launcher.PullProgress) and event.total_bytes:
        if event.layers_done == event.layers_total:
            print(f"  pulled {event.layers_total} layers, {event.total_bytes / 1e6:.0f} MB", flush=True)
