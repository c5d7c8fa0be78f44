"""Checkpoint files written atomically: a full disk never truncates ``last.ckpt``.

Lightning saves a checkpoint by serialising it to memory and copying it to the target through fsspec; on a
full disk that copy stops midway and leaves a truncated ``last.ckpt`` in place of the good one, so
``train --resume`` fails. Here each checkpoint goes to a temporary file beside the target and replaces it
only when complete; a full disk is reported as one line naming the file and the space left.

Import this module only where Lightning is imported anyway (it subclasses Lightning's ``TorchCheckpointIO``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins import TorchCheckpointIO

from satclip_cli.errors import setting
from satclip_cli.utils.atomic_output import atomic_output


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with local files written to a temporary file and renamed when complete.

    Remote paths (``s3://…``) keep Lightning's own writer.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Serialised in memory first (as Lightning does): torch's file writer reports a full disk as
        # "unexpected pos 1711296 vs 1711188"; Python's file objects raise ENOSPC.
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        previous = f"the previous {target.name} is kept" if target.exists() else "earlier checkpoints are kept"
        kept = f"{previous}; free some space and go on with {setting('resume')}"
        with (
            atomic_output(target, overwrite=True, needed=buffer.getbuffer().nbytes, kept=kept) as tmp,
            open(tmp, "wb") as file,
        ):
            file.write(buffer.getbuffer())
