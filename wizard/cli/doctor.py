"""`wandb-local-setup doctor`: a support bundle (.tar.gz, 0600) with what support asks for, redacted."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.cli.common import add_check_arguments, add_source_arguments, check_options, launch_spec, source_of
from wizard.cli.exit import Exit


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("doctor", help="write a support bundle: versions, this machine, every check, the "
                                                "container's inspect output, log and events, all redacted")
    add_source_arguments(parser)
    add_check_arguments(parser)
    parser.add_argument("--out", metavar="FILE", help="where to write it (default: wandb-local-support-<time>.tar.gz "
                                                      "here)")
    parser.add_argument("--print", action="store_true", help="list the bundle's files instead of writing it")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard import doctor, exports
    from wizard.text import printable

    out = Path(args.out) if args.out else doctor.default_path()
    if not args.print:
        exports.check_destination(out)  # before the checks run: a wrong --out is said at once
    source = source_of(args)
    spec = launch_spec(source)
    session = {"session": source.session, "values": source.values, "last_launch": source.flags.get("last_launch")}
    bundle = doctor.bundle_for(source.cfg, spec, session, **check_options(args))
    if args.print:
        for name, data in bundle.files.items():
            print(f"{len(data):>9}  {name}")
        return Exit.OK
    size = doctor.write(bundle, out)
    print(f"wrote {out} ({size / 1024:.1f} KiB, mode 0600): {len(bundle.files)} files, secrets redacted")
    for line in bundle.missing:
        print(f"  not included: {printable(line)}")
    return Exit.OK
