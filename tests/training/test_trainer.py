"""The Lightning ``Trainer`` of a run: ranks from the launcher's environment, precision, checkpoint layout."""

from pathlib import Path

import pytest
import torch

from satclip_cli.training.config import TrainConfig
from satclip_cli.training.trainer import (
    CHECKPOINT_DIR,
    LAST_CHECKPOINT,
    build_trainer,
    default_precision,
    global_rank_from_env,
)


def test_global_rank_comes_from_torchrun_then_slurm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    assert global_rank_from_env() == 0
    monkeypatch.setenv("SLURM_PROCID", "3")
    assert global_rank_from_env() == 3
    monkeypatch.setenv("RANK", "1")
    assert global_rank_from_env() == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU default")
def test_cpu_runs_train_in_full_float32() -> None:
    assert default_precision("cpu") == default_precision("auto") == "32-true"


def test_checkpoints_last_every_epoch_and_the_best_by_validation_loss(tmp_path: Path) -> None:
    trainer = build_trainer(TrainConfig(out=str(tmp_path), accelerator="cpu", precision="32-true"), progress=False)
    best, last = trainer.checkpoint_callbacks
    assert Path(best.dirpath) == Path(last.dirpath) == tmp_path / CHECKPOINT_DIR
    assert (best.monitor, best.mode, best.save_top_k) == ("val_loss", "min", 1)
    assert last.monitor is None and f"{last.filename}.ckpt" == LAST_CHECKPOINT
    assert trainer.num_sanity_val_steps == 0


def test_lightnings_litlogger_advertisement_is_dropped_and_its_other_lines_kept(caplog):
    import logging

    from satclip_cli.training.trainer import quiet_lightning

    quiet_lightning(progress=True)
    quiet_lightning(progress=True)  # idempotent: one filter
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    with caplog.at_level(logging.INFO, logger="lightning.pytorch.utilities.rank_zero"):
        rank_zero.info(
            "💡 Tip: For seamless cloud logging, try installing [litlogger](https://pypi.org/project/litlogger/)"
        )
        rank_zero.info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]
    assert len(rank_zero.filters) == 1
