"""From the session's draft values (as typed, possibly invalid) to validated configuration, and back.

Draft layout, per step: flat steps keep their fields (`{"url": "..."}`); provider steps keep the choice and every
provider's values side by side (`{"provider": "s3", "s3": {...}, "gcs": {...}}`) so switching never loses input.
Secrets are not in the draft: they come from the keyring, keyed by a dotted id such as `database.mysql.password`.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from wizard import config
from wizard import validators as v
from wizard.providers.base import FieldProblem
from wizard.steps import CONFIG_STEPS, provider_key, step_title


@dataclass(frozen=True)
class FieldError:
    step: str
    path: tuple[str, ...]  # inside the step's draft, e.g. ("s3", "bucket"); () for the step as a whole
    label: str
    message: str

    def __str__(self) -> str:
        return f"{step_title(self.step)} › {self.label}: {self.message}"


class ConfigErrors(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def default_provider(step: str) -> str | None:
    providers = config.PROVIDER_MODELS.get(step)
    return next(iter(providers)) if providers else None


def section_model(step: str, draft: Mapping[str, Any]) -> type[BaseModel]:
    providers = config.PROVIDER_MODELS.get(step)
    if providers:
        return providers.get(str(draft.get("provider") or default_provider(step)), next(iter(providers.values())))
    return config.SECTION_MODELS[step]


def secret_fields(model: type[BaseModel]) -> list[str]:
    def is_secret(annotation: Any) -> bool:
        return annotation is SecretStr or any(is_secret(arg) for arg in typing.get_args(annotation))

    return [name for name, field in model.model_fields.items() if is_secret(field.annotation)]


def secret_ids(step: str | None = None) -> list[str]:
    """Every keyring id the configuration can use (all providers), optionally for one step."""
    ids = []
    for name in CONFIG_STEPS if step is None else (step,):
        providers = config.PROVIDER_MODELS.get(name)
        models = providers.items() if providers else [(None, config.SECTION_MODELS[name])]
        for provider, model in models:
            prefix = f"{name}.{provider_key(provider)}" if provider else name
            ids += [f"{prefix}.{field}" for field in secret_fields(model)]
    return ids


EXTRA_SECRET_PREFIX = "server.extra_env."  # + the variable's name: the keyring id of a secret extra option


def extra_secret_id(name: str) -> str:
    return EXTRA_SECRET_PREFIX + name


def row_is_secret(row: Mapping[str, Any]) -> bool:
    """An extra option row marked secret, or (unmarked) one whose name says it holds a secret."""
    from wizard.validators import looks_secret

    marked = row.get("secret")
    return marked if isinstance(marked, bool) else looks_secret(str(row.get("name", "")))


def extra_secret_ids(values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rows = (values.get("server") or {}).get("extra_env") or []
    return [extra_secret_id(str(row["name"]).strip()) for row in rows
            if isinstance(row, dict) and str(row.get("name") or "").strip() and row_is_secret(row)]


def secret_ids_for(values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every keyring id a session with these draft values uses: the fields' and its secret extra options'."""
    return secret_ids() + extra_secret_ids(values)


def with_extra_secrets(rows: Any, secrets: Mapping[str, str]) -> Any:
    """The extra option rows with the values of the secret ones taken from the keyring (a value left in an older
    session's draft is kept until the row is next edited, which moves it to the keyring)."""
    if not isinstance(rows, list):
        return rows
    merged = []
    for row in rows:
        if isinstance(row, dict) and row_is_secret(row):
            stored = secrets.get(extra_secret_id(str(row.get("name") or "").strip()))
            row = {**row, "value": stored if stored else row.get("value", "")}
        merged.append(row)
    return merged


def _field_prefix(step: str, draft: Mapping[str, Any]) -> tuple[str, ...]:
    return (provider_key(str(draft.get("provider") or default_provider(step))),) if step in config.PROVIDER_MODELS else ()


def _blank_to_missing(values: Mapping[str, Any]) -> dict[str, Any]:
    # Empty inputs mean "not given": the model's default (or its "is required") applies.
    return {key: value for key, value in values.items() if not (isinstance(value, str) and not value.strip())}


