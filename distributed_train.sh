#!/usr/bin/env bash
# Train on N processes of this machine (one per GPU; or N CPU processes with --device cpu) through torchrun:
#   ./distributed_train.sh 8 --genotype runs/x --recipe darts-imagenet --data /data/imagenet
# Arguments after N go to `python -m ptnas.train_final`. Set PYTHON to choose the interpreter.
# Several machines: call torchrun yourself (--nnodes, --rdzv-endpoint) with `-m ptnas.train_final ...`.
set -euo pipefail
if [[ $# -lt 1 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 N [ptnas-train flags...]   (N: processes on this machine, e.g. the number of GPUs)" >&2
    exit 2
fi
N=$1
shift
exec "${PYTHON:-python}" -m torch.distributed.run --standalone --nproc_per_node="$N" -m ptnas.train_final "$@"
