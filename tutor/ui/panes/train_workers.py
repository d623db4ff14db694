"""The Train part's data-parallel view (w, in lessons with `[train] workers`): the lesson's model on
its worker processes (tutor/train/parallel.py), each logged step's row of the workers' gradient
norms, their average, one process's and the difference, as the reports arrive."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from tutor.present.parallel import summary, table_head, table_row


class WorkersView(VerticalScroll, can_focus=False):
    """In the Train part's ContentSwitcher, in place of the run's view (the pane swaps them)."""

    DEFAULT_CSS = "WorkersView { height: 1fr; } #workers-status { margin-bottom: 1; }"

    class Report(Message):
        """One report of rank 0 (or the run's error), from the thread that reads them."""

        def __init__(self, event: dict[str, Any] | None, error: str | None = None) -> None:
            super().__init__()
            self.event, self.error = event, error

    def __init__(self, lesson: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lesson = lesson
        self.rows: list[str] = []
        self.running = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="workers-status", markup=False)
        yield Static(id="workers-table", markup=False)

    def say(self, text: str) -> None:
        self.query_one("#workers-status", Static).update(self.app.plain(text))

    def start(self, variant: str | None) -> None:
        """Run the lesson's workers afresh (a run already going is cancelled first)."""
        self.rows = []
        self.query_one("#workers-table", Static).update("")
        workers = self.lesson.train.workers
        self.say(f"Starting {workers} worker processes (torch.distributed, gloo on 127.0.0.1)…")
        self.running = True
        self.run_workers(workers, variant)

    @work(thread=True, exclusive=True, group="workers", exit_on_error=False)
    def run_workers(self, workers: int, variant: str | None) -> None:
        from tutor.train.parallel import ParallelError, run

        worker = get_current_worker()
        try:
            reports = run(
                str(self.lesson.path),
                workers,
                variant=variant,
                cancelled=lambda: worker.is_cancelled,
            )
            for event in reports:
                self.post_message(self.Report(event))
        except ParallelError as exc:
            if not worker.is_cancelled:
                self.post_message(self.Report(None, str(exc)))

    @on(Report)
    def report(self, message: Report) -> None:
        message.stop()
        event = message.event
        if event is None:
            self.running = False
            self.say(message.error or "the workers stopped")
            return
        if event["event"] == "ready":
            self.say(
                f"{event['workers']} workers joined ({event['backend']}): each logged step's "
                "gradient norm per worker, the norm of their averaged gradient, one process on the whole batch, max |Δ| "
                "between the two gradients, and accumulation's max |Δ|."
            )
            self.rows = [table_head(event["workers"])]
        elif event["event"] == "step":
            self.rows.append(table_row(event))
        elif event["event"] == "done":
            self.running = False
            self.rows += ["", summary(event), "", "w: back to the plot."]
        self.query_one("#workers-table", Static).update(self.app.plain("\n".join(self.rows)))

    def stop(self) -> None:
        self.workers.cancel_group(self, "workers")
        self.running = False
