"""A Dagster logger that shows each step of a CLI run as one line of progress."""

import logging
import time

import dagster as dg
from rich.console import Console
from rich.markup import escape

STEP_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}


class _StepProgressHandler(logging.Handler):
    """Prints `✓ step (seconds)` when a step ends; ignores every other event."""

    def __init__(self, console: Console):
        super().__init__()
        self.console = console
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
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
        seconds = time.perf_counter() - self.started.pop(step, time.perf_counter())
        mark = {"STEP_SUCCESS": "[green]✓", "STEP_FAILURE": "[red]✗", "STEP_SKIPPED": "[yellow]-"}
        line = f"  {mark[kind]}[/] {escape(step)} [dim]{seconds:.1f}s[/]"
        self.console.print(line, highlight=False)


@dg.logger(
    config_schema={"show": dg.Field(bool, default_value=True)},
    description="One line per finished step on stderr, for the command line.",
)
def step_progress(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("unitylv.progress")
    logger.setLevel(logging.DEBUG)
    show = init_context.logger_config["show"]
    logger.handlers = [_StepProgressHandler(Console(stderr=True, emoji=False))] if show else []
    logger.propagate = False
    return logger
