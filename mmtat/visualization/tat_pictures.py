# Copyright (c) mmtat contributors. All rights reserved.
"""Pictures of what TaT matches: attention over the student map for chosen
target positions, and PCA colourings of the features.

For every TaT loss of a distillation algorithm (``TaTDistiller`` pairs or
``TaTLoss`` in a ``ConfigurableDistiller``), :func:`inspect_tat` runs teacher
and student on one image and asks the loss to :meth:`reconfigure
<mmtat.models.TaTLoss.reconfigure>` the student; :func:`draw_tat_pictures`
writes for each pair

* ``<pair>_attention.png``: one row per chosen position of the teacher map
  (the position whose teacher feature the reconfigured student must
  reproduce): the image with the position, then the weights with which that
  position gathers the student's values in the patch-group branch (inside
  the patches of its group) and in the anchor branch (over all anchors),
  overlaid on the image;
* ``<pair>_pca.png``: the image and the first three principal components of
  the teacher feature, the student feature and the reconfigured student (in
  the teacher's basis, so that teacher and reconfigured student compare
  colour for colour), as RGB.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'prepare_image', 'inspect_tat', 'pca_colours', 'patch_attention_map',
    'anchor_attention_map', 'draw_tat_pictures'
]


def prepare_image(path: str, preprocessor: Any,
                  size: Sequence[int]) -> Tuple[np.ndarray, Tensor]:
    """Read an image, fit it into ``size`` (keeping its aspect ratio, padded
    at the bottom/right as the training pre-processor pads) and normalise it
    as ``preprocessor`` (an MMSegmentation ``SegDataPreProcessor``) does.

    Returns:
        ``(rgb uint8 (H, W, 3) of the fitted image, unpadded;
        inputs (1, 3, size[0], size[1]))``.
    """
    import mmcv
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path} does not exist')
    bgr = mmcv.imread(path, channel_order='bgr')
    if bgr is None:
        raise ValueError(f'{path} is not an image mmcv can read')
    height, width = int(size[0]), int(size[1])
    bgr = mmcv.imrescale(bgr, (width, height))  # fits inside, keeps ratio
    bgr = bgr[:height, :width]
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    pixels = rgb if getattr(preprocessor, 'channel_conversion', True) else bgr
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)
    x = x.float()
    mean = getattr(preprocessor, 'mean', None)
    std = getattr(preprocessor, 'std', None)
    if mean is not None and std is not None:
        x = (x - mean.cpu().view(-1, 1, 1)) / std.cpu().view(-1, 1, 1)
    padded = x.new_full((3, height, width),
                        float(getattr(preprocessor, 'pad_val', 0)))
    padded[:, :x.shape[1], :x.shape[2]] = x
    return rgb, padded.unsqueeze(0)


@torch.no_grad()
def inspect_tat(model: Any, inputs: Tensor) -> Dict[str, dict]:
    """Run teacher and student of a distillation algorithm on ``inputs``
    (eval mode) and reconfigure the student with each TaT loss.

    Returns:
        dict: loss name -> ``dict(preds_S, preds_T, **loss.reconfigure())``
        (features as the loss receives them, batch first).
    """
    from mmtat.models import TaTLoss
    distiller = model.distiller
    losses = {
        name: loss
        for name, loss in distiller.distill_losses.items()
        if isinstance(loss, TaTLoss)
    }
    if not losses:
        raise ValueError('the model\'s distiller has no TaT loss to inspect')
    training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        inputs = inputs.to(device)
        with distiller.teacher_recorders, distiller.student_recorders:
            model.teacher(inputs, mode='tensor')
            model.student(inputs, mode='tensor')
        results = {}
        for name, loss in losses.items():
            mapping = distiller.loss_forward_mappings[name]
            preds_s = distiller.get_record(**mapping['preds_S'])
            preds_t = distiller.get_record(**mapping['preds_T'])
            out = loss.reconfigure(preds_s, preds_t)
            if tuple(preds_s.shape[2:]) != tuple(preds_t.shape[2:]):
                preds_s = F.interpolate(
                    preds_s, size=preds_t.shape[2:], mode='bilinear',
                    align_corners=False)
            out.update(
                preds_S=preds_s,
                preds_T=preds_t,
                input_size=tuple(inputs.shape[2:]))
            results[name] = out
    finally:
        model.train(training)
    return results


def pca_colours(feature: Tensor,
                basis: Optional[Tensor] = None
                ) -> Tuple[np.ndarray, Tensor]:
    """Colour a ``(C, H, W)`` feature by its first three principal
    components over the positions.

    Args:
        feature: the map.
        basis: ``(mean (C,), components (C, 3), low (3,), high (3,))`` of
            another feature of the same channels to project onto instead
            (returned by a previous call), so that two maps share colours.

    Returns:
        ``(rgb uint8 (H, W, 3), basis)``.
    """
    c, h, w = feature.shape
    x = feature.detach().double().reshape(c, -1).t().cpu()  # (HW, C)
    if basis is None:
        mean = x.mean(0)
        centred = x - mean
        # principal directions from the SVD of the centred positions
        _, _, vh = torch.linalg.svd(centred, full_matrices=False)
        components = vh[:3].t()
        if components.size(1) < 3:  # fewer than 3 channels or positions
            pad = components.new_zeros(c, 3 - components.size(1))
            components = torch.cat([components, pad], 1)
        proj = centred @ components
        # robust range: 1st-99th percentile per component
        low = torch.quantile(proj, 0.01, dim=0)
        high = torch.quantile(proj, 0.99, dim=0)
        basis = (mean, components, low, high)
    mean, components, low, high = basis
    proj = (x - mean) @ components
    scaled = ((proj - low) / (high - low).clamp(min=1e-12)).clamp(0, 1)
    rgb = (scaled.reshape(h, w, 3).numpy() * 255).round().astype(np.uint8)
    return rgb, basis


def _heads_of_patch(patch: int, channels: int, per_head: int) -> range:
    """Heads whose channels hold part of ``patch`` (patch-major stacking)."""
    return range(patch * channels // per_head,
                 ((patch + 1) * channels - 1) // per_head + 1)


def _patches_of_head(head: int, channels: int, per_head: int) -> range:
    return range(head * per_head // channels,
                 ((head + 1) * per_head - 1) // channels + 1)


def patch_attention_map(attention: Tensor, geometry: Any, channels: int,
                        map_size: Sequence[int],
                        position: Sequence[int]) -> Optional[np.ndarray]:
    """Where the patch-group branch gathers from for one target position.

    Args:
        attention: ``(heads, L, L)`` of one image (``patch_attention[b]``).
        geometry: the loss's :class:`~mmtat.models.losses.TaTGeometry`.
        channels: the teacher's channels (the stacking unit of a patch).
        map_size: ``(H, W)`` of the teacher map.
        position: ``(y, x)`` on the teacher map.

    Returns:
        ``(H, W)`` weights (each copy of a within-patch position in the
        group's patches carries its weight), or None for a position in the
        rows/columns the tiling drops.
    """
    (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
    y, x = int(position[0]), int(position[1])
    if y >= nh * ph or x >= nw * pw:
        return None
    heads = attention.shape[0]
    per_head = nh * nw * channels // heads
    patch = (y // ph) * nw + x // pw
    row = (y % ph) * pw + x % pw
    head_ids = list(_heads_of_patch(patch, channels, per_head))
    weights = attention[head_ids, row].double().mean(0).reshape(ph, pw)
    out = np.zeros(tuple(map_size), dtype=np.float64)
    patches = sorted({p for h in head_ids
                      for p in _patches_of_head(h, channels, per_head)})
    for p in patches:
        py, px = divmod(p, nw)
        out[py * ph:(py + 1) * ph, px * pw:(px + 1) * pw] = weights.cpu()
    return out


def anchor_attention_map(attention: Tensor, geometry: Any,
                         map_size: Sequence[int],
                         position: Sequence[int]) -> Optional[np.ndarray]:
    """Where the anchor branch gathers from for one target position:
    ``(H, W)`` (each anchor's window carries its weight), or None for a
    position outside the pooled region."""
    (wh, ww), (ah, aw) = geometry.anchor_window, geometry.anchor_counts
    y, x = int(position[0]), int(position[1])
    if y >= ah * wh or x >= aw * ww:
        return None
    row = (y // wh) * aw + x // ww
    weights = attention[0, row].double().reshape(ah, aw).cpu().numpy()
    out = np.zeros(tuple(map_size), dtype=np.float64)
    out[:ah * wh, :aw * ww] = np.kron(weights, np.ones((wh, ww)))
    return out


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(image)).double()
    if t.dim() == 2:
        t = t[None, None]
    else:
        t = t.permute(2, 0, 1)[None]
    t = F.interpolate(t, size=(height, width), mode='nearest')
    t = t[0].permute(1, 2, 0) if image.ndim == 3 else t[0, 0]
    return t.numpy()


def _overlay(ax, rgb: np.ndarray, weights: Optional[np.ndarray],
             marker: Tuple[float, float], title: str) -> None:
    ax.imshow(rgb)
    if weights is None:
        ax.set_title(f'{title}\n(position not tiled)', fontsize=8)
    else:
        h, w = rgb.shape[:2]
        big = _resize(weights / max(weights.max(), 1e-12), h, w)
        ax.imshow(big, cmap='inferno', alpha=0.6, vmin=0, vmax=1)
        ax.set_title(f'{title}\nmax weight {weights.max():.3f}', fontsize=8)
    ax.plot(marker[1], marker[0], marker='+', color='cyan', markersize=12,
            markeredgewidth=2)
    ax.set_axis_off()


def draw_tat_pictures(rgb: np.ndarray, inspection: Dict[str, dict],
                      out_dir: str,
                      positions: Sequence[Tuple[float, float]] = (
                          (0.5, 0.5), (0.3, 0.3), (0.7, 0.7)),
                      title: str = '') -> Dict[str, List[str]]:
    """Write the pictures of :func:`inspect_tat`'s result for image ``rgb``
    (the fitted, unpadded image) into ``out_dir``.

    Args:
        positions: ``(y, x)`` fractions of the image of the target
            positions to show.

    Returns:
        dict: loss name -> the files written.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    img_h, img_w = rgb.shape[:2]
    written: Dict[str, List[str]] = {}
    for name, result in inspection.items():
        pair = name[len('loss_tat_'):] if name.startswith('loss_tat_') \
            else name
        preds_t, preds_s = result['preds_T'][0], result['preds_S'][0]
        channels, map_h, map_w = preds_t.shape
        # the map covers the padded input; the image its top-left part
        pad_h, pad_w = result['input_size']
        scale_y, scale_x = map_h / pad_h, map_w / pad_w
        seen = (max(1, round(img_h * scale_y)), max(1, round(img_w * scale_x)))
        geometry = result['geometry']
        files = []

        rows = len(positions)
        fig, axes = plt.subplots(rows, 3, figsize=(9, 3 * rows),
                                 squeeze=False)
        for r, (fy, fx) in enumerate(positions):
            py, px = fy * (img_h - 1), fx * (img_w - 1)
            pos = (min(int(py * scale_y), map_h - 1),
                   min(int(px * scale_x), map_w - 1))
            ax = axes[r][0]
            ax.imshow(rgb)
            ax.plot(px, py, marker='+', color='cyan', markersize=12,
                    markeredgewidth=2)
            ax.set_title(f'target position {pos} of {map_h}x{map_w}',
                         fontsize=8)
            ax.set_axis_off()
            for col, (branch, maker) in enumerate(
                (('patch', lambda a: patch_attention_map(
                    a, geometry, channels, (map_h, map_w), pos)),
                 ('anchor', lambda a: anchor_attention_map(
                     a, geometry, (map_h, map_w), pos))), 1):
                attention = result.get(f'{branch}_attention')
                ax = axes[r][col]
                if attention is None:
                    ax.set_axis_off()
                    ax.set_title(f'{branch} branch: weight 0', fontsize=8)
                    continue
                weights = maker(attention[0])
                if weights is not None:
                    # map rows/cols over the padding are not shown
                    weights = weights[:seen[0], :seen[1]]
                _overlay(ax, rgb, weights, (py, px),
                         f'{branch}-group attention' if branch == 'patch'
                         else 'anchor attention')
        fig.suptitle(f'{title} {pair}: where each target position gathers '
                     'the student\'s values', fontsize=9)
        fig.tight_layout()
        path = osp.join(out_dir, f'{pair}_attention.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files.append(path)

        teacher_rgb, basis = pca_colours(preds_t[:, :seen[0], :seen[1]])
        student_rgb, _ = pca_colours(preds_s[:, :seen[0], :seen[1]])
        panels = [('image', rgb), ('teacher feature', teacher_rgb),
                  ('student feature', student_rgb)]
        output = result.get('patch_output')
        label = 'reconfigured student (patch branch)'
        if output is None:
            output = result['anchor_output']
            label = 'reconfigured student (anchor branch)'
            output = F.interpolate(output, size=(map_h, map_w),
                                   mode='nearest')
        output = output[0]
        full = output.new_zeros(output.shape[0], map_h, map_w)
        full[:, :output.shape[1], :output.shape[2]] = output
        recon_rgb, _ = pca_colours(full[:, :seen[0], :seen[1]], basis)
        panels.append((label + ',\nteacher\'s PCA basis', recon_rgb))
        fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
        for ax, (caption, picture) in zip(axes, panels):
            ax.imshow(picture, interpolation='nearest')
            ax.set_title(caption, fontsize=8)
            ax.set_axis_off()
        fig.suptitle(f'{title} {pair}: first three principal components',
                     fontsize=9)
        fig.tight_layout()
        path = osp.join(out_dir, f'{pair}_pca.png')
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files.append(path)
        written[name] = files
    return written
