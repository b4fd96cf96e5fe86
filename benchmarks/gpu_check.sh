#!/usr/bin/env bash
# One short GPU check of the search and training paths (issue 13), under 8 minutes on one H100; prints one table.
#
#   bash benchmarks/gpu_check.sh                  # CUDA, the sizes below
#   GPU_CHECK_TINY=1 bash benchmarks/gpu_check.sh # CPU at tiny sizes: tests the script itself, says nothing of speed
#
# Rows: NB201 Zero-Cost-PT (nwot, batch 256, N=1) with the random and global-op-iter orders, batched (--replicas 0)
# and unbatched (--replicas 1), against the floor (the same number of plain supernet forwards,
# benchmarks/search_speed.py); replicated scoring passes per space (benchmarks/replicas_speed.py); one DARTS
# Zero-Cost-PT proposal; a few steps of
# train_final with AMP, channels_last and EMA, killed after its first epoch and resumed; a tiny darts-pt search.
# Every figure is wall seconds of the command shown; the run dirs are under $OUT (default a temporary folder).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [[ "${GPU_CHECK_TINY:-0}" == 1 ]]; then
  DEV=cpu; NB="--init-channels 4 --layers 1"; BATCH=16; DARTS="--init-channels 4 --layers 2"; DBATCH=8
  TRAIN=(--init-channels 4 --layers 2 --synthetic-n 512 --batch-size 32 --epochs 8 --model-ema)
  FLOOR_SIZE=(--space nb201); STEPS=3
else
  DEV=cuda; NB=""; BATCH=256; DARTS=""; DBATCH=64
  TRAIN=(--synthetic-n 8192 --batch-size 96 --epochs 8 --amp --channels-last --model-ema)
  FLOOR_SIZE=(--space nb201); STEPS=20
fi
declare -a ROWS
row() { ROWS+=("$(printf '%-44s %8s  %s' "$1" "$2" "$3")"); }
timed() {  # timed NAME COMMAND...: runs it, adds a row with its wall seconds (or FAILED rc)
  local name=$1; shift
  local start end rc
  start=$(date +%s.%N); "$@" >"$OUT/$name.log" 2>&1; rc=$?; end=$(date +%s.%N)
  if [[ $rc == 0 ]]; then row "$name" "$(printf '%.1f' "$(echo "$end - $start" | bc)")" "$*"
  else row "$name" "FAILED" "rc $rc, log $OUT/$name.log: $*"; fi
  return $rc
}
SEARCH=("$PY" search.py --space nb201 $NB --batch-size $BATCH --proposals 1 --proxy nwot --device $DEV --force)
# --replicas 0 (auto: a whole scoring pass per forward on CUDA) against --replicas 1 (a forward per candidate).
for order in random global-op-iter; do
  timed "nb201-zcpt-$order-batched" "${SEARCH[@]}" --order $order --replicas 0 --out "$OUT/nb201-$order-b"
  timed "nb201-zcpt-$order-unbatched" "${SEARCH[@]}" --order $order --replicas 1 --out "$OUT/nb201-$order-u"
  same=$(cmp -s "$OUT/nb201-$order-b/genotype.txt" "$OUT/nb201-$order-u/genotype.txt" && echo yes || echo NO)
  row "  same genotype batched/unbatched ($order)" "$same" "cmp genotype.txt"
done
# The floor: seconds of one plain supernet forward (fp32, channels_last) times the forwards of each order.
"$PY" benchmarks/search_speed.py "${FLOOR_SIZE[@]}" --batch-size $BATCH --repeats 3 --device $DEV >"$OUT/floor.log" 2>&1
FLOOR=$(awk '$1 == "nb201" && $2 == "supernet" {print $7}' "$OUT/floor.log")
row "floor: one supernet forward (C=16, N=5)" "${FLOOR:-?}" "x 30 (random) or 105 (global-op-iter) forwards per proposal; fp32 channels_last; benchmarks/search_speed.py --space nb201 --batch-size $BATCH"
# One scoring pass per space, replicated in chunks of 8 and 32 and all at once, against a forward per candidate.
"$PY" benchmarks/replicas_speed.py $([[ "${GPU_CHECK_TINY:-0}" == 1 ]] && echo --tiny) --space nb201 darts \
  --device $DEV --batch-size $BATCH --chunks 8 32 0 --repeats 1 >"$OUT/replicas.log" 2>&1 \
  || row "replicas_speed" "FAILED" "log $OUT/replicas.log"
timed darts-zcpt-1-proposal "$PY" search.py --space darts $DARTS --batch-size $DBATCH --proposals 1 --proxy nwot \
  --order random --device $DEV --force --out "$OUT/darts"
GENO='|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
TRAIN_CMD=("$PY" -m ptnas.train_final --genotype "$GENO" --space nb201 --dataset synthetic-cifar10 --workers 0
           --device $DEV --output "$OUT/train" --experiment check "${TRAIN[@]}")
# Killed once its first epoch checkpoint exists, then resumed to the end.
start=$(date +%s.%N)
"${TRAIN_CMD[@]}" --force >"$OUT/train.log" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do  # up to 5 min
  [[ -f "$OUT/train/check/checkpoint/last.pth.tar" ]] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null  # SIGINT is ignored by background jobs of a script
killed=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
done_epochs=$(ls "$OUT/train/check/checkpoint" 2>/dev/null | grep -c '^checkpoint-')
row "train_final killed ($done_epochs of 8 epochs saved)" "$killed" "${TRAIN_CMD[*]} --force"
timed train_final-resumed "$PY" -m ptnas.train_final --resume "$OUT/train/check" --device $DEV
timed darts-pt-tiny "$PY" search.py --space nb201 --init-channels 4 --layers 1 --selector darts-pt --epochs 1 \
  --steps-per-epoch $STEPS --eval-batches 2 --tune-epochs 1 --batch-size 16 --device $DEV --force --out "$OUT/darts-pt"
echo "gpu_check ($DEV$([[ "${GPU_CHECK_TINY:-0}" == 1 ]] && echo ', tiny sizes'); logs and run dirs in $OUT)"
printf '%-44s %8s  %s\n' "check" "seconds" "command"
printf '%s\n' "${ROWS[@]}"
echo; cat "$OUT/replicas.log"
