# Copyright (c) mmtat contributors. All rights reserved.
"""Validation of constructor arguments, with messages that name the value."""
from typing import Sequence, Tuple, Union

__all__ = ['as_pair', 'as_positive_int', 'as_non_negative']


def as_pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """An int or a length-2 sequence of positive ints, as a pair.

    Raises:
        TypeError: not an int or a pair of ints.
        ValueError: not positive.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise TypeError(f'{name} must be an int or a pair of ints, '
                        f'got {value!r}')
    if value[0] <= 0 or value[1] <= 0:
        raise ValueError(f'{name} must be positive, got {tuple(value)}')
    return int(value[0]), int(value[1])


def as_positive_int(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f'{name} must be an int, got {value!r}')
    if value <= 0:
        raise ValueError(f'{name} must be positive, got {value}')
    return value


def as_non_negative(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f'{name} must be a number, got {value!r}')
    if not value >= 0:  # also rejects NaN
        raise ValueError(f'{name} must be non-negative, got {value}')
    return float(value)
