#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py args...]
set -e
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# the repository's venv when there is one, else python on PATH
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python; fi
fi

# tools/launch.py is torchrun (python -m torch.distributed.run, the same
# options) that ends in one line instead of its traceback.
#
# Preemption: slurm (or kill -- -PGID) sends SIGTERM to every process of the
# job: this shell, torchrun's agent and the workers.  The workers save a
# checkpoint at the end of the current iteration, say where in one line and
# exit with 143; the agent forwards SIGTERM to them (the same request to
# them), waits, and exits with 143 in one line.  This shell waits for
# torchrun too (a trapped signal runs after the command ends), instead of
# ending at once and leaving them behind, and then exits with 143.
TERMINATED=0
trap 'TERMINATED=1' TERM
STATUS=0
PYTHONPATH="$ROOT:$PYTHONPATH" \
"$PYTHON" "$ROOT/tools/launch.py" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}" || STATUS=$?
if [ "$TERMINATED" = 1 ] && [ "$STATUS" != 0 ]; then
    echo "tools/dist_train.sh: stopped by SIGTERM; continue with the same command and --resume." >&2
    exit 143
fi
exit "$STATUS"
