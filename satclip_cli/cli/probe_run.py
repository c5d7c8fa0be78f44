"""A whole ``satclip probe`` invocation: the settings from the command line, the run, and what it prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import render_settings

if TYPE_CHECKING:
    from satclip_cli.probing.job import ProbeSummary


def print_tasks(stdout: TextIO | None = None) -> None:
    """A table of the registered tasks: name, type, target and units, source."""
    from rich.console import Console
    from rich.table import Table

    from satclip_cli.probing.tasks import TASKS

    table = Table(title="satclip probe tasks", title_justify="left")
    for header in ("task", "type", "target", "source"):
        table.add_column(header)
    for name, spec in TASKS.items():
        note = "" if spec.available else f" [dim]({spec.note})[/]"
        table.add_row(name, spec.type, f"{spec.target} ({spec.units})", spec.source + note)
    Console(file=stdout).print(table)


def parse_baselines(text: str | None) -> tuple[str, ...] | None:
    """``--baselines``: None (the default set), ``none``, or a comma-separated list."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    return tuple(name.strip() for name in text.split(",") if name.strip())


def run(
    *,
    tasks: list[str],
    models: list[str],
    baselines: str | None,
    probes: list[str],
    splits: list[str],
    folds: int | None = None,
    block_size_km: float = 500.0,
    bootstrap: int = 1000,
    few_shot: float | None,
    seeds: int,
    n_points: int | None,
    data_dir: Path | None,
    data: Path | None,
    target: str | None,
    task_type: str | None,
    out: Path,
    maps: bool,
    device: str,
    quiet: bool,
    stdout: TextIO | None = None,
) -> ProbeSummary:
    """Run :func:`satclip_cli.probing.job.run` with the command's options; print each task's table as it is
    done (warnings on stderr), a mean-rank summary for several tasks, and the files written."""
    from rich.console import Console

    from satclip_cli.probing.config import ProbeConfig
    from satclip_cli.probing.job import TaskOutcome, run
    from satclip_cli.probing.report import summary_table, task_table

    config = ProbeConfig(
        tasks=tuple(tasks),
        models=tuple(models),
        baselines=parse_baselines(baselines),
        data=data,
        target=target,
        task_type=task_type,
        probes=tuple(dict.fromkeys(probes)),
        splits=tuple(dict.fromkeys(splits)),
        folds=folds,
        block_size_km=block_size_km,
        bootstrap=bootstrap,
        few_shot=few_shot,
        seeds=seeds,
        n_points=n_points,
        data_dir=data_dir,
        out=out,
        maps=maps,
        device=device,
    )
    console = Console(file=stdout)
    err = Console(file=sys.stderr)

    def report_task(outcome: TaskOutcome) -> None:
        for warning in outcome.warnings:
            err.print(f"Warning: {render_settings(warning, flag_name)}", highlight=False, markup=False, soft_wrap=True)
        if not quiet:
            console.print(task_table(outcome.rows, f"{outcome.task}"))

    summary = run(config, progress=not quiet, on_task=report_task)
    if len(summary.outcomes) > 1 and not quiet:
        console.print(summary_table(summary.rows))
    if not quiet:
        for line in summary.lines():
            err.print(line, highlight=False)
    return summary
