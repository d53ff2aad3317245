#!/usr/bin/env bash
# What the start-up hook (_mmtat_startup, loaded by mmtat-startup.pth in
# site-packages) adds to the start of every interpreter of the environment:
# the "_mmtat_startup" line of python -X importtime (self and cumulative
# time in microseconds), N starts each
#   1. as the environment runs it (PYTHONDONTWRITEBYTECODE as set: when it
#      is 1, the module is compiled from source on every start),
#   2. with the module byte-compiled (python -m py_compile, as pip does on a
#      normal install), the __pycache__ removed afterwards.
# Writes importtime.txt here.
#
#   bash docs/results/startup_hook/run.sh [N]
set -e
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT="$ROOT/docs/results/startup_hook/importtime.txt"
PY=${PYTHON:-$ROOT/.venv/bin/python}
N=${1:-10}
cd "$ROOT"

{
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -m); $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "# $("$PY" -c 'import sys; print("Python", sys.version.split()[0])'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# PYTHONDONTWRITEBYTECODE=${PYTHONDONTWRITEBYTECODE-<unset>}"
    echo "# columns: import time: self [us] | cumulative [us] | module"
    echo
    echo "## 1. $PY -X importtime -c pass  (PYTHONDONTWRITEBYTECODE=${PYTHONDONTWRITEBYTECODE-<unset>}; no __pycache__ for _mmtat_startup)"
    rm -rf __pycache__
    for _ in $(seq "$N"); do
        "$PY" -X importtime -c pass 2>&1 | grep _mmtat_startup
    done
    echo
    echo "## 2. $PY -m py_compile _mmtat_startup.py; PYTHONDONTWRITEBYTECODE= $PY -X importtime -c pass"
    "$PY" -m py_compile _mmtat_startup.py
    for _ in $(seq "$N"); do
        PYTHONDONTWRITEBYTECODE= "$PY" -X importtime -c pass 2>&1 | grep _mmtat_startup
    done
    rm -rf __pycache__
    echo
    echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT"
cat "$OUT"
