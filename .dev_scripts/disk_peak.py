"""Run a command and report the most disk space a folder took while it ran.

The test suite writes real-size checkpoints (a DeepLabV3 R101-D8 one is about
350 MB), so its peak use of the temporary folder decides whether it fits on a
machine.  This samples the folder's size (``du``, every ``--every`` seconds)
while the command runs and prints one JSON line::

    python .dev_scripts/disk_peak.py --folder /tmp/pytest-of-$USER -- \
        make test

Every sample is kept (``--samples FILE``), so the peak can be read back.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def folder_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk (``du``'s count, hard links once)."""
    if not folder.exists():
        return 0
    done = subprocess.run(['du', '-s', '--block-size=1', str(folder)],
                          capture_output=True, text=True)
    # du exits 1 when a file vanishes mid-walk, which a running suite does
    # all the time; its total is still the size of what it saw.
    first = done.stdout.split('\t', 1)[0]
    return int(first) if first.isdigit() else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--folder', type=Path, required=True,
                        help='folder whose size is sampled')
    parser.add_argument('--every', type=float, default=2.0,
                        help='seconds between samples (default 2)')
    parser.add_argument('--samples', type=Path,
                        help='write every sample (seconds, bytes) here')
    parser.add_argument('command', nargs=argparse.REMAINDER,
                        help='the command, after --')
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('give the command to run after --')
    if args.every <= 0:
        parser.error(f'--every must be positive, got {args.every}')

    start = time.monotonic()
    samples = [(0.0, folder_bytes(args.folder))]
    process = subprocess.Popen(command)
    while process.poll() is None:
        time.sleep(args.every)
        samples.append((round(time.monotonic() - start, 1),
                        folder_bytes(args.folder)))
    samples.append((round(time.monotonic() - start, 1),
                    folder_bytes(args.folder)))
    if args.samples:
        args.samples.write_text(
            ''.join(f'{t}\t{b}\n' for t, b in samples))
    peak_time, peak = max(samples, key=lambda sample: sample[1])
    print(json.dumps({
        'command': ' '.join(command),
        'folder': str(args.folder),
        'exit_code': process.returncode,
        'seconds': samples[-1][0],
        'start_bytes': samples[0][1],
        'peak_bytes': peak,
        'peak_at_seconds': peak_time,
        'end_bytes': samples[-1][1],
        'samples': len(samples),
    }))
    return process.returncode


if __name__ == '__main__':
    sys.exit(main())
