"""`wandb-local-setup check-team-bucket`: a team's own bucket, checked before the team is created with it."""

from __future__ import annotations

import argparse
import sys

from wizard.cli.common import add_inline_secrets_argument, checks_exit, source_of
from wizard.cli.exit import Exit


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("check-team-bucket", help="check a team's own bucket (S3 or GCS, set once at team "
                                                          "creation) with the server's credentials")
    parser.add_argument("--provider", required=True, choices=("s3", "gcs"))
    parser.add_argument("--bucket", required=True, metavar="NAME")
    parser.add_argument("--region", metavar="REGION", help="the S3 bucket's region (required for s3)")
    parser.add_argument("--kms-key", metavar="ARN", help="the KMS key the team's files are encrypted with (s3)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--session", metavar="NAME", help="the session whose server credentials and HOST are used")
    source.add_argument("--answers", metavar="FILE", help="an answers file instead of a session")
    add_inline_secrets_argument(parser)
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per-check timeout (default 5)")
    parser.add_argument("--endpoint-url", metavar="URL", help="the S3 API at a private endpoint (or an emulator)")
    parser.add_argument("--gcs-endpoint", metavar="URL", help="the Cloud Storage JSON API at another address")
    parser.add_argument("--fix", action="store_true", help="apply the fixes offered (a CORS rule for HOST), then "
                                                          "check again")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (assets/check-report.schema.json)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard import config, report
    from wizard.checks.engine import run_blocking
    from wizard import team_bucket as tb
    from wizard.text import printable

    team = tb.TeamBucket(args.provider, args.bucket, args.region, args.kms_key)
    cfg = source_of(args).cfg if args.session or args.answers else config.InstallConfig()
    extra = {key: value for key, value in (("aws_endpoint_url", args.endpoint_url),
                                           ("gcs_endpoint", args.gcs_endpoint)) if value}
    try:
        checked = run_blocking(tb.check(team, cfg, args.timeout, extra))  # the options are read before any connection
    except tb.TeamBucketInvalid as exc:
        print(f"wandb-local-setup: {exc}", file=sys.stderr)
        return Exit.USAGE
    fixes = [(result.fix.description, result.fix.apply) for result in checked.results
             if result.fix is not None and result.fix.apply is not None]
    if args.fix and fixes:
        for description, apply in fixes:
            run_blocking(apply())
            print(f"fixed: {printable(description)}", file=sys.stderr)
        checked = run_blocking(tb.check(team, cfg, args.timeout, extra))
    if args.json:
        print(report.as_json([checked]), end="")
        return checks_exit([checked])
    print(report.as_text([checked]), end="")
    print(printable(tb.outcome(team, checked.results)))
    return checks_exit([checked])

