#!/usr/bin/env bash
# The data check (tools/misc/check_data.py) on each generated dataset layout
# (tools/misc/make_synthetic_data.py with its defaults: 32 training and 8
# validation images), then on a copy of the VOC one with three broken
# samples.  Writes <layout>.txt (the report) and <layout>.json (--out) here.
#
#   bash docs/results/check_data/run.sh [DATA_DIR]
set -e
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=docs/results/check_data  # relative: the reports name it so
DATA=${1:-$(mktemp -d)}
PY=${PYTHON:-$ROOT/.venv/bin/python}
cd "$ROOT"

check() {  # NAME CONFIG DATA_ROOT: the report, whatever its exit status
    "$PY" tools/misc/check_data.py "$2" --data-root "$3" --nproc 2 \
        --out "$OUT/$1.json" > "$OUT/$1.txt" 2> /dev/null || true
}

for pair in voc:configs/baselines/deeplabv3_r18_voc.py \
            cocostuff10k:configs/baselines/deeplabv3_r18_cocostuff10k.py \
            cityscapes:configs/baselines/deeplabv3_r18_cityscapes.py \
            camvid:configs/baselines/deeplabv3_r18_camvid.py \
            ade20k:configs/baselines/deeplabv3_r18_ade20k.py; do
    kind=${pair%%:*}
    root=$("$PY" tools/misc/make_synthetic_data.py "$kind" "$DATA/$kind")
    check "$kind" "${pair#*:}" "$root"
done

# VOC with a label value 40 in a 21-class label, a label 8 pixels narrower
# than its image and a JPEG cut in half
BROKEN="$DATA/voc_broken/VOC2012"
rm -rf "$DATA/voc_broken" && mkdir -p "$DATA/voc_broken"
cp -r "$DATA/voc/VOCdevkit/VOC2012" "$BROKEN"
"$PY" - "$BROKEN" <<'PY'
import sys
import numpy as np
from PIL import Image

root = sys.argv[1]
first, second, third = open(f'{root}/ImageSets/Segmentation/train.txt'
                            ).read().split()[:3]
path = f'{root}/SegmentationClass/{first}.png'
label = Image.open(path)
values = np.array(label)
values[:2, :2] = 40
out = Image.fromarray(values, 'P')
out.putpalette(label.getpalette())
out.save(path)
path = f'{root}/SegmentationClassAug/{second}.png'
label = Image.open(path)
label.resize((label.width - 8, label.height), Image.NEAREST).save(path)
path = f'{root}/JPEGImages/{third}.jpg'
data = open(path, 'rb').read()
open(path, 'wb').write(data[:len(data) // 2])
PY
check voc_broken configs/baselines/deeplabv3_r18_voc.py "$BROKEN"
# the reports name the files under DATA; keep them readable
sed -i "s|$DATA|DATA|g" "$OUT"/*.txt "$OUT"/*.json
