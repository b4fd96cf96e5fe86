#!/usr/bin/env bash
# darts-alpha vs darts-pt vs zc-pt on one seed, NAS-Bench-201, CPU-sized (see the issue-5 report for
# the figures these settings gave). The supernet is trained once by the darts-alpha run and reused by
# darts-pt through --supernet. Usage: scripts/compare_trained_selectors_nb201.sh [tiny|full] [SEED]
#   tiny: C=8, N=1, 30 epochs of 20 steps, DARTS-PT fine-tunes 1 epoch between decisions (~15 min on 1 core)
#   full: the benchmark's C=16, N=5 supernet, 2 epochs of 8 steps, no fine-tuning (~6 min on 1 core)
# Data: the JPEG CIFAR-10 subset in ../shared/data/cifar10-jpg; accuracies from ../shared/data/nb201_test_accuracy.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
setting=${1:-tiny}
seed=${2:-0}
data=../shared/data/cifar10-jpg
table=../shared/data/nb201_test_accuracy.csv
common=(--space nb201 --dataset cifar10 --data "$data" --seed "$seed" --force --table "$table")
if [ "$setting" = tiny ]; then
    size=(--init-channels 8 --layers 1)
    train=(--epochs 30 --steps-per-epoch 20 --eval-batches 4)
    tune=(--steps-per-epoch 20 --eval-batches 4 --tune-epochs 1)
    zc=(--proposals 10 --valid-batches 10)
else
    size=()
    train=(--epochs 2 --steps-per-epoch 8 --eval-batches 2)
    tune=(--eval-batches 2 --tune-epochs 0)
    zc=(--proposals 2 --valid-batches 5)
fi
out=runs/compare-$setting-seed$seed
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
python search.py "${common[@]}" "${size[@]}" --selector darts-alpha "${train[@]}" --out "$out-alpha"
python search.py "${common[@]}" "${size[@]}" --selector darts-pt --order random \
    --supernet "$out-alpha/checkpoint/supernet.pt" "${tune[@]}" --out "$out-pt"
python search.py "${common[@]}" "${size[@]}" --selector zc-pt --order random --proxy nwot "${zc[@]}" --out "$out-zc"
