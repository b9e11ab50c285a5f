#!/usr/bin/env bash
# The device checks in one script, for a GPU machine when one is lent (about 10 minutes on one GPU):
# the CUDA tests, the solver per network and size, keyframes solved together against one by one, and a
# film rendered by 2 workers with their keyframes shared on the device against each on its own, and by Ray tasks.
#     bash benchmarks/gpu_check.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp}}"
py=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
timeout 120 $py -m pytest -q tests/test_solver.py -k "together or service or cuda" 2>&1 | tail -3 | tee "$out/tests.txt"
timeout 200 $py benchmarks/bench_solver.py --device cuda --iterations 30 --batch 8 2>&1 | tee "$out/solver.txt"
for share in off on; do
  timeout 120 $py benchmarks/bench_film.py --jobs 2 --shots 6 --hd-shots 0 \
    --vidcolor-args "--colorizer optim --device cuda --share-device $share" 2>&1 | tee "$out/film_share_$share.txt"
done
# Ray on this one machine: its GPU shared by the segments' tasks (one device service, every core a task) against
# one task at a time on the GPU, as --executor ray ran before (each the same command at --jobs 1 and 4).
if $py -c "import ray" 2>/dev/null; then
  timeout 150 $py benchmarks/bench_film.py --jobs 4 --shots 6 --hd-shots 0 --repeat 1 \
    --vidcolor-args "--colorizer optim --device cuda --executor ray" 2>&1 | tee "$out/film_ray.txt"
fi
