# Many `bxrd fit` runs at once on one GPU machine (16 CPU cores render, the GPU trains):
# the shipped model, its honest run over 3 seeds, the plain simulator over 3 seeds, each
# measurement-model option off in turn over 2 seeds (the ablation of issue 19), and
# film-like texture (March–Dollase r down to 0.15, mostly along a low-index reflection)
# over 3 seeds.
#
#   bash scripts/device_fits.sh prepare          # here: slim copy + phase files, data/device/
#   # on the device (carry data/device and the wheels the machine lacks):
#   OUT=DIR bash scripts/device_fits.sh run MAX_TIME DEADLINE_S
#
#   OUT=DIR bash scripts/device_fits.sh pack     # next call, while the machine is warm
#
# MAX_TIME bounds each fit (Lightning DD:HH:MM:SS); at DEADLINE_S seconds after the start
# the fits still running are stopped. A call brings back at most 8 files of 16 MiB, 64 MiB
# together, and a checkpoint is about 3 MB: `run` packs the first 20 final.ckpt into
# ckpt_a..d.tar (5 each) with progress.log and logs.tgz (the fits' text logs); `pack` packs
# the next 10 not packed yet (runs/device/packed.txt) into ckpt_e..f.tar with runs.tgz
# (config.yaml, hparams and TensorBoard events); progress.log says when more are left.
# Environment: SWEEP=ablation (default), followup, candidate or methods picks the list of fits (the
# functions sweep_*); ONLY="name ..." runs a subset; EP epochs of SPE patterns (default 10 × 16,384:
# the CPU recipe of configs/trainer/shipped.yaml) with the cosine learning rate; NW workers
# per fit (default 2); ACC=cpu for a local dry run; NOWHL=1 skips installing .whl/*.whl.
# Seen on one H200: 7 realistic fits of 20 × 16,384 patterns trained in 110 s together;
# 24 fits (15 realistic + 9 transfer) made about 820 and 1,650 steps of 256 in 4 min 40 s;
# 26 realistic fits of 10 × 16,384 (this sweep) all ended, post-fit step included, in 358 s
# (GPU 64 GB used, load average 55).
# Size the deadline for the post-fit step (feature density over one epoch) too. Score the
# checkpoints here, on the full file (scripts/evaluate_test_split.py,
# scripts/evaluate_measured.py).
set -u
if [ "${1:-}" = prepare ]; then
  mkdir -p data/device/phases
  python scripts/slim_dataset.py data/shipped/dataset.h5 data/device/shipped.h5 || exit 1
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
pack() {  # tar the final.ckpt not packed yet (runs/device/packed.txt), 5 per part, into OUT
  mkdir -p "$OUT"
  touch runs/device/packed.txt
  ls runs/device/fits/*/version_*/checkpoints/final.ckpt 2>/dev/null | sort \
    | grep -vxFf runs/device/packed.txt > /tmp/ckpts
  local i=0
  for part in "$@"; do
    sed -n "$((i + 1)),$((i + 5))p" /tmp/ckpts > /tmp/part
    [ -s /tmp/part ] && tar cf "$OUT/ckpt_$part.tar" -T /tmp/part && cat /tmp/part >> runs/device/packed.txt
    i=$((i + 5))
  done
  left=$(( $(wc -l < /tmp/ckpts) - i ))
  [ "$left" -gt 0 ] && echo "$left final.ckpt not packed: call pack again" | tee -a "$OUT/progress.log"
  return 0
}
if [ "${1:-}" = pack ]; then
  OUT=${OUT:-runs/device_out}
  pack e f
  tar czf "$OUT/runs.tgz" --exclude='*.ckpt' runs/device/fits 2>/dev/null
  ls -la "$OUT"
  exit 0
fi
[ "${1:-}" = run ] || { echo "usage: $0 prepare | run MAX_TIME DEADLINE_S | pack" >&2; exit 2; }
T0=$(date +%s)
MT=${2:-00:00:05:00}
DEADLINE=${3:-500}
OUT=${OUT:-runs/device_out}
mkdir -p "$OUT" runs/device/logs
source scripts/device_env.sh  # threads, output, the .whl wheels on PYTHONPATH
LOG="$OUT/progress.log"
echo "install done $(( $(date +%s) - T0 )) s" | tee -a "$LOG"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"

SHIP="--config configs/shipped_realistic.yaml --data.dataset data/device/shipped.h5
 --data.augment.realism.phase_dir data/device/phases"
COMMON="--data.verify false --trainer.accelerator ${ACC:-gpu} --trainer.max_epochs ${EP:-10}
 --model.init_args.lr_schedule cosine --trainer.max_time $MT
 --trainer.enable_progress_bar false --data.num_workers ${NW:-2}
 --data.batch_size 256 --data.samples_per_epoch ${SPE:-16384}
 --trainer.logger.class_path pytorch_lightning.loggers.TensorBoardLogger
 --trainer.logger.init_args.save_dir runs/device/fits"
