"""What the headless commands share: where the configuration comes from (a session or an answers file), the
check options, and running every step's checks with progress on a terminal."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from wizard.cli.exit import Exit
from wizard.lazy import lazy_module

DEFAULT_SESSION = "default"  # where `apply` saves an answers file that names no session

if TYPE_CHECKING:
    from wizard import answers, draft, report, sources
    from wizard.checks import engine
    from wizard.launcher import LaunchSpec
else:  # loaded when a command runs, not when the parser is built for the interactive wizard (start-up time)
    engine = lazy_module("wizard.checks.engine")
    answers = lazy_module("wizard.answers")
    draft = lazy_module("wizard.draft")
    report = lazy_module("wizard.report")
    sources = lazy_module("wizard.sources")


def add_inline_secrets_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-inline-secrets", action="store_true",
                        help="accept literal secrets in the answers file (prefer env:, file: or keyring:)")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--session", metavar="NAME", default=argparse.SUPPRESS, help="a saved session")
    group.add_argument("--answers", metavar="FILE", help="an answers file (.toml, .yaml)")
    add_inline_secrets_argument(parser)


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per-check timeout (default 5)")
    parser.add_argument("--ca-file", metavar="PEM", help="trust this CA bundle for TLS checks")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (reported as a warning)")


def add_preflight_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-preflight", action="store_true",
                        help="check the settings only, not this machine (Docker access, the published port, the bind "
                             "path, resources): for a configuration that will run on another machine")


def launch_spec(source: sources.Source) -> LaunchSpec:
    from wizard import launch_plan

    return launch_plan.launch_spec(source.cfg, source.session or DEFAULT_SESSION, launch_plan.adopted_id(source.flags))


def preflight(spec: LaunchSpec) -> report.StepReport:
    """This machine's preflight for a launch, as `apply` runs it before launching."""
    from wizard import launcher

    return launcher.preflight_report(spec)


def failed(step_report: report.StepReport) -> bool:
    return any(item.status in (engine.Status.FAIL, engine.Status.ERROR) for item in step_report.results)


def source_of(args: argparse.Namespace) -> sources.Source:
    if getattr(args, "answers", None):
        return sources.from_answers(args.answers, args.allow_inline_secrets, getattr(args, "session", None))
    return sources.from_session(args.session)


def check_options(args: argparse.Namespace) -> dict[str, Any]:
    """What `check_all` gets from the command line; progress on a terminal."""
    def progress(done: int, total: int, result: engine.CheckResult) -> None:
        print(f"\rchecking: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return {"timeout": args.timeout, "ca_file": args.ca_file, "insecure": args.insecure,
            "progress": progress if sys.stderr.isatty() else None, "target": getattr(args, "target", engine.DOCKER)}


def run_checks(source: sources.Source, args: argparse.Namespace) -> list[report.StepReport]:
    from wizard.checks.all_steps import check_all

    return engine.run_blocking(check_all(source.cfg, **check_options(args)))


def checks_exit(reports: list[report.StepReport]) -> Exit:
    codes = {engine.Status.PASS: Exit.OK, engine.Status.WARN: Exit.WARNINGS}
    return codes.get(report.overall(reports), Exit.CHECKS_FAILED)


def setting_errors(exc: BaseException) -> list[report.SettingError]:
    """The problems of an answers file or configuration that cannot be used, for machine readers."""
    if isinstance(exc, answers.AnswersInvalid):
        return [report.SettingError(exc.filename, error.line, error.key, error.message) for error in exc.errors]
    if isinstance(exc, draft.ConfigErrors):
        return [report.SettingError(None, None, ".".join((error.step, *error.path)), f"{error.label}: {error.message}")
                for error in exc.errors]
    return []
