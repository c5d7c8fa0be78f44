"""``benchmarks/gpu_check.py`` runs on the CPU with small sizes and prints every figure it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_the_gpu_check_runs_on_the_cpu_with_small_sizes():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--small"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    embed = [line for line in lines if line.startswith("embed ")]
    assert len(embed) == 2 and "float32" in embed[0] and "bf16" in embed[1]
    for line in embed:
        assert "L=40 exact SH on cpu" in line
        assert float(re.search(r"([\d,]+) points/s", line).group(1).replace(",", "")) > 0
    cosine = float(re.search(r"mean cosine to float32 ([\d.]+)", embed[1]).group(1))
    assert 0.99 <= cosine <= 1.0
    raster = [line for line in lines if line.startswith("raster ") and "pixels/s" in line]
    assert raster and raster[-1].split(" -> ")[1].startswith("COG")  # and a Zarr line first where Zarr is written
    for line in raster:
        assert "32 x 32 px" in line and float(re.search(r"([\d,]+) pixels/s", line).group(1).replace(",", "")) > 0
    train = [line for line in lines if line.startswith("train ")]
    assert len(train) == 2 and "without cache" in train[0] and "with cache" in train[1]
    for line in train:
        assert "moco-resnet18 bf16-mixed" in line and "peak RSS" in line
        assert float(re.search(r"([\d.]+) steps/s", line).group(1)) > 0
    assert lines[-1].startswith("total ") and "within the 8 min budget" in lines[-1]
