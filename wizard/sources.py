"""Where a headless command gets its configuration: a saved session (values + keyring) or an answers file."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field

from wizard import answers as answers_mod
from wizard import config, secrets


def passphrase_prompt(choice: secrets.BackendChoice) -> str | None:
    """The encrypted keyring's passphrase: from the environment, else asked on the terminal, else none."""
    if os.environ.get(secrets.PASSPHRASE_ENV):
        return os.environ[secrets.PASSPHRASE_ENV]
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for {choice.name}: ")
    return None


def open_keyring() -> secrets.SecretStore:
    store = secrets.open_store(passphrase=passphrase_prompt)
    if store.choice.kind == "plaintext":  # named explicitly: allowed for every command, never silently
        print(f"wandb-local-setup: warning: {store.choice.note}", file=sys.stderr)
    return store


@dataclass
class Source:
    cfg: config.InstallConfig
    values: dict
    secrets: dict[str, str]  # an answers file's, for the keyring (a session's are there already)
    session: str | None
    flags: dict = field(default_factory=dict)  # a session's records: the last launch, restore mode


def from_session(name: str) -> Source:
    """The session's configuration, built by the same flow as the wizard's. The keyring must open: without it a
    license or password would go missing."""
    from wizard.flow.session import WizardFlow

    flow = WizardFlow.read(name)
    flow.attach_secrets(open_keyring())
    return Source(flow.build_config(), flow.session.values, {}, name, dict(flow.session.flags))


def from_answers(path: str, allow_inline: bool, session: str | None = None) -> Source:
    keyring_cache: dict[str, secrets.SecretStore] = {}
    parsed = answers_mod.parse(path)

    def keyring_get(secret_id: str) -> str | None:
        parsed_session = session or parsed.session
        if not parsed_session:
            raise ValueError("keyring: needs a session name (give --session or set session = \"...\")")
        try:
            if "store" not in keyring_cache:
                keyring_cache["store"] = open_keyring()
        except secrets.SecretsError as exc:
            raise ValueError(str(exc)) from None
        return keyring_cache["store"].get(parsed_session, secret_id)

    ans, cfg, found = answers_mod.load(path, allow_inline=allow_inline, keyring_get=keyring_get)
    return Source(cfg, ans.values, found, session or ans.session)
