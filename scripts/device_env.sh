# Sourced by the device scripts (device_fits.sh, device_smoke.sh): one thread per process, no
# display, unbuffered output, and the wheels in .whl (the packages the device image lacks)
# installed to /tmp/site and put on PYTHONPATH with this checkout; NOWHL=1 skips them.
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${NOWHL:-}" ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
