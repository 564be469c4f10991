"""The live view of a run in a notebook: an ipywidgets tree over ``RunState``, plus text.

One output per run: a mimebundle with the widget view *and* a ``text/plain`` / ``text/html``
summary, under a display id. A frontend with the widget manager draws the widget, updated at
most ``WIDGET_EVERY`` seconds; anything else (nbconvert, a frontend without widgets) keeps
the text, re-published at most every ``TEXT_EVERY`` seconds and once at the end, so a saved
notebook ends with the final summary. A 1000-task foreach therefore costs a bounded number
of messages, not one per task.
"""

from __future__ import annotations

import html
import time
import uuid
from typing import Any

from .progress import SYMBOL, RunState, fmt_seconds

WIDGET_EVERY = 0.25
TEXT_EVERY = 2.0
CLOCK_EVERY = 1.0
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _update_display(bundle: dict[str, Any], display_id: str) -> None:
    from IPython.display import update_display

    update_display(bundle, raw=True, display_id=display_id)


class _StepPanel:
    """What expands under a step: its log tail, what it displayed, its traceback."""

    def __init__(self, ipywidgets: Any) -> None:
        self.log = ipywidgets.HTML()
        self.outputs = ipywidgets.Output()
        self.error = ipywidgets.HTML()
        self.box = ipywidgets.VBox([self.log, self.outputs, self.error])
        self.shown = 0

    def update(self, state) -> None:
        tail = "\n".join(state.tail)
        self.log.value = (
            f"<pre class='jp-Flow-log' style='max-height:12em;overflow:auto'>"
            f"{html.escape(tail)}</pre>"
            if tail
            else ""
        )
        self.error.value = (
            f"<pre class='jp-Flow-error' style='color:#b00'>{html.escape(state.error)}</pre>"
            if state.error
            else ""
        )
        if len(state.displays) > self.shown:
            new = state.displays[self.shown :]
            self.outputs.outputs = self.outputs.outputs + tuple(
                {"output_type": "display_data", "data": b["data"], "metadata": b["metadata"]}
                for b in new
            )
            self.shown = len(state.displays)


class RunView(RunState):
    """The run's observer and its notebook view. Call ``show()`` once, before the run starts."""

    def __init__(self, store, *, use_widgets: bool | None = None, publish=None) -> None:
        super().__init__(store)
        self.publish = publish or _update_display
        self.use_widgets = widgets_available() if use_widgets is None else use_widgets
        self.display_id = f"jupyter-flow-{uuid.uuid4().hex}"
        self.messages = 0  # widget updates + display updates sent: the flood guard's figure
        self._pushed = -1
        self._last_widget = 0.0
        self._last_text = 0.0
        self._panels: dict[str, _StepPanel] = {}
        self.root = None
        if self.use_widgets:
            import ipywidgets

            self._w = ipywidgets
            self.header = ipywidgets.HTML(value="<b>starting…</b>")
            self.table = ipywidgets.HTML()
            self.details = ipywidgets.Accordion()
            self.footer = ipywidgets.HTML()
            self.root = ipywidgets.VBox(
                [self.header, self.table, self.details, self.footer],
                layout=ipywidgets.Layout(border="1px solid #ddd", padding="4px"),
            )
            self.root.add_class("jp-Flow-run")

    # -- the bundle
    def bundle(self, *, final: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text/plain": self.text(),
            "text/html": self.html(outputs=final),
        }
        if self.root is not None:
            data[WIDGET_MIME] = {
                "model_id": self.root.model_id,
                "version_major": 2,
                "version_minor": 0,
            }
        return data

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.bundle(final=self.ended)

    def show(self) -> None:
        from IPython.display import display

        display(self.bundle(), raw=True, display_id=self.display_id)

    # -- updates
    def flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        due = force or now - self._last_widget >= WIDGET_EVERY
        tick = now - self._last_widget >= CLOCK_EVERY  # elapsed times move without events
        if self.root is not None and due and (self.version != self._pushed or tick):
            self._push_widgets()
            self._pushed = self.version
            self._last_widget = now
        if force or now - self._last_text >= TEXT_EVERY:
            self.publish(self.bundle(final=force), self.display_id)
            self.messages += 1
            self._last_text = now

    def _push_widgets(self) -> None:
        self.messages += 1
        self.header.value = (
            f"<b>{html.escape(self.pathspec or 'starting')}</b> — {self.status} · "
            f"{fmt_seconds(self.elapsed())}"
            + (f" · resumed from {html.escape(self.origin)}" if self.origin else "")
        )
        self.table.value = self.table_html()
        if set(self._panels) != set(self.steps):
            self._panels = {name: _StepPanel(self._w) for name in self.steps}
            self.details.children = [p.box for p in self._panels.values()]
        self.details.titles = tuple(
            f"{SYMBOL[s.status]} {s.name} — {s.status}"
            + (f" {s.progress}" if s.foreach else "")
            + (f" at {s.where}" if s.status == "failed" and s.where else "")
            + (f" — {s.note}" if s.note else "")
            for s in self.steps.values()
        )
        for name, panel in self._panels.items():
            panel.update(self.steps[name])
        hint = self.resume_hint()
        self.footer.value = f"resume with: <code>{html.escape(hint)}</code>" if hint else ""

    # -- observer events: update the model, then redraw if due
    def run_started(self, record, dag) -> None:
        super().run_started(record, dag)
        self.flush(force=True)

    def step_expanded(self, step, tasks, to_run) -> None:
        super().step_expanded(step, tasks, to_run)
        self.flush()

    def task_started(self, spec) -> None:
        super().task_started(spec)
        self.flush()

    def task_finished(self, spec, task, error, *, retrying) -> None:
        super().task_finished(spec, task, error, retrying=retrying)
        self.flush(force=task is None and error is not None and not retrying)

    def poll(self) -> None:
        super().poll()
        self.flush()

    def run_finished(self, record) -> None:
        super().run_finished(record)
        self.flush(force=True)
