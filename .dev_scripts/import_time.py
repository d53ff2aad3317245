"""Time ``import mmtat`` in fresh interpreters, warm and cold.

Each run starts a new interpreter (the environment's start-up hook
included) that times ``import mmtat`` with ``time.perf_counter``; the whole
interpreter's wall time is measured from outside. *Warm*: the files are in
the OS page cache (the runs after a first, discarded one). *Cold*: the page
cache is dropped before every run (``/proc/sys/vm/drop_caches``, root
only), so torch, mmengine, MMSegmentation, MMRazor and MMPretrain are read
from disk, as on the first start after a reboot or on a fresh node.

    python .dev_scripts/import_time.py --runs 5 [--cold] [--json OUT]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

PROBE = ('import time; t = time.perf_counter(); import mmtat; '
         'print(time.perf_counter() - t)')
DROP_CACHES = '/proc/sys/vm/drop_caches'


def drop_page_cache() -> None:
    os.sync()
    try:
        with open(DROP_CACHES, 'w') as f:
            f.write('3\n')
    except OSError as error:
        raise SystemExit(f'--cold needs to write {DROP_CACHES} (root): '
                         f'{error}') from None


def one_run(python: str, cold: bool) -> dict:
    if cold:
        drop_page_cache()
    start = time.perf_counter()
    done = subprocess.run([python, '-c', PROBE], capture_output=True,
                          text=True, check=True)
    wall = time.perf_counter() - start
    return dict(import_s=float(done.stdout.split()[-1]), interpreter_s=wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--cold', action='store_true',
                        help='drop the page cache before every run')
    parser.add_argument('--python', default=sys.executable)
    parser.add_argument('--json', help='also write the runs here')
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f'--runs must be at least 1, got {args.runs}')
    if not args.cold:
        one_run(args.python, cold=False)  # fills the page cache
    runs = [one_run(args.python, args.cold) for _ in range(args.runs)]
    report = dict(
        mode='cold' if args.cold else 'warm', python=args.python,
        machine=f'{platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} cores', command=' '.join(sys.argv), runs=runs,
        median_import_s=statistics.median(r['import_s'] for r in runs),
        median_interpreter_s=statistics.median(
            r['interpreter_s'] for r in runs))
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
