cd /work/main
OUT=docs/results/benchmark_cpu_imagenet
{ uptime; date -u; git rev-parse --short HEAD; } > $OUT/repeat.log
CMD=".venv/bin/python tools/benchmark.py configs/baselines/kd_resnet34_resnet18_in1k.py configs/baselines/dkd_resnet34_resnet18_in1k.py --no-floors --iters 1 --warmup 1 --batch-size 32 --crop 224 224 --device cpu --out $OUT/repeat_kd_dkd"
echo "\$ $CMD" >> $OUT/repeat.log
$CMD >> $OUT/repeat.log 2>&1
echo "exit $?" >> $OUT/repeat.log
{ uptime; date -u; } >> $OUT/repeat.log
