"""`wandb-local-setup check`: every step's live checks on a session or an answers file, then this machine's
preflight (unless --no-preflight), as text or JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.cli.common import (
    add_check_arguments, add_preflight_argument, add_source_arguments, checks_exit, launch_spec, preflight, run_checks,
    setting_errors, source_of,
)
from wizard.lazy import lazy_module

if TYPE_CHECKING:
    from wizard import answers, draft, report
else:
    answers = lazy_module("wizard.answers")
    draft = lazy_module("wizard.draft")
    report = lazy_module("wizard.report")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check", help="run every step's live checks and print a report")
    add_source_arguments(parser)
    add_check_arguments(parser)
    add_preflight_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON (assets/check-report.schema.json)")
    parser.add_argument("--target", choices=("docker", "kubernetes"), default="docker",
                        help="where the server will run: wandb/local on this machine's Docker (default), or pods of "
                             "W&B's Kubernetes operator (addresses are checked as a pod would use them; no preflight)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        source = source_of(args)
    except (answers.AnswersInvalid, draft.ConfigErrors) as exc:
        if args.json:  # machine readers get the problems too (the exit code and stderr stay as they are)
            print(report.invalid_json(setting_errors(exc)), end="")
        raise
    reports = run_checks(source, args)
    if not args.no_preflight and args.target == "docker":  # what `apply` finds first: Docker, the port, the bind path
        reports.append(preflight(launch_spec(source)))
    print(report.as_json(reports) if args.json else report.as_text(reports), end="")
    return checks_exit(reports)
