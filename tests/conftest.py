"""Root of the test suite.  Its presence puts ``tests/`` on ``sys.path``
(pytest's default ``prepend`` import mode), so helpers shared by several
test folders, such as ``toy_runner.py``, import by name."""
