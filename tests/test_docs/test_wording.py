"""The Markdown files describe the software, not how it was made: no
sentence speaks of sessions, rounds, issues, goals met or missed, "this
project's machine", what "was lent", or numbered fixes.  The raw output
under docs/results/ is left as its tools wrote it."""
import re

from docs_markdown import read, repo_markdown_files

#: Case-insensitive.  "session" is allowed where it is pytest's fixture
#: scope: "session-scoped", "session fixture", scope='session'.
MAKING_OF = re.compile(
    r"""\bsessions?\b(?![-\s]*(?:scoped?|fixtures?)\b|['"])
      | \bround\s+[0-9]
      | \bthis\s+project[’']s\s+machine
      | \bwas\s+lent\b
      | \bthe\s+issue\b
      | \bgoals?\s+(?:is\s+|was\s+)?(?:met|missed)\b
      | \bfix\s+[0-9]""", re.IGNORECASE | re.VERBOSE)


def making_of(text: str):
    """(line number, matched words) of every match; a sentence may run
    over several lines."""
    flat = text.replace('\n', ' ')
    for match in MAKING_OF.finditer(flat):
        yield text.count('\n', 0, match.start()) + 1, match.group(0)


def test_pattern_keeps_pytest_scope_wording_and_finds_the_rest():
    allowed = ('a session-scoped fixture', 'a session fixture',
               "@pytest.fixture(scope='session')", 'the goals of TaT',
               'a prefix 0.5', 'issues of mmengine: open-mmlab/mmengine#1655')
    for text in allowed:
        assert not list(making_of(text)), text
    found = ('in the previous session', 'sessions so far', 'round 1',
             "this project's machine", "this project's\nmachine",
             'no GPU was lent', 'the issue asks', 'The goal is met',
             'goal missed', 'fix 5')
    for text in found:
        assert list(making_of(text)), text


def test_markdown_files_speak_of_the_software_only():
    files = [p for p in repo_markdown_files()
             if not p.startswith('docs/results/')]
    assert 'README.md' in files
    offending = [f'{path}:{line}: {words!r}' for path in files
                 for line, words in making_of(read(path))]
    assert not offending, ('sentences about how the project was made '
                           '(state facts of the software instead):\n' +
                           '\n'.join(offending))
