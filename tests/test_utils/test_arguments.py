# Copyright (c) mmtat contributors. All rights reserved.
import math

import pytest

from mmtat.utils import as_non_negative, as_pair, as_positive_int


@pytest.mark.parametrize('value, expected', [
    (3, (3, 3)),
    ((2, 5), (2, 5)),
    ([4, 1], (4, 1)),
])
def test_as_pair_accepts_int_or_pair(value, expected):
    assert as_pair(value, 'grid') == expected


@pytest.mark.parametrize('value, error, message', [
    (True, TypeError, 'grid must be an int or a pair of ints, got True'),
    ((1, 2, 3), TypeError, 'grid must be an int or a pair of ints'),
    ((1.0, 2), TypeError, 'grid must be an int or a pair of ints'),
    ('ab', TypeError, "got 'ab'"),
    (0, ValueError, r'grid must be positive, got \(0, 0\)'),
    ((3, -1), ValueError, r'grid must be positive, got \(3, -1\)'),
])
def test_as_pair_names_the_bad_value(value, error, message):
    with pytest.raises(error, match=message):
        as_pair(value, 'grid')


def test_as_positive_int():
    assert as_positive_int(7, 'num_heads') == 7
    with pytest.raises(TypeError, match='num_heads must be an int, got 2.0'):
        as_positive_int(2.0, 'num_heads')
    with pytest.raises(TypeError, match='got False'):
        as_positive_int(False, 'num_heads')
    with pytest.raises(ValueError, match='num_heads must be positive, got 0'):
        as_positive_int(0, 'num_heads')


def test_as_non_negative():
    assert as_non_negative(0, 'w') == 0.0
    assert isinstance(as_non_negative(2, 'w'), float)
    with pytest.raises(ValueError, match='w must be non-negative, got -1'):
        as_non_negative(-1, 'w')
    with pytest.raises(ValueError, match='non-negative, got nan'):
        as_non_negative(math.nan, 'w')
    with pytest.raises(TypeError, match="w must be a number, got '1'"):
        as_non_negative('1', 'w')
