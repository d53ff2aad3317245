cd /work/main
OUT=docs/results/benchmark_cpu_imagenet
{ uptime; date -u; git rev-parse --short HEAD; nproc; } > $OUT/run.log
CMD=".venv/bin/python tools/benchmark.py configs/tat/resnet34_resnet18_in1k.py configs/baselines/kd_resnet34_resnet18_in1k.py configs/baselines/dkd_resnet34_resnet18_in1k.py configs/baselines/dist_resnet34_resnet18_in1k.py configs/baselines/wsld_resnet34_resnet18_in1k.py --iters 1 --warmup 1 --batch-size 32 --crop 224 224 --device cpu --out $OUT/imagenet"
echo "\$ $CMD" >> $OUT/run.log
$CMD >> $OUT/run.log 2>&1
echo "exit $?" >> $OUT/run.log
{ uptime; date -u; } >> $OUT/run.log
