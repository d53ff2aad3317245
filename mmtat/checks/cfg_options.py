"""``--cfg-options`` that refuse keys the config does not have.

mmengine's ``DictAction`` + ``Config.merge_from_dict`` add any key they are
given, so ``train_cfg.max_iter=10`` (for ``max_iters``) silently adds a key
nobody reads and the run trains 40k iterations.  Here every ``KEY=VALUE``
must name a key that exists in the config (dict keys, and list indices as
in ``train_dataloader.dataset.datasets.0.data_root``); a key that does not
is refused with the closest existing keys.  To add a key on purpose, write
it with a leading ``+``: ``+train_cfg.val_begin=1000``.  Values are parsed
exactly as mmengine's ``DictAction`` parses them.
"""
import argparse
import difflib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..utils.errors import InputError

__all__ = [
    'add_cfg_options_argument', 'parse_cfg_options', 'apply_cfg_options',
    'CFG_OPTIONS_HELP'
]

ADD_PREFIX = '+'

CFG_OPTIONS_HELP = (
    'override settings of the config: KEY=VALUE pairs, KEY a dotted path '
    'that exists in the config (list items by index, e.g. '
    'train_dataloader.dataset.datasets.0.data_root=...); a key the config '
    'does not have is refused, unless it is written +KEY=VALUE to add it on '
    'purpose. Lists: key="[a,b]" or key=a,b; nested lists/tuples: '
    'key="[(a,b),(c,d)]" (quotes needed, no white space).')


class _CollectOptions(argparse.Action):
    """Collects ``KEY=VALUE`` strings, refusing malformed ones with a usage
    message (argparse's own error: usage line, exit status 2)."""

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Sequence[str],
                 option_string: Optional[str] = None) -> None:
        collected = list(getattr(namespace, self.dest, None) or [])
        for item in values:
            key, sep, _ = item.partition('=')
            name = key[len(ADD_PREFIX):] if key.startswith(ADD_PREFIX) \
                else key
            if not sep or not name or any(
                    not part for part in name.split('.')):
                parser.error(
                    f'{option_string}: "{item}" is not KEY=VALUE; write '
                    'e.g. train_cfg.max_iters=1000 (or +KEY=VALUE to add a '
                    'key the config does not have)')
            collected.append(item)
        setattr(namespace, self.dest, collected)


def add_cfg_options_argument(parser: argparse.ArgumentParser) -> None:
    """The tools' ``--cfg-options KEY=VALUE ...`` argument."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=_CollectOptions,
        metavar='KEY=VALUE', help=CFG_OPTIONS_HELP)


def parse_cfg_options(items: Optional[Sequence[str]]
                      ) -> List[Tuple[str, Any, bool]]:
    """``[(key, value, add), ...]`` from ``KEY=VALUE`` / ``+KEY=VALUE``."""
    from mmengine.config import DictAction
    parsed = []
    for item in items or []:
        key, _, raw = item.partition('=')
        add = key.startswith(ADD_PREFIX)
        if add:
            key = key[len(ADD_PREFIX):]
        parsed.append((key, DictAction._parse_iterable(raw), add))
    return parsed


def _children(node: Any) -> Dict[str, Any]:
    if isinstance(node, dict):
        return {str(k): v for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return {str(i): v for i, v in enumerate(node)}
    return {}


def _all_keys(node: Any, prefix: str = '') -> Iterator[str]:
    for key, value in _children(node).items():
        path = f'{prefix}.{key}' if prefix else key
        yield path
        yield from _all_keys(value, path)


def _missing_part(cfg: Any, key: str) -> Optional[Tuple[str, str, Any]]:
    """None if ``key`` exists in ``cfg``, else ``(existing prefix, first
    missing part, node at the prefix)``."""
    node = cfg
    parts = key.split('.')
    for depth, part in enumerate(parts):
        children = _children(node)
        if part not in children:
            return '.'.join(parts[:depth]), part, node
        node = children[part]
    return None


def _suggest(cfg: Any, key: str, prefix: str, part: str,
             node: Any) -> List[str]:
    siblings = list(_children(node))
    close = difflib.get_close_matches(part, siblings, n=2, cutoff=0.7)
    rest = key.split('.')[len(prefix.split('.')) if prefix else 0:][1:]
    if close:
        return ['.'.join([p for p in [prefix, c] if p] + rest)
                for c in close]
    everything = list(_all_keys(cfg))
    return difflib.get_close_matches(key, everything, n=3, cutoff=0.75)


def unknown_key_message(cfg: Any, key: str) -> Optional[str]:
    """Why ``key`` cannot be set in ``cfg`` (None if it can)."""
    missing = _missing_part(cfg, key)
    if missing is None:
        return None
    prefix, part, node = missing
    where = f'"{prefix}"' if prefix else 'the top level'
    if not isinstance(node, (dict, list, tuple)):
        return (f'{key}: {prefix} is a {type(node).__name__} ({node!r}), '
                f'it has no "{part}"')
    if isinstance(node, (list, tuple)):
        return (f'{key}: {prefix} is a list of {len(node)} item(s), '
                f'"{part}" is not an index of it (0 to {len(node) - 1})')
    text = f'{key}: the config has no "{part}" in {where}'
    suggestions = _suggest(cfg, key, prefix, part, node)
    if suggestions:
        text += '; did you mean ' + ' or '.join(suggestions) + '?'
    return text


def apply_cfg_options(cfg: Any, items: Optional[Sequence[str]]) -> None:
    """Merge ``--cfg-options`` into ``cfg`` after checking every key.

    Args:
        cfg: the run's mmengine ``Config``.
        items: the ``KEY=VALUE`` / ``+KEY=VALUE`` strings.

    Raises:
        InputError: naming each key the config does not have, the closest
            existing keys, and ``+KEY=VALUE`` to add a key on purpose.
    """
    options = parse_cfg_options(items)
    if not options:
        return
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg
    problems = [
        text for key, _, add in options if not add
        for text in [unknown_key_message(tree, key)] if text
    ]
    if problems:
        raise InputError(
            '--cfg-options names key(s) that the config does not have, so '
            'they would be added without any effect: ' +
            '; '.join(problems) + '. Nothing was started. To add a new '
            'key on purpose, write it with a leading "+" (e.g. '
            '+train_cfg.val_begin=1000).')
    cfg.merge_from_dict({key: value for key, value, _ in options},
                        allow_list_keys=True)
