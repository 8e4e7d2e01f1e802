"""Progress of a CLI run: a line per finished step, and progress bars for the long ones.

A long step reports its progress (`pipeline.progress.Progress`) through `progress_reporter`,
which logs a few DEBUG events per task carrying `(task, done, total)`: the Dagster UI shows
them in the run's log, and the CLI's logger below draws them as rich progress bars with counts.
"""

import logging
import time

import dagster as dg
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBars

from pipeline.progress import Progress

STEP_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}
PROGRESS_KEY = "unitylv_progress"  # the log record attribute holding (task, done, total)
UPDATES_PER_TASK = 40  # at most this many progress events per task (plus its first and last)


def progress_reporter(context: dg.AssetExecutionContext) -> Progress:
    """A `Progress` for a step: a DEBUG log event per ~1/40 of each task, and its end."""
    reported: dict[str, int] = {}

    def report(task: str, done: int, total: int) -> None:
        last = reported.get(task)
        step = max(1, total // UPDATES_PER_TASK)
        if last is not None and (done == last or (done - last < step and done < total)):
            return
        reported[task] = done
        context.log.debug(f"{task}: {done}/{total}", extra={PROGRESS_KEY: (task, done, total)})

    return report


class _StepProgressHandler(logging.Handler):
    """Prints `✓ step (seconds)` when a step ends, and draws the step's progress events as
    bars (left on screen with their final counts); ignores every other event."""

    def __init__(self, console: Console):
        super().__init__()
        self.console = console
        self.started: dict[str, float] = {}
        self.bars: ProgressBars | None = None
        self.tasks: dict[str, object] = {}

    def emit(self, record: logging.LogRecord) -> None:
        progress = getattr(record, PROGRESS_KEY, None)
        if progress is not None:
            self._advance(*progress)
            return
        meta = getattr(record, "dagster_meta", {})
        event = meta.get("dagster_event")
        # A warning logged outside any step: a resource's, such as waiting for the work
        # folder's lock (the engine's own warnings belong to a step and are not repeated).
        if event is None and record.levelno >= logging.WARNING and meta.get("step_key") is None:
            message = str(meta.get("orig_message") or record.getMessage())
            self.console.print(f"  {escape(message)}", highlight=False, soft_wrap=True)
            return
        if event is None or event.event_type_value not in STEP_EVENTS:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            return
        self._stop_bars()
        seconds = time.perf_counter() - self.started.pop(step, time.perf_counter())
        mark = {"STEP_SUCCESS": "[green]✓", "STEP_FAILURE": "[red]✗", "STEP_SKIPPED": "[yellow]-"}
        line = f"  {mark[kind]}[/] {escape(step)} [dim]{seconds:.1f}s[/]"
        self.console.print(line, highlight=False)

    def _advance(self, task: str, done: int, total: int) -> None:
        if self.bars is None:
            self.bars = ProgressBars(
                TextColumn("    {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.bars.start()
        if task not in self.tasks:
            self.tasks[task] = self.bars.add_task(escape(task), total=total)
        self.bars.update(self.tasks[task], completed=done, total=total)

    def _stop_bars(self) -> None:
        if self.bars is not None:
            self.bars.stop()
        self.bars, self.tasks = None, {}


@dg.logger(
    config_schema={"show": dg.Field(bool, default_value=True)},
    description="One line per finished step, and progress bars, on stderr, for the CLI.",
)
def step_progress(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("unitylv.progress")
    logger.setLevel(logging.DEBUG)
    show = init_context.logger_config["show"]
    logger.handlers = [_StepProgressHandler(Console(stderr=True, emoji=False))] if show else []
    logger.propagate = False
    return logger