RUNS=()
launch() {  # name, then the fit's own arguments; LATE: arguments after COMMON (overriding it)
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  python3 -m bxrd.cli fit "$@" $COMMON ${LATE:-} --trainer.logger.init_args.name "$name" \
    > "runs/device/logs/$name.log" 2>&1 &
  RUNS+=("$!:$name")
}
HONEST="--data.final_refit false"
R="--data.augment.realism"
LEAN="$R.march_dollase false $R.secondary_phases false"  # the ablation's best options
FULL="$R.march_dollase true $R.secondary_phases true"  # every option on (the ablation's base)
sweep_ablation() {  # SWEEP=ablation (default): the first sweep of issue 19
  local SHIP="$SHIP $FULL"
  launch shipped $SHIP
  for s in 0 1 2; do
    launch "honest_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s
    launch "plain_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s $R null
  done
  for s in 0 1; do  # the ablation: each option off in turn
    S="--seed_everything $s --data.seed $s"
    launch "off_doublet_s$s" $SHIP $HONEST $S $R.doublet false
    launch "off_instrument_s$s" $SHIP $HONEST $S $R.instrument false $R.asymmetry false
    launch "off_microstrain_s$s" $SHIP $HONEST $S $R.microstrain false
    launch "off_displacement_s$s" $SHIP $HONEST $S $R.displacement false
    launch "off_march_dollase_s$s" $SHIP $HONEST $S $R.march_dollase false
    launch "off_secondary_phases_s$s" $SHIP $HONEST $S $R.secondary_phases false
    launch "off_background_s$s" $SHIP $HONEST $S $R.background false $R.hump false \
      $R.air_scatter false
    launch "off_counting_noise_s$s" $SHIP $HONEST $S $R.counting_noise false
  done
  FILM="$R.march_dollase_r=[0.15,1.0] $R.low_index_fraction 0.9 $R.texture_fraction 0.9"
  for s in 0 1 2; do
    launch "film_texture_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s $FILM
  done
}
sweep_followup() {  # SWEEP=followup: after the ablation (texture and secondary phases hurt)
  local SHIP="$SHIP $FULL"
  local MILD="$R.march_dollase_r=[0.6,1.0] $R.texture_fraction 0.5 $R.phase_probability 0.2
   $R.weight_fraction=[0.01,0.05]"
  for s in 0 1 2; do
    local S="--seed_everything $s --data.seed $s"
    launch "lean_s$s" $SHIP $HONEST $S $LEAN
    launch "mild_s$s" $SHIP $HONEST $S $MILD
    LATE="--trainer.max_epochs 20" launch "honest_long_s$s" $SHIP $HONEST $S
    LATE="--trainer.max_epochs 20" launch "lean_long_s$s" $SHIP $HONEST $S $LEAN
  done
  launch off_march_dollase_s2 $SHIP $HONEST --seed_everything 2 --data.seed 2 $R.march_dollase false
  launch off_secondary_phases_s2 $SHIP $HONEST --seed_everything 2 --data.seed 2 \
    $R.secondary_phases false
  launch lean_refit $SHIP $LEAN
  launch mild_refit $SHIP $MILD
}
sweep_candidate() {  # SWEEP=candidate: the shipped (lean) recipe at 20 epochs, 3 seeds + refit
  for s in 0 1 2; do
    LATE="--trainer.max_epochs 20" launch "cand_s$s" $SHIP $HONEST --seed_everything $s \
      --data.seed $s
  done
  LATE="--trainer.max_epochs 20" launch cand_refit $SHIP
}
sweep_methods() {  # SWEEP=methods (EP=20): the Bayesian methods on the shipped recipe, honest
  for s in 0 1 2; do
    local S="--seed_everything $s --data.seed $s"
    launch "lap_s$s" $SHIP --model configs/model/laplace_cosine.yaml $HONEST $S
    launch "vi_s$s" $SHIP --model configs/model/vi.yaml $HONEST $S
    launch "det_s$s" $SHIP --model configs/model/deterministic.yaml $HONEST $S
  done
  for s in 3 4; do  # with the CPU's seeds 0-2: five honest MC-dropout members
    launch "mcd_s$s" $SHIP $HONEST --seed_everything $s --data.seed $s
  done
  launch lap_refit $SHIP --model configs/model/laplace_cosine.yaml  # laplace.ckpt's recipe
}
declare -F "sweep_${SWEEP:-ablation}" > /dev/null || { echo "no sweep ${SWEEP:-ablation}" >&2; exit 2; }
"sweep_${SWEEP:-ablation}"
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
    sleep 10  # a fit in its post-fit step ignores TERM: killed, so none writes after packing
    for r in "${RUNS[@]}"; do kill -KILL "${r%%:*}" 2>/dev/null; done
    echo "deadline: stopped $alive fits" >> "$LOG"; break
  fi
  sleep 10
done

for r in "${RUNS[@]}"; do
  n=${r#*:}; f=$(ls runs/device/fits/$n/version_*/checkpoints/final.ckpt 2>/dev/null | head -1)
  echo "$n ${f:-NO final.ckpt}" >> "$LOG"
done
rm -f runs/device/packed.txt
pack a b c d
tar czf "$OUT/logs.tgz" runs/device/logs 2>/dev/null
echo "packed at $(( $(date +%s) - T0 )) s" >> "$LOG"
