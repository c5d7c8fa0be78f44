"""Options shared by several commands, defined once (like rasterio's ``rio`` options)."""

from pathlib import Path
from typing import Annotated

import typer

Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists (it is only replaced once complete).")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
Device = Annotated[
    str,
    typer.Option("--device", help="Where to run the model: auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps."),
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help=(
            "A released model name (see `satclip models`; downloaded once into the Hugging Face cache), "
            "an official SatCLIP .ckpt, or our .safetensors/.json model."
        ),
    ),
]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output file; its extension selects the format.")]

DEFAULT_MODEL = "satclip-resnet50-l10"

FLAGS_NOT_NAMED_AFTER_THEIR_SETTING: dict[str, str] = {
    "input": "INPUT",  # satclip embed's positional argument
    "sh_method": "--sh",  # satclip embed
    "max_nodata_fraction": "--max-nodata",  # satclip sample
    "tasks": "--task",  # satclip probe (repeatable)
    "models": "--model",  # satclip probe (repeatable)
    "splits": "--split",  # satclip probe (repeatable)
    "task_type": "--type",  # satclip probe
    "block_size_km": "--block-size",  # satclip probe
}
"""Setting -> flag, for the few flags that are not ``--`` + the setting's name with dashes."""


def flag_name(setting: str) -> str:
    """The flag that sets ``setting`` (``max_cloud`` -> ``--max-cloud``), for error messages."""
    return FLAGS_NOT_NAMED_AFTER_THEIR_SETTING.get(setting, "--" + setting.replace("_", "-"))
