"""A form builder: one row per model field (title, control, one-line help, inline error).

str -> Input, SecretStr -> Input(password=True), bool -> checkbox with a yes/no word, Literal -> Select,
int -> Input(type="integer"), tuple of rows -> an editable list. Titles and help come from wizard.flow.FieldSpec
(the pydantic Field metadata), so the models stay the one source of truth.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Select

from screens.widgets.next_on_enter import NextOnEnter
from screens.widgets.text import Plain
from wizard.flow import FieldSpec


def widget_id(step: str, path: tuple[str, ...], suffix: str = "") -> str:
    """A Textual id for a field: f-<step>-<path> (ids allow letters, digits, '_' and '-')."""
    raw = "-".join((step, *path)) + (f"-{suffix}" if suffix else "")
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", raw)


class FieldEdited(Message):
    """A control's value changed (left=False) or the control lost focus (left=True)."""

    def __init__(self, path: tuple[str, ...], value: Any, left: bool = False) -> None:
        super().__init__()
        self.path = path
        self.value = value
        self.left = left


class FieldInput(NextOnEnter):
    """The text control of a form field: it carries its field's spec and the text it showed when built; Enter goes
    on to the next control."""

    def __init__(self, spec: FieldSpec, text: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.spec = spec
        self.initial_text = text


class FieldSelect(Select[str]):
    """The choice control of a form field (a provider, a Literal), with its field's spec."""

    def __init__(self, spec: FieldSpec, options: list[tuple[Text, str]], value: str, **kwargs: Any) -> None:
        super().__init__(options, value=value, allow_blank=False, **kwargs)
        self.spec = spec
        self.initial_text = value


class RowInput(Input):
    """The name or value of one extra option row."""

    def __init__(self, index: int, key: str, text: str, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.index, self.key = index, key


class RowButton(Button):
    """The Remove button of one extra option row."""

    def __init__(self, index: int, label: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.index = index


class SecretToggle(Checkbox):
    """An extra option's secret switch; its word says the state (secret / plain), not only the glyph."""

    def __init__(self, index: int, value: bool, **kwargs: Any) -> None:
        super().__init__(self._word(value), value, **kwargs)
        self.index = index

    @staticmethod
    def _word(value: bool) -> Text:
        return Text("secret" if value else "plain")

    def watch_value(self) -> None:
        super().watch_value()
        self.label = self._word(self.value)


class BoolField(Checkbox):
    """A form field's checkbox (with its spec), whose label says yes/no, so its state never rests on colour or a
    glyph alone."""

    def __init__(self, spec: FieldSpec, value: bool, **kwargs: Any) -> None:
        self.spec = spec
        self.initial_text = str(value)
        super().__init__(self._word(value), value, **kwargs)

    @staticmethod
    def _word(value: bool) -> Text:
        return Text(f"{'yes' if value else 'no'}")

    def watch_value(self) -> None:
        super().watch_value()
        self.label = self._word(self.value)


def _display(value: Any) -> str:
    return "" if value is None else str(value)


class FieldRow(Vertical):
    """Title + control on one line, help below, then the error line (empty: hidden)."""

    DEFAULT_CSS = """
    FieldRow { height: auto; margin-bottom: 1; }
    FieldRow > .field-line { height: auto; }
    FieldRow .field-title { width: 17; padding-right: 1; }
    FieldRow .field-control { width: 1fr; }
    FieldRow .field-help { color: $text-muted; }
    FieldRow .field-error { display: none; text-style: bold; }
    FieldRow.-error .field-error { display: block; }
    FieldRow.-focused .field-title { text-style: bold underline; }
    """

    def __init__(self, step: str, spec: FieldSpec, value: Any, labels: dict[str, str] | None = None) -> None:
        super().__init__(id=widget_id(step, spec.path, "row"))
        self.step = step
        self.spec = spec
        self.initial = value
        self.labels = labels or {}

    def shown(self) -> tuple[FieldInput | FieldSelect | BoolField, Any] | None:
        """(control, the draft value it shows now), or None when it shows nothing to keep."""
        control = self.query_one(f"#{widget_id(self.step, self.spec.path)}")
        if isinstance(control, FieldSelect):
            return None if control.value is Select.NULL else (control, control.value)
        if isinstance(control, BoolField):
            return control, bool(control.value)
        if isinstance(control, FieldInput):
            return control, typed_value(self.spec.kind, control.value)
        return None

    @property
    def path(self) -> tuple[str, ...]:
        return self.spec.path

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Horizontal(classes="field-line"):
            yield Plain(spec.title, classes="field-title")
            yield self._control()
        yield Plain(spec.description, classes="field-help")
        yield Plain("", classes="field-error")

    def _control(self) -> FieldInput | FieldSelect | BoolField:
        spec, value = self.spec, self.initial
        wid = widget_id(self.step, spec.path)
        shown = value if value is not None else spec.default
        if spec.kind == "bool":
            control: FieldInput | FieldSelect | BoolField = BoolField(spec, bool(shown), id=wid, compact=True)
        elif spec.kind == "choice":
            control = FieldSelect(spec, [(Text(self.labels.get(c, c)), c) for c in spec.choices],
                                  str(shown) if shown in spec.choices else spec.choices[0], id=wid, compact=True)
        elif spec.kind == "secret":
            control = FieldInput(spec, _display(value), password=True, id=wid, compact=True,
                                 placeholder="required (hidden)" if spec.required else "optional (hidden)")
        elif spec.kind == "int":
            control = FieldInput(spec, _display(shown), type="integer", id=wid, compact=True)
        else:
            control = FieldInput(spec, _display(shown), id=wid, compact=True,
                                 placeholder="required" if spec.required else "optional")
        control.add_class("field-control")
        control.initial_text = _display(shown)  # what it shows before any edit (its first Changed is not one)
        return control

    def show_error(self, message: str | None) -> None:
        self.query_one(".field-error", Plain).set_text(Text(f"✗ {message}") if message else "")
        self.set_class(bool(message), "-error")


def typed_value(spec_kind: str, text: str) -> Any:
    """The draft value for what a control holds (whole numbers stored as numbers)."""
    if spec_kind == "int" and re.fullmatch(r"-?\d{1,9}", text.strip()):
        return int(text.strip())
    return text


class ExtraEnvEditor(Vertical):
    """An editable list of NAME=value rows (extra GORILLA_* variables)."""

    DEFAULT_CSS = """
    ExtraEnvEditor { height: auto; margin-bottom: 1; }
    ExtraEnvEditor .env-row { height: 1; }
    ExtraEnvEditor .env-name { width: 1fr; }
    ExtraEnvEditor .env-eq { width: 1; }
    ExtraEnvEditor .env-value { width: 1fr; }
    ExtraEnvEditor .env-remove { width: auto; min-width: 10; }
    ExtraEnvEditor .env-actions { height: 1; padding-left: 2; margin-bottom: 1; }
    ExtraEnvEditor .env-secret { width: auto; margin-right: 2; }
    ExtraEnvEditor .env-title { width: 100%; }
    ExtraEnvEditor .field-help { color: $text-muted; }
    ExtraEnvEditor .field-error { display: none; text-style: bold; }
    ExtraEnvEditor.-error .field-error { display: block; }
    ExtraEnvEditor .env-add { width: auto; }
    """

    def __init__(self, step: str, spec: FieldSpec, value: Any) -> None:
        super().__init__(id=widget_id(step, spec.path, "row"))
        self.step = step
        self.spec = spec
        self.rows: list[dict[str, Any]] = [
            {"name": str(item.get("name", "")), "value": str(item.get("value", "")),
             **({"secret": item["secret"]} if isinstance(item.get("secret"), bool) else {})}
            for item in (value or []) if isinstance(item, dict)
        ]

    @property
    def path(self) -> tuple[str, ...]:
        return self.spec.path

    def compose(self) -> ComposeResult:
        from wizard.draft import row_is_secret  # the models load once a step is shown, not at start-up

        yield Plain(f"{self.spec.title}: {self.spec.description}", classes="env-title")
        for index, row in enumerate(self.rows):
            with Horizontal(classes="env-row"):
                yield RowInput(index, "name", row["name"], placeholder="GORILLA_…",
                               id=widget_id(self.step, self.path, f"{index}-name"), classes="env-name", compact=True)
                yield Plain("=", classes="env-eq")
                hidden = row_is_secret(row)
                yield RowInput(index, "value", row["value"], placeholder="value (hidden)" if hidden else "value",
                               password=hidden, id=widget_id(self.step, self.path, f"{index}-value"),
                               classes="env-value", compact=True)
            with Horizontal(classes="env-actions"):  # a line of its own: the name and value keep their width
                yield SecretToggle(index, hidden, id=widget_id(self.step, self.path, f"{index}-secret"),
                                   classes="env-secret", compact=True)
                yield RowButton(index, "Remove", id=widget_id(self.step, self.path, f"{index}-remove"),
                                classes="env-remove", compact=True)
        if not self.rows:
            yield Plain("(no extra variables)", classes="field-help")
        yield Button("+ Add variable", id=widget_id(self.step, self.path, "add"), classes="env-add", compact=True)
        yield Plain("", classes="field-error")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        control = event.input
        if not isinstance(control, RowInput) or control.index >= len(self.rows):
            return
        if self.rows[control.index][control.key] == event.value:
            return
        self.rows[control.index][control.key] = event.value
        if control.key == "name":
            self._show_secrecy(control.index)
        self.post_message(FieldEdited(self.path, [dict(r) for r in self.rows]))

    def _show_secrecy(self, index: int) -> None:
        """A name that says secret (…_TOKEN) hides the value at once, unless the row was marked otherwise."""
        from wizard.draft import row_is_secret

        hidden = row_is_secret(self.rows[index])
        value = self.query_one(f"#{widget_id(self.step, self.path, f'{index}-value')}", Input)
        value.password, value.placeholder = hidden, "value (hidden)" if hidden else "value"
        self.query_one(f"#{widget_id(self.step, self.path, f'{index}-secret')}", SecretToggle).value = hidden

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        event.stop()
        self.post_message(FieldEdited(self.path, [dict(r) for r in self.rows], left=True))

    @on(Checkbox.Changed, ".env-secret")
    async def _secret_changed(self, event: Checkbox.Changed) -> None:
        """Marked secret, the value goes to the keyring and is shown hidden (the name's default otherwise)."""
        from wizard.draft import row_is_secret

        event.stop()
        toggle = event.checkbox
        if not isinstance(toggle, SecretToggle) or toggle.index >= len(self.rows):
            return
        index = toggle.index
        if row_is_secret(self.rows[index]) == event.value:
            return
        self.rows[index]["secret"] = event.value
        self.post_message(FieldEdited(self.path, [dict(r) for r in self.rows], left=True))
        await self.recompose()
        self.query_one(f"#{widget_id(self.step, self.path, f'{index}-secret')}").focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, RowButton):
            del self.rows[event.button.index]
            focus = widget_id(self.step, self.path, "add")
        else:  # + Add variable
            self.rows.append({"name": "GORILLA_", "value": ""})
            focus = widget_id(self.step, self.path, f"{len(self.rows) - 1}-name")
        self.post_message(FieldEdited(self.path, [dict(r) for r in self.rows], left=True))
        await self.recompose()
        self.query_one(f"#{focus}").focus()

    def show_error(self, message: str | None) -> None:
        self.query_one(".field-error", Plain).set_text(Text(f"✗ {message}") if message else "")
        self.set_class(bool(message), "-error")


def make_row(step: str, spec: FieldSpec, value: Any) -> Widget:
    if spec.kind == "list":
        return ExtraEnvEditor(step, spec, value)
    return FieldRow(step, spec, value)
