"""`wandb-local-setup adopt`: a running W&B server the wizard did not start becomes a session (wizard.adopt)."""

from __future__ import annotations

import argparse
import sys

from wizard.cli.exit import Exit


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("adopt", help="read a W&B server started by `wandb server start` or `docker run` "
                                              "into a session, to check, reconfigure and upgrade it")
    parser.add_argument("--container", metavar="NAME", help="the server's container (default: the one running "
                                                           "wandb/local)")
    parser.add_argument("--session", metavar="NAME", help="the new session (default: the container's name)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard import adopt, sources
    from wizard.flow import WizardFlow
    from wizard.launcher import connect
    from wizard.launcher.existing import get_container
    from wizard.session import SessionStore
    from wizard.text import printable

    client = connect()
    if args.container:
        container = get_container(client, args.container)
        if container is None:
            print(f"wandb-local-setup: no container named {args.container} (see `docker ps -a`)", file=sys.stderr)
            return Exit.USAGE
    else:
        found = adopt.find_candidates(client)
        if len(found) != 1:
            names = ", ".join(c.name for c in found) or "none"
            print(f"wandb-local-setup: give --container: containers running wandb/local not started by this wizard: "
                  f"{names}", file=sys.stderr)
            return Exit.USAGE
        container = found[0]
    adopted = adopt.read_from_engine(client, container)
    name = args.session or adopted.container
    if SessionStore().exists(name):
        print(f"wandb-local-setup: the session '{name}' exists already: give another name with --session",
              file=sys.stderr)
        return Exit.USAGE
    flow = WizardFlow.open(name, new=True)
    try:
        if adopted.secrets:
            flow.attach_secrets(sources.open_keyring())
        flow.adopt(adopted)
        flow.flush_secrets()
        flow.save()
        problems = [f"{error}" for step in adopted.values for error in flow.validate(step)[1]]
    finally:
        flow.close()
    print(f"adopted {adopted.container} into the session '{name}' ({len(adopted.secrets)} secrets in the keyring)")
    for line in adopted.taken:
        print(f"  {printable(line)}")
    if adopted.unmapped:
        print("Not taken as it is:")
        for line in adopted.unmapped:
            print(f"  - {printable(line)}")
    if problems:
        print("To correct in the wizard:")
        for line in problems:
            print(f"  - {printable(line)}")
    print(f"Next: wandb-local-setup check --session {name}; then wandb-local-setup --session {name} (Launch replaces "
          "the container with these settings, keeping its data, and puts it back if the new one fails)")
    return Exit.OK
