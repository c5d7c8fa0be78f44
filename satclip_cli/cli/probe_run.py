"""A whole ``satclip probe`` invocation: options from the command line, the run, and what it prints."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from satclip_cli.errors import InputError


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


def parse_baselines(text: str | None) -> list[str] | None:
    """``--baselines``: None (the default set), ``none``, or a comma-separated list."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    return [name.strip() for name in text.split(",") if name.strip()]


def run(
    *,
    tasks: list[str],
    models: list[str],
    baselines: str | None,
    probes: list[str],
    splits: list[str],
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
) -> list:
    """Validate the options, run every task, print the tables and write the report files; returns the outcomes."""
    import sys

    from rich.console import Console

    from satclip_cli.probing.encoders import resolve_encoders
    from satclip_cli.probing.job import CustomTask, ProbeOptions, all_available_tasks, run_probes, units_of_work
    from satclip_cli.probing.report import summary_table, task_table, write_results
    from satclip_cli.utils.progress import progress_bar

    if data is None and target is not None:
        raise InputError("--target needs --data FILE")
    if data is not None and target is None:
        raise InputError("--data needs --target COLUMN")
    if data is not None and not data.exists():
        raise InputError(f"data file {data} not found")
    if task_type is not None and task_type not in ("regression", "classification"):
        raise InputError("--type must be regression or classification")
    if data_dir is not None and not data_dir.is_dir():
        raise InputError(f"--data-dir {data_dir} is not a folder")
    names = list(all_available_tasks()) if "all" in tasks else list(dict.fromkeys(tasks))
    options = ProbeOptions(
        tasks=tuple(names),
        custom=CustomTask(data, target, task_type) if data is not None else None,
        probes=tuple(dict.fromkeys(probes)),
        splits=tuple(dict.fromkeys(splits)),
        few_shot=few_shot,
        seeds=seeds,
        n_points=n_points,
        data_dir=data_dir,
        maps=maps,
    )
    options.validate()
    encoders = resolve_encoders(models, parse_baselines(baselines), device=device)
    console = Console(file=stdout)
    err = Console(file=sys.stderr)

    def report_task(outcome) -> None:
        for warning in outcome.warnings:
            err.print(f"Warning: {warning}", highlight=False)
        if not quiet:
            console.print(task_table(outcome.rows, f"{outcome.task}"))

    with progress_bar(not quiet, units_of_work(options, encoders), "Probing", unit="fits") as advance:
        outcomes = run_probes(options, encoders, out, on_progress=advance, on_task=report_task)
    rows = [row for outcome in outcomes for row in outcome.rows]
    json_path, csv_path = write_results(rows, out)
    if len(outcomes) > 1 and not quiet:
        console.print(summary_table(rows))
    if not quiet:
        written = [str(json_path), str(csv_path)] + [str(o.map_path) for o in outcomes if o.map_path]
        err.print(f"Wrote {', '.join(written)}", highlight=False)
    return outcomes
