"""CLI output: one JSON object with --json, readable lines otherwise; progress on terminals."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class CommandError(Exception):
    """A command failed for a reason the operator can fix; the message says how."""


class Output:
    """Where a command reports: JSON on stdout, or human text (progress bars on a terminal)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(stderr=False, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def result(self, obj: dict[str, Any], human: str) -> None:
        """Print the command's one result."""
        if self.as_json:
            sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        else:
            self.console.print(human, markup=False)

    def error(self, message: str, code: str = "error") -> None:
        """Report a failure: JSON on stdout with --json, one readable line on stderr."""
        if self.as_json:
            sys.stdout.write(json.dumps({"ok": False, "error": code, "message": message},
                                        ensure_ascii=False) + "\n")
        else:
            self.err.print(f"error: {message}", markup=False)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Any]:
        """A progress bar on a terminal; silent with --json or when output is piped."""
        if self.as_json or not self.err.is_terminal:
            yield lambda n=1: None
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=self.err) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n=1: bar.advance(task, n)
