"""Modal questions: a yes/no confirmation and a reason that cannot be left empty."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from outboxd.control.text import printable


class ConfirmModal(ModalScreen[bool]):
    """``y`` confirms, ``n`` or Escape refuses; the question states what will happen and to how many."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(printable(self.question, lines=True), id="question", markup=False)
            yield Label("[b]y[/b] yes    [b]n[/b] no", classes="hint")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ReasonModal(ModalScreen[str | None]):
    """Asks why (kept in the audit log); Enter on an empty reason is refused, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]

    def __init__(self, question: str, *, required: bool = True) -> None:
        super().__init__()
        self.question = question
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(printable(self.question, lines=True), id="question", markup=False)
            yield Input(placeholder="reason (kept in the audit log)", id="reason")
            yield Label("", id="reason-error", classes="error")
            yield Label("[b]Enter[/b] confirm    [b]Esc[/b] cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if self.required and not reason:
            self.query_one("#reason-error", Label).update("✗ a reason is required")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