def section_input(step: str, draft: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """The model input for one step: the chosen provider's draft values plus its secrets from the keyring."""
    draft = draft or {}
    model = section_model(step, draft)
    prefix = _field_prefix(step, draft)
    values = dict(draft.get(prefix[0], {})) if prefix else {k: v for k, v in draft.items() if k != "provider"}
    if prefix:
        values["provider"] = draft.get("provider") or default_provider(step)
    if step == "server" and "extra_env" in values:
        values["extra_env"] = with_extra_secrets(values["extra_env"], secrets)
    for field in secret_fields(model):
        secret_id = ".".join((step, *prefix, field))
        if secrets.get(secret_id):
            # Wrapped so that whitespace stripping (meant for typed text) never alters a password.
            values[field] = SecretStr(secrets[secret_id])
    return _blank_to_missing(values)


def _label(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, tuple[str, ...]]:
    """A human label and the draft path for a pydantic error location inside `model`."""
    labels: list[str] = []
    path: list[str] = []
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            labels[-1:] = [f"{labels[-1] if labels else 'Row'}, row {part + 1}"]
            path.append(str(part))
            continue
        field = current.model_fields.get(str(part)) if current else None
        if field is None:
            labels.append(str(part))
            path.append(str(part))
            current = None
            continue
        labels.append(field.title or str(part).replace("_", " ").capitalize())
        path.append(str(part))
        inner = [arg for arg in typing.get_args(field.annotation) or (field.annotation,) if isinstance(arg, type)]
        nested = [arg for arg in inner if issubclass(arg, BaseModel)]
        if not nested:  # tuple[ExtraEnv, ...] and similar
            nested = [a for arg in typing.get_args(field.annotation) for a in typing.get_args(arg) or (arg,)
                      if isinstance(a, type) and issubclass(a, BaseModel)]
        current = nested[0] if nested else None
    return " › ".join(labels), tuple(path)


def _message(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"'{error.get('input')}' is not a whole number: expected digits only"
    if kind in ("bool_parsing", "bool_type"):
        return "expected yes or no (true/false)"
    if kind == "literal_error":
        return f"'{error.get('input')}' is not accepted: expected {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"'{ctx.get('tag')}' is not a choice here: expected {ctx.get('expected_tags')}"
    if kind == "extra_forbidden":
        return "is not a setting of this step"
    if kind in ("string_type", "string_too_short"):
        return "expected text"
    return error["msg"]


def _field_errors(step: str, draft: Mapping[str, Any], exc: ValidationError) -> list[FieldError]:
    model = section_model(step, draft)
    prefix = _field_prefix(step, draft)
    errors = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if loc and loc[0] == model.__name__:  # discriminated unions prefix the member's tag
            loc = loc[1:]
        problem = (error.get("ctx") or {}).get("error")
        if isinstance(problem, FieldProblem):  # a cross-field check names the field to correct
            loc += (problem.field,)
        if error["type"] == "union_tag_invalid":
            errors.append(FieldError(step, ("provider",), "Provider", _message(error)))
            continue
        label, path = _label(model, loc)
        errors.append(FieldError(step, prefix + path, label or step_title(step), _message(error)))
    return errors


def validate_step(step: str, draft: Mapping[str, Any] | None, secrets: Mapping[str, str] | None = None):
    """Validate one step's draft. Returns (section or None, errors)."""
    draft = draft or {}
    secrets = secrets or {}
    data = section_input(step, draft, secrets)
    model = section_model(step, draft)
    refused = _control_characters(step, draft, model, data)
    try:
        if step in config.PROVIDER_MODELS and data.get("provider") not in config.PROVIDER_MODELS[step]:
            return None, _field_errors(step, draft, _union_error(step, data))
        section = model.model_validate(data)
    except ValidationError as exc:
        named = {error.path for error in refused}
        return None, refused + [error for error in _field_errors(step, draft, exc) if error.path not in named]
    return (None, refused) if refused else (section, [])


def _control_characters(step: str, draft: Mapping[str, Any], model: type[BaseModel],
                        data: Mapping[str, Any]) -> list[FieldError]:
    """Every setting is one line of printable text, secrets included: a line break would add a variable to an env
    file, an escape sequence would drive the terminal that shows the value. Said on the field, before the model's
    own checks (a CR LF in a URL is not an "invalid port")."""
    prefix = _field_prefix(step, draft)
    errors: list[FieldError] = []

    def scan(value: Any, loc: tuple[Any, ...]) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            wrapped = len(loc) == 1 and loc[0] in getattr(model, "WRAPPED", frozenset())
            problem = v.control_character("".join(value.split()) if wrapped else value.strip())
            if problem:
                label, path = _label(model, loc)
                errors.append(FieldError(step, prefix + path, label or step_title(step), problem))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                scan(item, (*loc, key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                scan(item, (*loc, index))

    for key, value in data.items():
        scan(value, (key,))
    return errors


def _union_error(step: str, data: Mapping[str, Any]) -> ValidationError:
    try:
        TypeAdapter(config.SECTION_MODELS[step]).validate_python(data)
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable: the provider was not accepted")


def build_config(values: Mapping[str, Mapping[str, Any]], secrets: Mapping[str, str] | None = None) -> config.InstallConfig:
    """The validated install configuration, or ConfigErrors listing every problem of every step."""
    sections, errors = {}, []
    for step in CONFIG_STEPS:
        section, step_errors = validate_step(step, values.get(step), secrets)
        sections[step] = section
        errors += step_errors
    if errors:
        raise ConfigErrors(errors)
    return config.InstallConfig(**sections)


def draft_from_config(cfg: config.InstallConfig) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Split a configuration into draft values (no secrets) and secrets by keyring id."""
    values: dict[str, dict[str, Any]] = {}
    secrets: dict[str, str] = {}
    for step in CONFIG_STEPS:
        section: Any = getattr(cfg, step)  # a provider's settings have `provider`
        prefix = _field_prefix(step, {"provider": getattr(section, "provider", None)})
        fields: dict[str, Any] = {}
        secret_names = set(secret_fields(type(section)))
        for name in type(section).model_fields:
            value = getattr(section, name)
            if name in secret_names:
                if value is not None:
                    secrets[".".join((step, *prefix, name))] = value.get_secret_value()
            elif name == "extra_env":
                fields[name] = []
                for item in value:
                    row = {"name": item.name, "value": "" if item.is_secret else item.value}
                    if item.secret is not None:
                        row["secret"] = item.secret
                    if item.is_secret and item.value:
                        secrets[extra_secret_id(item.name)] = item.value
                    fields[name].append(row)
            elif name != "provider" or not prefix:
                fields[name] = value
        values[step] = {"provider": section.provider, prefix[0]: fields} if prefix else fields
    return values, secrets
