"""Every relative link of the documentation points to a file (or folder)
of the repository, and an anchor to a heading of the file it names."""
import os.path as osp
from urllib.parse import unquote

from docs_markdown import REPO, anchors, documentation_files, links, read

EXTERNAL = ('http://', 'https://', 'mailto:')


def test_the_documentation_files_are_found():
    files = documentation_files()
    assert 'README.md' in files
    assert 'configs/tat/README.md' in files
    assert any(f.startswith('docs/en/') for f in files)


def test_relative_links_point_to_existing_files_and_headings():
    broken = []
    for path in documentation_files():
        text = read(path)
        for line, target in links(text):
            if target.startswith(EXTERNAL):
                continue
            file_part, _, anchor = target.partition('#')
            if file_part:
                resolved = osp.normpath(
                    osp.join(REPO, osp.dirname(path), unquote(file_part)))
                if not resolved.startswith(REPO + osp.sep):
                    broken.append(f'{path}:{line}: {target} leaves the '
                                  'repository')
                    continue
                if not osp.exists(resolved):
                    broken.append(f'{path}:{line}: {target}: no such file')
                    continue
                target_text = read(osp.relpath(resolved, REPO)) \
                    if resolved.endswith('.md') else None
            else:
                target_text = text
            if anchor and target_text is not None \
                    and anchor not in anchors(target_text):
                broken.append(f'{path}:{line}: {target}: no heading with '
                              f'the anchor #{anchor}')
    assert not broken, 'broken links:\n' + '\n'.join(broken)
