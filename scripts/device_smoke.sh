# Every method's `bxrd fit` (training and the post-fit step) and `bxrd test` (calibration and
# attribution callbacks) on the GPU, small: the code paths CI, which has no GPU, never runs.
# Here first: `bash scripts/device_fits.sh prepare` (data/device), the wheels the machine lacks
# in .whl (docs/RESULTS.md, "Device runs"); then on the device (carry data/device and .whl):
#
#   OUT=DIR bash scripts/device_smoke.sh       # ACC=cpu for a dry run here; NOWHL=1: no wheels
#
# One line per method and step, `ok` or `FAILED` with the log's last error line; exits 1 if
# any step failed. Logs in runs/device_smoke/logs and OUT/smoke.tgz.
set -u
T0=$(date +%s)
OUT=${OUT:-runs/device_smoke_out}
rm -rf runs/device_smoke  # a rerun on a warm machine would test the last call's checkpoints
mkdir -p "$OUT" runs/device_smoke/logs
source scripts/device_env.sh  # threads, output, the .whl wheels on PYTHONPATH
METHODS="mc_dropout_cosine laplace_cosine vi deterministic"
A="--config configs/shipped_realistic.yaml --data.dataset data/device/shipped.h5
 --data.augment.realism.phase_dir data/device/phases --data.verify false
 --data.final_refit false --data.num_workers 2 --data.batch_size 256
 --trainer.accelerator ${ACC:-gpu} --trainer.enable_progress_bar false
 --trainer.logger.class_path pytorch_lightning.loggers.TensorBoardLogger
 --trainer.logger.init_args.save_dir runs/device_smoke"
step() {  # step NAME: run every method's NAME (fit or test) at once, then report each
  local pids=() m
  for m in $METHODS; do
    local ck=runs/device_smoke/$m/version_0/checkpoints/final.ckpt extra
    if [ "$1" = fit ]; then
      extra="--trainer.max_epochs 1 --data.samples_per_epoch ${SPE:-2048}"
    else
      extra="--ckpt_path $ck --trainer.limit_test_batches ${LTB:-1.0}"
    fi
    python3 -m bxrd.cli "$1" $A --model "configs/model/$m.yaml" \
      --trainer.logger.init_args.name "$m" $extra > "runs/device_smoke/logs/$m.$1.log" 2>&1 &
    pids+=("$!")
  done
  local i=0
  for m in $METHODS; do
    if wait "${pids[$i]}"; then
      echo "$m $1 ok ($(( $(date +%s) - T0 )) s)"
    else
      echo "$m $1 FAILED: $(grep -E 'Error|error:' "runs/device_smoke/logs/$m.$1.log" | tail -1)"
    fi
    i=$((i + 1))
  done
}
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
step fit | tee -a "$OUT/smoke.log"
step test | tee -a "$OUT/smoke.log"
grep -h "test/acc\|test/ece" runs/device_smoke/logs/*.test.log | head -8 | tee -a "$OUT/smoke.log"
tar czf "$OUT/smoke.tgz" runs/device_smoke/logs 2>/dev/null
grep -q FAILED "$OUT/smoke.log" && exit 1
exit 0
