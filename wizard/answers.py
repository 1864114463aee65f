"""Answers files (TOML or YAML): every setting of the wizard without a screen, validated with line numbers.

Layout: one table per step (`[host]`, `[storage]`, ...); provider steps hold `provider` and that provider's
fields. Secrets are references, never literal (unless explicitly allowed): `env:NAME`, `file:PATH`, or
`keyring:` for the entry already stored for the session.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from wizard import config, draft
from wizard.small_files import read_small
from wizard.steps import CONFIG_STEPS

TOP_LEVEL = ("session", *CONFIG_STEPS)
MAX_SECRET_FILE = 64 * 1024
MAX_ANSWERS_FILE = 1024 * 1024  # an answers file is a few kB
MAX_DEPTH = 12  # tables and lists inside each other: an answers file needs 4 (server.extra_env[0].name)


@dataclass(frozen=True)
class AnswerError:
    line: int | None
    key: str  # dotted, e.g. "storage.bucket"
    message: str

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class AnswersInvalid(ValueError):
    def __init__(self, filename: str, errors: list[AnswerError]):
        self.filename = filename
        self.errors = errors
        super().__init__("\n".join(error.format(filename) for error in errors))


@dataclass
class Answers:
    """A parsed answers file: draft values as the wizard keeps them, and where each secret comes from."""

    session: str | None
    values: dict[str, dict[str, Any]]
    secret_refs: dict[str, str] = field(default_factory=dict)  # secret id -> "env:X" / "file:P" / "keyring:" / literal
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)


# --- reading files with line numbers -----------------------------------------------------------------------------


def _load(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    try:
        text = read_small(path, MAX_ANSWERS_FILE).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:  # (UnicodeDecodeError is a ValueError)
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise AnswersInvalid(str(path), [AnswerError(None, "", f"cannot be read: {reason}")]) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(path, text)
    if path.suffix.lower() == ".toml":
        return _load_toml(path, text)
    raise AnswersInvalid(str(path), [AnswerError(None, "", "expected a .toml, .yaml or .yml file")])


def _load_toml(path: Path, text: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise AnswersInvalid(str(path), [AnswerError(int(line.group(1)) if line else None, "",
                                                     f"is not valid TOML: {exc}")]) from None
    except RecursionError:  # arrays or inline tables nested hundreds deep
        raise AnswersInvalid(str(path), [AnswerError(None, "", _too_deep())]) from None
    if _depth(data) > MAX_DEPTH:
        raise AnswersInvalid(str(path), [AnswerError(None, "", _too_deep())])
    return data, _toml_lines(text)


def _too_deep() -> str:
    return f"is nested more than {MAX_DEPTH} levels deep (tables and lists inside each other): not an answers file"


def _depth(data: Any) -> int:
    """How deep tables and lists nest (without recursion: the data may be nested deeper than Python recurses)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest


def _toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each key is written, for messages (tomllib keeps no positions). Covers tables and arrays of tables."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith(("'", '"')) else raw.strip()
        header = re.fullmatch(r"\[\[\s*([^\]]+?)\s*\]\]", line) or re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if header:
            keys = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
            if line.startswith("[["):
                counts[keys] = counts.get(keys, -1) + 1
                keys = (*keys, str(counts[keys]))
            table = keys
            lines.setdefault(table, number)
            continue
        key = re.match(r"""^\s*("[^"]+"|'[^']+'|[A-Za-z0-9_.-]+)\s*=""", line)
        if key:
            parts = tuple(part.strip().strip("\"'") for part in key.group(1).split("."))
            lines.setdefault((*table, *parts), number)
    return lines


