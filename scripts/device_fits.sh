# Many `bxrd fit` runs at once on one GPU machine (16 CPU cores render, the GPU trains):
# the shipped model, its honest run over 3 seeds, the plain simulator over 3 seeds, each
# measurement-model option off in turn, and the transfer rows of issue 18 over 3 seeds.
#
#   bash scripts/device_fits.sh prepare          # here: slim copies + phase files, data/device/
#   # on the device (carry data/device and the wheels the machine lacks):
#   OUT=DIR bash scripts/device_fits.sh run MAX_TIME DEADLINE_S
#
# MAX_TIME bounds each fit (Lightning DD:HH:MM:SS); at DEADLINE_S seconds after the start
# the fits still running are stopped and every final.ckpt, log and TensorBoard run is packed
# into OUT (six tars of at most 5 checkpoints, logs.tgz, progress.log: the device's limit of
# 8 files of 16 MiB). Environment: ONLY="name ..." runs a subset; EP epochs of SPE patterns
# (default 20 × 16,384) with the cosine learning rate; NW workers per fit (default 2);
# ACC=cpu for a local dry run; NOWHL=1 skips installing .whl/*.whl.
# Seen on one H200 (this session): 7 realistic fits of 20 × 16,384 patterns trained in
# 110 s together; 24 fits (15 realistic + 9 transfer) made about 820 and 1,650 steps of 256
# in 4 min 40 s. Size the deadline for the post-fit step (feature density over one epoch)
# too. Score the checkpoints here, on the full files (scripts/evaluate_test_split.py,
# scripts/evaluate_measured.py).
set -u
if [ "${1:-}" = prepare ]; then
  mkdir -p data/device/phases
  python scripts/slim_dataset.py data/shipped/dataset.h5 data/device/shipped.h5 || exit 1
  python scripts/slim_dataset.py data/transfer/dataset.h5 data/device/transfer.h5 --keep val \
    || exit 1
  phases=$(python -c "import yaml; print(*yaml.safe_load(open('configs/data/shipped.yaml'))
['augment']['realism']['phases'])") || exit 1
  for p in $phases; do  # the phases of the shipped recipe; Si is built in
    f=../shared/data/structures/binaries_mp/$p.json
    if [ -f "$f" ]; then cp "$f" data/device/phases/; elif [ "$p" != Si ]; then
      echo "$f: missing (a phase of configs/data/shipped.yaml)" >&2; exit 1
    fi
  done
  du -sh data/device
  exit 0
fi
[ "${1:-}" = run ] || { echo "usage: $0 prepare | run MAX_TIME DEADLINE_S" >&2; exit 2; }
T0=$(date +%s)
MT=${2:-00:00:05:00}
DEADLINE=${3:-500}
OUT=${OUT:-runs/device_out}
mkdir -p "$OUT" runs/device/logs
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${NOWHL:-}" ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
LOG="$OUT/progress.log"
echo "install done $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"

SHIP="--config configs/shipped_realistic.yaml --data.dataset data/device/shipped.h5
 --data.augment.realism.phase_dir data/device/phases"
TRANSFER="--data.dataset data/device/transfer.h5 --trainer.callbacks=[]"
COMMON="--data.verify false --trainer.accelerator ${ACC:-gpu} --trainer.max_epochs ${EP:-20}
 --model.init_args.lr_schedule cosine --trainer.max_time $MT
 --trainer.enable_progress_bar false --data.num_workers ${NW:-2}
 --data.batch_size 256 --data.samples_per_epoch ${SPE:-16384}
 --trainer.logger.class_path pytorch_lightning.loggers.TensorBoardLogger
 --trainer.logger.init_args.save_dir runs/device/fits"
RUNS=()
launch() {  # name, then the fit's own arguments
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  python3 -m bxrd.cli fit "$@" $COMMON --trainer.logger.init_args.name "$name" \
    > "runs/device/logs/$name.log" 2>&1 &
  RUNS+=("$!:$name")
}
HONEST="--data.final_refit false"
R="--data.augment.realism"
launch shipped $SHIP
for s in 0 1 2; do
  launch "honest_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s
  launch "plain_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s $R null
done
launch off_doublet $SHIP $HONEST $R.doublet false
launch off_instrument $SHIP $HONEST $R.instrument false $R.asymmetry false
launch off_microstrain $SHIP $HONEST $R.microstrain false
launch off_displacement $SHIP $HONEST $R.displacement false
launch off_march_dollase $SHIP $HONEST $R.march_dollase false
launch off_secondary_phases $SHIP $HONEST $R.secondary_phases false
launch off_background $SHIP $HONEST $R.background false $R.hump false $R.air_scatter false
launch off_counting_noise $SHIP $HONEST $R.counting_noise false
E=configs/experiments
for s in 0 1 2; do
  S="--seed_everything $s --data.seed $s"
  launch "t_vss_s$s" --config $E/sg_vss_mc_dropout.yaml $TRANSFER $S
  launch "t_vss_rss_s$s" --config $E/sg_vss_rss_mc_dropout.yaml $TRANSFER $S
  launch "t_vss_rss_nogen_s$s" --config $E/sg_vss_rss_mc_dropout.yaml $TRANSFER $S \
    "--data.exclude_origins=[generator]"
done
echo "launched ${#RUNS[@]} fits at $(( $(date +%s) - T0 )) s" | tee -a "$LOG"

while :; do  # every 10 s: fits alive, GPU use, load; stop the rest at the deadline
  alive=0
  for r in "${RUNS[@]}"; do kill -0 "${r%%:*}" 2>/dev/null && alive=$((alive + 1)); done
  el=$(( $(date +%s) - T0 ))
  gpu=$(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)
  echo "t=${el}s alive=$alive $gpu $(uptime | sed 's/.*load/load/')" >> "$LOG"
  [ "$alive" -eq 0 ] && break
  if [ "$el" -ge "$DEADLINE" ]; then
    for r in "${RUNS[@]}"; do kill -TERM "${r%%:*}" 2>/dev/null; done
    echo "deadline: stopped $alive fits" >> "$LOG"; sleep 5; break
  fi
  sleep 10
done

for r in "${RUNS[@]}"; do
  n=${r#*:}; f=$(ls runs/device/fits/$n/version_*/checkpoints/final.ckpt 2>/dev/null | head -1)
  echo "$n ${f:-NO final.ckpt}" >> "$LOG"
done
ls runs/device/fits/*/version_*/checkpoints/final.ckpt 2>/dev/null | sort > /tmp/ckpts
i=0
for part in a b c d e f; do
  sed -n "$((i + 1)),$((i + 5))p" /tmp/ckpts | tar cf "$OUT/ckpt_$part.tar" -T - 2>/dev/null
  i=$((i + 5))
done
tar czf "$OUT/logs.tgz" --exclude='*.ckpt' runs/device/logs runs/device/fits 2>/dev/null
echo "packed at $(( $(date +%s) - T0 )) s" >> "$LOG"
