"""Record a finished ``make demo`` run in the repository's docs.

    python .dev_scripts/record_demo.py [WORK_DIR]   # default work_dirs/demo

copies the run's ``demo_results.{json,md}`` and its pictures into
``docs/results/demo/`` (paths made relative to the work dir) and writes its
table into README.md between ``<!-- demo-table -->`` and
``<!-- /demo-table -->``.  ``tests/test_docs/test_demo_table.py`` checks
that the README shows the recorded run, that the run recorded a commit
whose demo inputs it did not change, and that none of them changed since.
"""
import json
import os.path as osp
import shutil
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # the checkout's mmtat

from mmtat.tools.demo import format_table  # noqa: E402

RESULTS = osp.join(ROOT, 'docs', 'results', 'demo')
BEGIN, END = '<!-- demo-table -->', '<!-- /demo-table -->'


def readme_block(report: dict) -> str:
    """What the README shows of a recorded run, between the markers."""
    settings = report['settings']
    machine = report['provenance']['machine']
    return (f'{BEGIN}\n{format_table(report["rows"])}\n'
            f'`{report["provenance"]["command"]}` at commit '
            f'`{report["provenance"]["commit"][:7]}`, {machine["cpu"]} '
            f'({machine["usable_cores"]} cores), torch {machine["torch"]}, '
            f'{report["wall_seconds"] / 60:.0f} min; seed {settings["seed"]}'
            '; raw output: [docs/results/demo](docs/results/demo/'
            f'demo_results.json).\n{END}')


def main(work_dir: str) -> None:
    with open(osp.join(work_dir, 'demo_results.json')) as f:
        report = json.load(f)
    origin = report['provenance']
    if report['settings']['quick'] or origin.get('commit') is None or \
            origin.get('changed_inputs'):
        raise SystemExit(
            'record a full run of a clean checkout: quick '
            f'{report["settings"]["quick"]}, commit {origin.get("commit")}, '
            f'changed inputs {origin.get("changed_inputs")}')

    def relative(path: str) -> str:
        return osp.relpath(path, work_dir)

    for row in report['rows']:
        row['checkpoint'] = relative(row['checkpoint'])
    report['data_root'] = relative(report['data_root'])
    for path in report['pictures']:
        shutil.copy(path, RESULTS)
    report['pictures'] = [osp.basename(p) for p in report['pictures']]
    with open(osp.join(RESULTS, 'demo_results.json'), 'w') as f:
        json.dump(report, f, indent=2)
    shutil.copy(osp.join(work_dir, 'demo_results.md'), RESULTS)
    readme = osp.join(ROOT, 'README.md')
    with open(readme) as f:
        text = f.read()
    start = text.index(BEGIN)
    # a README without a recorded run has the opening marker only
    end = (text.index(END) + len(END)) if END in text else start + len(BEGIN)
    with open(readme, 'w') as f:
        f.write(text[:start] + readme_block(report) + text[end:])
    print(f'recorded {work_dir} in {RESULTS} and README.md')


if __name__ == '__main__':
    main(osp.abspath(sys.argv[1] if len(sys.argv) > 1 else
                     osp.join(ROOT, 'work_dirs', 'demo')))
