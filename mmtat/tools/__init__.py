"""mmtat's command-line tools, importable from an installed package.

Each module has ``main(argv=None)`` and runs as ``python -m
mmtat.tools.<name> ...``; the repository's ``tools/<name>.py`` (also shipped
as ``mmtat/.mim/tools``) are thin entry points that call it, so both command
lines are the same program.  Nothing is imported here: ``python -m`` loads
only the tool that runs.
"""
