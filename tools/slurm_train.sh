#!/usr/bin/env bash
# Usage: GPUS=8 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# the repository's venv when there is one, else python on PATH
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi

# Preemption: slurm sends SIGTERM to the tasks (and srun forwards its own);
# they save a checkpoint at the end of the current iteration, say where in
# one line each and exit with 143 (srun starts the workers itself: no
# torchrun agent here).  This shell waits for srun (a trapped signal runs
# after the command ends) and exits with 143 too, in one line, so that a
# requeued job can --resume.
TERMINATED=0
trap 'TERMINATED=1' TERM
STATUS=0
PYTHONPATH="$ROOT:$PYTHONPATH" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$ROOT/tools/train.py" "${CONFIG}" --launcher="slurm" ${PY_ARGS} || STATUS=$?
if [ "$TERMINATED" = 1 ] && [ "$STATUS" != 0 ]; then
    echo "tools/slurm_train.sh: stopped by SIGTERM; continue with the same command and --resume." >&2
    exit 143
fi
exit "$STATUS"
