"""``satclip models``: list the known pretrained models and which ones are cached locally."""

from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit


def _human_size(size: int) -> str:
    """A byte count as a short human-readable string (``49.0 MB``)."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


@user_errors_exit
def models(
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Hugging Face hub cache folder to look in (default: HF_HUB_CACHE, else ~/.cache/huggingface/hub).",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list each model's source and local file, one per line.")
    ] = False,
) -> None:
    """List the pretrained SatCLIP models **--model** accepts, and which are already downloaded.

    The table fits an 80-column terminal; **--verbose** adds where each model comes from (its Hugging
    Face repository) and its local file, each on its own line. A model that is not cached is
    downloaded from the Hugging Face Hub the first time it is used. Without internet access, download
    the .ckpt elsewhere and pass its path to **--model**.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from satclip_cli.models.registry import hub_cache_dir, list_models

    infos = list_models(cache_dir=cache_dir)
    table = Table(title="SatCLIP models", title_justify="left")
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Vision")
    table.add_column("L", justify="right")
    table.add_column("Cached")
    for info in infos:
        if info.cached and info.size is not None:
            cached = f"[green]yes[/green] ({_human_size(info.size)})"
        else:
            cached = "[dim]no[/dim]"
        table.add_row(Text(info.name), Text(info.vision), str(info.legendre_polys), cached)

    console = Console()
    console.print(table)
    if verbose:
        for info in infos:
            source = info.repo if info.repo is not None else "bundled with satclip"
            console.print(f"{info.name}: {source}", highlight=False, markup=False, soft_wrap=True)
            if info.path is not None:
                console.print(f"  {info.path}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"Hugging Face cache: {hub_cache_dir(cache_dir)}. Models not cached are downloaded on first use; "
        "offline, pass a local file instead: --model /path/to/<name>.ckpt",
        highlight=False,
        markup=False,
    )
