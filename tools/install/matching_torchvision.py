"""The torchvision release made for a torch release (``install_stack.sh``).

``python tools/install/matching_torchvision.py`` prints the pip requirement
of the torchvision that matches the installed torch (e.g. ``0.29.*`` for
torch 2.14.1), or nothing when no rule is known for that torch.
"""
from typing import Optional


def matching_torchvision(torch_version: str) -> Optional[str]:
    """``'0.<minor + 15>.*'`` for torch ``2.<minor>`` (torchvision 0.15 came
    with torch 2.0, 0.28 with 2.13, 0.29 with 2.14), else None."""
    release = torch_version.split('+')[0]
    try:
        major, minor = (int(part) for part in release.split('.')[:2])
    except ValueError:
        return None
    if major != 2:
        return None
    return f'0.{minor + 15}.*'


if __name__ == '__main__':
    import torch
    print(matching_torchvision(torch.__version__) or '')
