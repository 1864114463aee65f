"""The base of every step view: heading, the step's form (built from the model), inline errors, the texts to paste
elsewhere, and the live checks. Step modules only say which fields and which extra text they show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import Checkbox, ContentSwitcher, Input, Select

from screens.steps import messages
from screens.widgets.checks_panel import ChecksPanel
from screens.widgets.form import (
    BoolField, ExtraEnvEditor, FieldEdited, FieldInput, FieldRow, FieldSelect, make_row, typed_value, widget_id,
)
from screens.widgets.instructions import InstructionsPanel
from screens.widgets.text import Plain
from screens.words import PROVIDER_LABELS, status_label
from wizard.flow import FieldSpec, WizardFlow, providers, step_fields
from wizard.steps import StepStatus, provider_key, step_title

if TYPE_CHECKING:
    from wizard.draft import FieldError

VALIDATE_DELAY = 0.3  # seconds after the last keystroke before errors are refreshed
AUTO_CHECK_DELAY = 1.5  # seconds of quiet on a valid step before its live checks run


class StepView(Vertical):
    """One step. Subclasses set STEP, INTRO and HELP, and may override compose_body(). It tells the App what
    happened with messages (Edited, SaveRequested, NavigateTo, NextRequested); the App gives it the flow."""

    # What a step tells the App (screens/steps/messages.py: the App handles them before any step module loads).
    Edited = messages.Edited
    SaveRequested = messages.SaveRequested
    NavigateTo = messages.NavigateTo
    NextRequested = messages.NextRequested

    STEP = ""
    INTRO = ""
    HELP = ""
    KEYS_HELP = ""  # extra keys of this step, for the help screen

    DEFAULT_CSS = """
    StepView { height: auto; padding: 0 1; }
    StepView .step-heading { text-style: bold; margin-bottom: 0; }
    StepView .step-intro { margin-bottom: 1; }
    StepView .step-errors { display: none; margin-bottom: 1; text-style: bold; }
    StepView .step-errors.-shown { display: block; }
    StepView ContentSwitcher { height: auto; }
    StepView .provider-pane { height: auto; }
    """

    def __init__(self, flow: WizardFlow) -> None:
        super().__init__(classes=f"step-view step-{self.STEP}")
        self.flow = flow
        self.touched: set[tuple[str, ...]] = set()
        self.show_all = flow.status(self.STEP) is StepStatus.FAILED
        self._validate_timer = None
        self._check_timer = None

    # ---- layout

    def compose(self) -> ComposeResult:
        yield Plain(self.heading(), classes="step-heading", id="step-heading")
        if self.INTRO:
            yield Plain(self.INTRO, classes="step-intro")
        yield Plain("", classes="step-errors", id="step-errors")
        yield from self.compose_body()
        if self.has_instructions():
            yield InstructionsPanel(self.flow.instructions(self.STEP), id="instructions")
        if self.flow.has_checks(self.STEP):
            yield ChecksPanel(self.STEP, id="checks")

    def heading(self) -> Text:
        status = self.flow.status(self.STEP)
        return Text(f"{step_title(self.STEP)}  [{status_label(status)}]")

    def show_status(self) -> None:
        """The step's status changed: its heading and the step list say so."""
        self.query_one("#step-heading", Plain).set_text(self.heading())
        self.post_message(self.Edited(self.STEP, immediate=True))

    def has_instructions(self) -> bool:
        return False

    def compose_body(self) -> ComposeResult:
        """Default: the step's fields, or a provider choice with each provider's fields."""
        choices = providers(self.STEP)
        if not choices:
            yield from self.field_rows(step_fields(self.STEP))
            return
        current = self.flow.provider(self.STEP)
        spec = FieldSpec(("provider",), "provider", "Provider", self.PROVIDER_HELP, "choice", False,
                         default=current, choices=tuple(choices))
        row = FieldRow(self.STEP, spec, current, labels=PROVIDER_LABELS)
        yield row
        with ContentSwitcher(initial=f"pane-{provider_key(current)}", id="providers"):
            for name in choices:
                with Vertical(id=f"pane-{provider_key(name)}", classes="provider-pane"):
                    specs = step_fields(self.STEP, name)
                    if not specs:
                        yield Plain(self.NOTHING_TO_SET.get(name, "Nothing to set for this choice."),
                                    classes="step-intro")
                    yield from self.field_rows(specs)

    PROVIDER_HELP = ""
    NOTHING_TO_SET: dict[str, str] = {}

    def field_rows(self, specs: list[FieldSpec]) -> ComposeResult:
        for spec in specs:
            yield make_row(self.STEP, spec, self.flow.value(self.STEP, spec.path))

    def on_mount(self) -> None:
        self.refresh_errors()
        if self.flow.has_checks(self.STEP) and self.flow.status(self.STEP) in (StepStatus.UNTOUCHED, StepStatus.EDITED):
            self._schedule_checks(0.2)

    # ---- input events (collect, hand to wizard.flow, show the result)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        control = event.input
        if isinstance(control, FieldInput):
            self._edited(control.spec.path, typed_value(control.spec.kind, event.value), control)

    @on(Input.Blurred)
    def _input_left(self, event: Input.Blurred) -> None:
        if not isinstance(event.input, FieldInput):
            return
        self.touched.add(event.input.spec.path)
        self.post_message(self.SaveRequested())
        self.refresh_errors()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.select, FieldSelect) or event.value is Select.NULL:
            return
        path = event.select.spec.path
        if path == ("provider",):
            if event.value != self.flow.provider(self.STEP):
                self.flow.set_provider(self.STEP, str(event.value))
                self.query_one("#providers", ContentSwitcher).current = f"pane-{provider_key(str(event.value))}"
                self.touched.add(path)
                self._after_edit(immediate=True)
            return
        self._edited(path, event.value, event.select, left=True)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        if isinstance(event.checkbox, BoolField):
            self._edited(event.checkbox.spec.path, bool(event.value), event.checkbox, left=True)

    @on(FieldEdited)
    def _list_edited(self, event: FieldEdited) -> None:
        event.stop()
        if self.flow.set_value(self.STEP, event.path, event.value):
            self.touched.add(event.path)
            self._after_edit(immediate=event.left)
        elif event.left:
            self.touched.add(event.path)
            self.post_message(self.SaveRequested())
            self.refresh_errors()

    def _edited(self, path: tuple[str, ...], value: Any, control: FieldInput | FieldSelect | BoolField,
                left: bool = False) -> None:
        if self.flow.value(self.STEP, path) is None and str(value) == control.initial_text:
            return  # the control showing its default on mount is not an edit
        if self.flow.set_value(self.STEP, path, value):
            self.touched.add(path)
            self._after_edit(immediate=left)

    def _after_edit(self, immediate: bool = False) -> None:
        panel = self.checks_panel
        if panel is not None:
            panel.outdated("A value changed: the earlier results were cleared; the checks run again once the step "
                           "is valid.")
        self.query_one("#step-heading", Plain).set_text(self.heading())
        self.post_message(self.Edited(self.STEP, immediate=immediate))
        if self._validate_timer is not None:
            self._validate_timer.stop()
        if immediate:
            self._validate_timer = None
            self.call_later(self.refresh_errors)
        else:
            self._validate_timer = self.set_timer(VALIDATE_DELAY, self.refresh_errors)

    def commit_controls(self) -> None:
        """What every control shows goes into the flow now. Keys in one burst (Enter on a list, then F8) run the
        navigation before the controls' Changed messages are handled: the step must not be left with them."""
        for row in self._rows():
            if isinstance(row, ExtraEnvEditor):
                if self.flow.value(self.STEP, row.path) != row.rows and (row.rows or self.flow.value(self.STEP,
                                                                                                      row.path)):
                    self.flow.set_value(self.STEP, row.path, [dict(r) for r in row.rows])
                continue
            shown = row.shown()
            if shown is None:
                continue
            control, value = shown
            if row.spec.path == ("provider",):
                if value != self.flow.provider(self.STEP):
                    self.flow.set_provider(self.STEP, str(value))
            else:
                self._edited(row.spec.path, value, control)

    # ---- errors, instructions, checks

    def refresh_errors(self) -> list[FieldError]:
        _, errors = self.flow.validate(self.STEP)
        by_row: dict[tuple[str, ...], str] = {}
        general: list[str] = []
        row_paths = [w.path for w in self._rows()]
        for error in errors:
            match = max((p for p in row_paths if error.path[: len(p)] == p), key=len, default=None)
            if match is not None and (self.show_all or match in self.touched):
                by_row.setdefault(match, error.message if match == error.path else f"{error.label}: {error.message}")
            elif match is None and (self.show_all or self.touched):
                general.append(error.message)
        for row in self._rows():
            row.show_error(by_row.get(row.path))
        box = self.query_one("#step-errors", Plain)
        box.set_text(Text("\n".join(f"✗ {m}" for m in general)))
        box.set_class(bool(general), "-shown")
        if self.has_instructions():
            try:
                self.query_one(InstructionsPanel).show(self.flow.instructions(self.STEP))
            except NoMatches:
                pass  # the step is being removed
        if not errors and self.checks_panel is not None and self.flow.status(self.STEP) is StepStatus.EDITED:
            self._schedule_checks(AUTO_CHECK_DELAY)
        return errors

    def on_descendant_focus(self, event) -> None:
        """Underline the title of the field that has the focus (not colour alone)."""
        chain = set(event.widget.ancestors_with_self)
        for row in self._rows():
            row.set_class(row in chain, "-focused")

    def _rows(self) -> list[Any]:
        return [w for w in self.query("FieldRow, ExtraEnvEditor") if getattr(w, "step", None) == self.STEP]

    def reveal_errors(self) -> None:
        self.show_all = True
        self.refresh_errors()

    @property
    def checks_panel(self) -> ChecksPanel | None:
        try:
            return self.query_one(ChecksPanel)
        except NoMatches:
            return None

    def _schedule_checks(self, delay: float) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(delay, self.run_checks_if_valid)

    def run_checks_if_valid(self) -> None:
        panel = self.checks_panel
        if panel is None or panel.running:
            return
        _, errors = self.flow.validate(self.STEP)
        if not errors:
            panel.run(self.flow.check_context())

    def run_checks(self) -> None:
        if self._check_timer is not None:  # an explicit run replaces a pending automatic one
            self._check_timer.stop()
        panel = self.checks_panel
        if panel is None:
            self.app.notify("This step has no live checks.", timeout=3)
            return
        _, errors = self.flow.validate(self.STEP)
        if errors:
            self.reveal_errors()
            panel.blocked(f"Correct the {len(errors)} problem(s) above first: checks need valid values.")
            return
        panel.run(self.flow.check_context())

    @on(ChecksPanel.EditsRequested)
    def _apply_edits(self, event: ChecksPanel.EditsRequested) -> None:
        """A settings fix: each edit goes into its field as if typed (saved, validated), then the checks run."""
        event.stop()
        for step, path, value in event.edits:
            if step != self.STEP:
                continue
            control = self.query_one(f"#{widget_id(step, path)}", FieldInput)
            control.value = value
            self._edited(path, typed_value(control.spec.kind, value), control)
        self.post_message(self.SaveRequested())
        self.refresh_errors()  # at once: what the server gets (a new host entry) shows with the re-run
        self.app.notify("Settings changed: running the checks again.")
        self.run_checks()

    @on(ChecksPanel.RerunRequested)
    def _rerun(self, event: ChecksPanel.RerunRequested) -> None:
        event.stop()
        self.run_checks()

    @on(ChecksPanel.Finished)
    def _checks_finished(self, event: ChecksPanel.Finished) -> None:
        event.stop()
        if event.step != self.STEP:
            return
        self.flow.record_checks(self.STEP, event.results)
        self.show_status()

    def on_unmount(self) -> None:
        for timer in (self._validate_timer, self._check_timer):
            if timer is not None:
                timer.stop()

    def opened(self) -> None:
        """The step is shown and has the focus (the App calls this once the screen takes keys): work that must not
        delay the first screen (importing an SDK) starts here."""

    def first_focus(self) -> Any:
        """The widget to focus when the step opens."""
        for widget in self.query("Input, Select, Checkbox, Button, InstructionBlock"):
            if widget.focusable:
                return widget
        return None
