#!/usr/bin/env bash
# GPU figures for docs/benchmarks.md: the renderer through EGL on the NVIDIA driver and the
# gap judge's training steps on CUDA, on exactly the scenes and images measured on the CPU.
#
# Prepare on the CPU machine (pybullet settles the scenes there; the GPU machine needs no
# physics):
#   python scripts/bench_growth.py --num 48 --save-only --save-scenes DIR/growth.pkl.gz
#   python scripts/bench_growth.py --num 48 --save-only --scene scenes/lmo.yaml --objects 0 \
#       --set objects.mesh_root=/abs/lmo/models --save-scenes DIR/lmo.pkl.gz
#   simgen render --out DIR/gapset --num 160 --set image.width=320 --set image.height=240
# Then, on the GPU machine, with simgen's Python dependencies importable (pybullet not needed)
# and the NVIDIA EGL vendor library installed:
#   bash scripts/bench_gpu.sh DIR [KEEP_DIR]
# KEEP_DIR receives each row's first images and instance maps (growth.npz, lmo.npz) to compare
# with the CPU renderer's (python scripts/compare_renderers.py).
# The simgen project never needs a GPU; this only records what one gives.
set -euo pipefail
dir=${1:?usage: scripts/bench_gpu.sh DIR [KEEP_DIR]}
keep=${2:-}
export PYOPENGL_PLATFORM=egl
# Python 3.12 needs PyOpenGL 3.1.9 (3.1.0, the pin, fails in glGenTextures there): let the
# renderer run with it (simgen.render.pyrender_patches warns instead of refusing).
export SIMGEN_ALLOW_UNPINNED_GL=${SIMGEN_ALLOW_UNPINNED_GL:-1}
here=$(cd "$(dirname "$0")" && pwd)
echo "== renderer, cost-growth grid (built-in scene), renderer only"
python3 "$here/bench_growth.py" --scenes "$dir/growth.pkl.gz" ${keep:+--keep-images "$keep/growth.npz"}
if [ -f "$dir/lmo.pkl.gz" ]; then
    echo "== renderer, scenes/lmo.yaml, renderer only"
    python3 "$here/bench_growth.py" --scenes "$dir/lmo.pkl.gz" ${keep:+--keep-images "$keep/lmo.npz"}
fi
echo "== gap judge training on CUDA"
python3 "$here/bench_gap.py" --data "$dir/gapset" --images 160 --size 320 --batch 16 \
    --steps 20 --repeats 3 --threads "$(nproc)" --finetune --device cuda
