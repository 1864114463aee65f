"""`wandb-local-setup export`: the env file, docker-compose project or docker run script, or for W&B's Kubernetes
operator its chart's values or a WeightsAndBiases resource (with the Secrets they name)."""

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
    parser = commands.add_parser("export", help="write an env file, docker-compose project, docker run script, or "
                                                "Kubernetes operator values or resource")
    add_source_arguments(parser)
    parser.add_argument("--format", required=True, choices=exports.FORMATS + tuple(exports.REMOVED_FORMATS),
                        metavar="{" + ",".join(exports.FORMATS) + "}")
    parser.add_argument("--out", required=True, metavar="PATH")
    parser.add_argument("--with-secrets", action="store_true", help="write real secret values (file mode 0600)")
    parser.add_argument("--namespace", type=_namespace, default=exports.DEFAULT_NAMESPACE,
                        help=f"Kubernetes namespace of the operator formats (default: {exports.DEFAULT_NAMESPACE})")
    parser.set_defaults(run=run)


def _namespace(value: str) -> str:
    import re

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a Kubernetes namespace: lower-case letters, digits and "
                                         "'-', starting and ending with a letter or digit, at most 63")
    return value


def run(args: argparse.Namespace) -> int:
    if args.format in exports.REMOVED_FORMATS:  # said before the answers or the session are read
        raise exports.ExportRefused(exports.REMOVED_FORMATS[args.format])
    source = source_of(args)
    files = exports.build(source.cfg, args.format, Path(args.out), args.with_secrets, args.namespace)
    exports.write(files)
    for item in files:
        print(f"wrote {item.path}" + (" (mode 0600)" if item.secret else ""))
    for item in files:
        for note in item.notes:
            print(f"  {note}")
    if args.with_secrets and any(item.secret for item in files):
        print("warning: these files hold secrets in clear text: keep them private, delete them when done.",
              file=sys.stderr)
    return Exit.OK
