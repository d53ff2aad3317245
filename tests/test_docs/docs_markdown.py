"""Reading the repository's Markdown files for the documentation tests:
which files, their headings' anchors, their links and their tables."""
import os.path as osp
import re
import subprocess
from typing import Dict, Iterator, List, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

_FENCE = re.compile(r'^\s*(```|~~~)')
_HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
#: [text](target) and ![alt](target), target without spaces, optional title
_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?'
                   r'(?:\s+"[^"]*")?\s*\)')
_INLINE_CODE = re.compile(r'`[^`\n]*`')


def repo_markdown_files() -> List[str]:
    """Every *.md file of the checkout that git tracks or would track
    (ignored files such as .venv/ and work_dirs/ left out), relative."""
    out = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard',
         '--', '*.md'],
        cwd=REPO, check=True, capture_output=True, text=True).stdout
    return sorted(p for p in set(out.splitlines())
                  if osp.isfile(osp.join(REPO, p)))


def documentation_files() -> List[str]:
    """README.md, docs/en/*.md and configs/**/README.md, relative."""
    return [p for p in repo_markdown_files()
            if p == 'README.md'
            or (p.startswith('docs/en/') and p.count('/') == 2)
            or (p.startswith('configs/') and osp.basename(p) == 'README.md')]


def read(path: str) -> str:
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return f.read()


def prose_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links
    text = re.sub(r'<[^>]+>', '', text).replace('`', '').strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(text: str) -> set:
    """The anchors of the headings of a Markdown text (duplicates get
    GitHub's -1, -2, ... suffixes)."""
    found: Dict[str, int] = {}
    result = set()
    for _, line in prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = found.get(base, 0)
        found[base] = count + 1
        result.add(base if count == 0 else f'{base}-{count}')
    return result


def links(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, target) of every inline link and image outside code."""
    for number, line in prose_lines(text):
        for match in _LINK.finditer(_INLINE_CODE.sub('``', line)):
            yield number, match.group(1)


def tables_after(text: str, marker: str) -> List[Tuple[str, List[dict]]]:
    """The tables that follow an HTML comment ``<!-- marker: VALUE -->``:
    (VALUE, rows as {header: cell})."""
    lines = text.splitlines()
    comment = re.compile(r'^<!--\s*' + re.escape(marker) +
                         r':\s*(\S+)\s*-->\s*$')
    tables = []
    for i, line in enumerate(lines):
        match = comment.match(line.strip())
        if not match:
            continue
        rows, header = [], None
        for row in lines[i + 1:]:
            if not row.startswith('|'):
                break
            cells = [c.strip() for c in row.strip().strip('|').split('|')]
            if header is None:
                header = cells
            elif not all(set(c) <= set(':- ') for c in cells):
                rows.append(dict(zip(header, cells)))
        tables.append((match.group(1), rows))
    return tables