def _load_yaml(path: Path, text: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    import yaml

    try:
        _refuse_yaml_expansion(path, text)  # before composing: anchors and depth are found in the event stream
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise AnswersInvalid(str(path), [AnswerError(mark.line + 1 if mark else None, "",
                                                     f"is not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[AnswerError] = []

    def walk(current, prefix: tuple[str, ...]) -> None:
        if isinstance(current, yaml.MappingNode):
            here: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = (*prefix, str(key_node.value))
                line = key_node.start_mark.line + 1
                if str(key_node.value) in here:  # YAML loaders keep the last one silently; TOML refuses: so do we
                    duplicates.append(AnswerError(line, ".".join(key), f"is given twice (first on line "
                                                                       f"{here[str(key_node.value)]}): keep one"))
                here.setdefault(str(key_node.value), line)
                lines.setdefault(key, line)
                walk(value_node, key)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                key = (*prefix, str(index))
                lines.setdefault(key, item.start_mark.line + 1)
                walk(item, key)

    if node is not None:
        walk(node, ())
    if duplicates:
        raise AnswersInvalid(str(path), duplicates)
    return data if data is not None else {}, lines


def _refuse_yaml_expansion(path: Path, text: str) -> None:
    """Anchors and aliases (&a, *a, <<: *a) are refused: a few lines of them expand to gigabytes ("billion laughs"),
    and an answers file needs none. So is nesting deeper than MAX_DEPTH (the composer would recurse without end)."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise AnswersInvalid(str(path), [AnswerError(line, "", "uses a YAML anchor or alias (&name, *name): "
                                                                   "write each value out")])
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise AnswersInvalid(str(path), [AnswerError(line, "", _too_deep())])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


# --- from file data to draft values ------------------------------------------------------------------------------


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _line(lines: Mapping[tuple[str, ...], int], *key: str) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def parse(path: str | os.PathLike[str]) -> Answers:
    """Read and check the file's structure (keys, types of tables). Values are validated by `resolve`."""
    path = Path(path)
    data, lines = _load(path)
    errors: list[AnswerError] = []
    if not isinstance(data, dict):
        raise AnswersInvalid(str(path), [AnswerError(1, "", "expected tables of settings, e.g. [host]")])
    values: dict[str, dict[str, Any]] = {}
    refs: dict[str, str] = {}
    for key, section in data.items():
        if key not in TOP_LEVEL:
            errors.append(AnswerError(_line(lines, key), key, "is not a known section" + _suggest(key, list(TOP_LEVEL))))
            continue
        if key == "session":
            if not isinstance(section, str):
                errors.append(AnswerError(_line(lines, key), key, "expected a session name (text)"))
            continue
        if not isinstance(section, dict):
            errors.append(AnswerError(_line(lines, key), key, f"expected a table of settings ([{key}])"))
            continue
        values[key], step_refs = _step(key, section, lines, errors)
        refs.update(step_refs)
    if errors:
        raise AnswersInvalid(str(path), errors)
    session = data.get("session")
    return Answers(session=session, values=values, secret_refs=refs, lines=lines)


def _step(step: str, section: dict[str, Any], lines, errors: list[AnswerError]) -> tuple[dict[str, Any], dict[str, str]]:
    providers = config.PROVIDER_MODELS.get(step)
    provider = str(section.get("provider", next(iter(providers)))) if providers else ""
    if providers and provider not in providers:
        errors.append(AnswerError(_line(lines, step, "provider"), f"{step}.provider",
                                  f"'{provider}' is not a choice here: expected one of {', '.join(providers)}"
                                  + _suggest(str(provider), list(providers))))
        return {}, {}
    model = draft.section_model(step, {"provider": provider} if providers else {})
    secret_names = set(draft.secret_fields(model))
    known = [name for name in model.model_fields if name != "provider"]
    fields: dict[str, Any] = {}
    refs: dict[str, str] = {}
    prefix = (step, draft.provider_key(provider)) if providers else (step,)
    for name, value in section.items():
        if name == "provider" and providers:
            continue
        if (step, provider, name) == ("sso", "cognito", "auth_method"):
            if value != "pkce":  # the setting exists for the other providers; Cognito has one method only
                errors.append(AnswerError(_line(lines, step, name), f"{step}.{name}",
                                          f"'{value}' is not possible with Cognito: Cognito always uses pkce (the "
                                          "authorization code flow with PKCE); set auth_method = \"pkce\" or leave "
                                          "it out"))
            continue
        if name not in known:
            elsewhere = [p for p, m in (providers or {}).items() if name in m.model_fields]
            note = f" (it belongs to provider {', '.join(elsewhere)})" if elsewhere else _suggest(name, known)
            errors.append(AnswerError(_line(lines, step, name), f"{step}.{name}",
                                      f"is not a setting of {step}" + (f" with provider {provider}" if providers else "")
                                      + note))
        elif name in secret_names:
            if not isinstance(value, str):
                errors.append(AnswerError(_line(lines, step, name), f"{step}.{name}",
                                          "expected a secret reference: env:NAME, file:PATH or keyring:"))
            else:
                refs[".".join((*prefix, name))] = value
        else:
            fields[name] = value
    if step == "server" and isinstance(fields.get("extra_env"), list):
        fields["extra_env"] = _secret_rows(fields["extra_env"], refs, lines, errors)
    if providers:
        return {"provider": provider, draft.provider_key(provider): fields}, refs
    return fields, refs


def _secret_rows(rows: list, refs: dict[str, str], lines, errors: list[AnswerError]) -> list:
    """Extra options marked secret (or named like one) hold a reference, as secret settings do; the row keeps
    no value."""
    kept = []
    for index, row in enumerate(rows):
        if isinstance(row, dict) and str(row.get("name") or "").strip() and draft.row_is_secret(row):
            value = row.get("value", "")
            if not isinstance(value, str):
                errors.append(AnswerError(_line(lines, "server", "extra_env"), f"server.extra_env[{index}].value",
                                          "expected a secret reference: env:NAME, file:PATH or keyring:"))
            elif value:
                refs[draft.extra_secret_id(str(row["name"]).strip())] = value
            row = {**row, "value": ""}
        kept.append(row)
    return kept


# --- secrets -----------------------------------------------------------------------------------------------------

REFERENCE = re.compile(r"^(env|file|keyring):(.*)$", re.DOTALL)


def _resolve(answers: Answers, allow_inline: bool, keyring_get) -> tuple[dict[str, str], list[AnswerError]]:
    secrets: dict[str, str] = {}
    errors: list[AnswerError] = []
    for secret_id, ref in answers.secret_refs.items():
        key = _answers_key(secret_id)
        line = _line(answers.lines, *key.split("."))
        if ref == "":
            continue
        match = REFERENCE.match(ref)
        if not match:
            if allow_inline:
                secrets[secret_id] = ref
            else:
                errors.append(AnswerError(line, key, "holds a literal secret: use env:NAME, file:PATH or keyring: "
                                          "(or pass --allow-inline-secrets)"))
            continue
        kind, target = match.groups()
        try:
            value = _dereference(kind, target.strip(), secret_id, keyring_get)
        except ValueError as exc:
            errors.append(AnswerError(line, key, str(exc)))
            continue
        secrets[secret_id] = value
    return secrets, errors


def _dereference(kind: str, target: str, secret_id: str, keyring_get) -> str:
    if kind == "env":
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", target):
            raise ValueError(f"'env:{target}' does not name an environment variable")
        if not os.environ.get(target):
            raise ValueError(f"the environment variable {target} is not set or empty")
        return os.environ[target]
    if kind == "file":
        path = Path(target).expanduser()
        try:
            value = read_small(path, MAX_SECRET_FILE).decode("utf-8").strip("\r\n")
        except UnicodeDecodeError:
            raise ValueError(f"{path} is not text (UTF-8)") from None
        if not value:
            raise ValueError(f"{path} is empty")
        return value
    if keyring_get is None:
        raise ValueError("keyring: needs a session whose secrets are in the keyring (give --session)")
    value = keyring_get(secret_id)
    if not value:
        raise ValueError(f"the keyring has no entry {secret_id} for this session")
    return value


def _answers_key(secret_id: str) -> str:
    if secret_id.startswith(draft.EXTRA_SECRET_PREFIX):
        return f"server.extra_env.{secret_id[len(draft.EXTRA_SECRET_PREFIX):]}"
    step, *rest = secret_id.split(".")
    return ".".join((step, rest[-1]))


def validate(answers: Answers, secrets: Mapping[str, str], filename: str) -> config.InstallConfig:
    """The install configuration, or AnswersInvalid with the line of every bad value."""
    try:
        return draft.build_config(answers.values, secrets)
    except draft.ConfigErrors as exc:
        errors = []
        for error in exc.errors:
            path = error.path[1:] if error.step in config.PROVIDER_MODELS and error.path[:1] != ("provider",) else error.path
            key = ".".join((error.step, *path))
            errors.append(AnswerError(_line(answers.lines, error.step, *path), key, f"{error.label}: {error.message}"))
        raise AnswersInvalid(filename, errors) from None


def load(path: str | os.PathLike[str], *, allow_inline: bool = False, keyring_get=None) -> tuple[Answers, config.InstallConfig, dict[str, str]]:
    """Parse, resolve secrets and validate: everything a headless run needs. Reports every problem at once."""
    filename = str(path)
    answers = parse(path)
    secrets, errors = _resolve(answers, allow_inline, keyring_get)
    try:
        cfg = validate(answers, secrets, filename)
    except AnswersInvalid as exc:
        # Skip what follows from an unresolved secret: the secret itself, or its step's cross-field rule.
        reported = {error.key for error in errors} | {error.key.split(".")[0] for error in errors}
        errors += [error for error in exc.errors if error.key not in reported]
    if errors:
        raise AnswersInvalid(filename, sorted(errors, key=lambda e: (e.line or 0, e.key)))
    return answers, cfg, secrets


# --- writing an answers file from a session ----------------------------------------------------------------------


def to_toml(values: Mapping[str, Mapping[str, Any]], session: str | None, secret_ids_present: set[str]) -> str:
    """An answers file for the draft values; secrets become `keyring:` references (never their values)."""
    out = ["# wandb-local-setup answers file", "# Secrets are references: env:NAME, file:PATH or keyring: (this session's entry)."]
    if session:
        out.append(f"session = {_toml_value(session)}")
    for step in CONFIG_STEPS:
        step_values = values.get(step) or {}
        providers = config.PROVIDER_MODELS.get(step)
        provider = str(step_values.get("provider") or next(iter(providers))) if providers else ""
        fields = dict(step_values.get(draft.provider_key(provider), {})) if providers else dict(step_values)
        prefix = (step, draft.provider_key(provider)) if providers else (step,)
        model = draft.section_model(step, {"provider": provider} if providers else {})
        extra_env = fields.pop("extra_env", None) if step == "server" else None
        out.append("")
        out.append(f"[{step}]")
        if providers:
            out.append(f"provider = {_toml_value(provider)}")
        for name in model.model_fields:
            if name in fields and fields[name] not in (None, ""):
                out.append(f"{name} = {_toml_value(fields[name])}")
        for name in draft.secret_fields(model):
            if ".".join((*prefix, name)) in secret_ids_present:
                out.append(f'{name} = "keyring:"')
        for item in extra_env or []:
            out.append("")
            out.append("[[server.extra_env]]")
            out.append(f"name = {_toml_value(item.get('name', ''))}")
            if draft.row_is_secret(item):
                present = draft.extra_secret_id(str(item.get("name", ""))) in secret_ids_present
                out.append('value = "keyring:"' if present else 'value = ""')
            else:
                out.append(f"value = {_toml_value(item.get('value', ''))}")
            if isinstance(item.get("secret"), bool):
                out.append(f"secret = {_toml_value(item['secret'])}")
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch >= " " and ch != "\x7f" else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'
