"""The form fields of each step, described from the pydantic models' Field metadata (the one source of truth for
titles, help, kinds, defaults and choices)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.lazy import lazy_module

if TYPE_CHECKING:
    from pydantic import BaseModel

    from wizard import config, draft
else:  # pydantic and the models load on first use, not before the wizard's first screen (start-up time)
    config = lazy_module("wizard.config")
    draft = lazy_module("wizard.draft")


@dataclass(frozen=True)
class FieldSpec:
    """One form field of a step, described from the model's Field metadata."""

    path: tuple[str, ...]  # inside the step's draft, e.g. ("s3", "bucket")
    name: str
    title: str
    description: str
    kind: str  # text | secret | bool | int | choice | list
    required: bool
    default: Any = None
    choices: tuple[str, ...] = ()


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    import typing

    from pydantic import SecretStr

    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if annotation is SecretStr or SecretStr in args or any(
        SecretStr in typing.get_args(a) for a in args
    ):
        return "secret", ()
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if origin is typing.Literal:
        return "choice", tuple(str(a) for a in args)
    if origin is tuple:
        return "list", ()
    if origin is typing.Annotated:
        return _kind(args[0])
    if args:  # Optional[...] / Union
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _kind(inner[0])
    return "text", ()


def model_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        if name == "provider":
            continue
        kind, choices = _kind(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        specs.append(FieldSpec(
            path=(*prefix, name),
            name=name,
            title=info.title or name.replace("_", " ").capitalize(),
            description=info.description or "",
            kind=kind,
            required=info.is_required(),
            default=default if not isinstance(default, tuple) else list(default),
            choices=choices,
        ))
    return specs


def providers(step: str) -> list[str]:
    return list(config.PROVIDER_MODELS.get(step, {}))


def step_fields(step: str, provider: str | None = None) -> list[FieldSpec]:
    """The fields of a step (of one provider for provider steps)."""
    models = config.PROVIDER_MODELS.get(step)
    if models:
        chosen = provider or next(iter(models))  # the step's default provider comes first
        return model_fields(models[chosen], (draft.provider_key(chosen),))
    return model_fields(config.SECTION_MODELS[step])
