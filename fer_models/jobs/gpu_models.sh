#!/usr/bin/env bash
# The device job of issue 18 (fer_models/jobs/gpu_models.py says what it trains and why).
#
# Before, here, once:   . ./env.sh && python -m fer_models.jobs.gpu_models prepare
#   (packs ../shared's FER2013 into .gpu/, fetches the Keras wheels into .whl/, ignores both)
# Then the device tool's `run`, one call:
#   command:   bash fer_models/jobs/gpu_models.sh
#   carry:     [".gpu", ".whl"]
#   timeout_s: 600     (the job packs its results by about 570 s; move nothing aside)
# Back in files_at: job.log, job.json and runs.tar.NN. Afterwards, here:
#   python -m fer_models.jobs.gpu_models unpack FILES_AT --to runs/gpu18
#   make ship-model RUN=runs/gpu18/<run> NAME=default|fast [EXPORT_ARGS=--flip-average]
# Extra arguments go to `gpu_models run` (e.g. --runs w48,w64 or --deadline 500).
set -u
cd "$(dirname "$0")/../.." || exit 1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi -L || echo "nvidia-smi: no GPU listed"
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
exec python3 -m fer_models.jobs.gpu_models run "$@"
