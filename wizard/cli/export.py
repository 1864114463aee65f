"""`wandb-local-setup export`: the env file, docker-compose project, Helm values or docker run script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.cli.common import add_source_arguments, source_of
from wizard.cli.exit import Exit
from wizard.lazy import lazy_module

if TYPE_CHECKING:
    from wizard import exports
else:
    exports = lazy_module("wizard.exports")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("export", help="write an env file, docker-compose project, Helm values or docker run "
                                                "script")
    add_source_arguments(parser)
    parser.add_argument("--format", required=True, choices=exports.FORMATS)
    parser.add_argument("--out", required=True, metavar="PATH")
    parser.add_argument("--with-secrets", action="store_true", help="write real secret values (file mode 0600)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = source_of(args)
    files = exports.build(source.cfg, args.format, Path(args.out), args.with_secrets)
    exports.write(files)
    for item in files:
        print(f"wrote {item.path}" + (" (mode 0600)" if item.secret else ""))
    if args.with_secrets and any(item.secret for item in files):
        print("warning: these files hold secrets in clear text: keep them private, delete them when done.",
              file=sys.stderr)
    return Exit.OK
