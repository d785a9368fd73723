"""Private helpers shared by the metric modules: input conversion and chunked nearest neighbours."""

from __future__ import annotations

import numpy as np
import torch

# Upper bound on the number of pairwise distances held in memory at once by the nearest-neighbour helper.
_MAX_PAIRS = 16_000_000


def as_tensor(x, name: str, trailing: tuple[int | None, ...] = (), min_dim: int | None = None) -> torch.Tensor:
    """Convert a numpy array / tensor / nested list to a floating tensor and check its trailing shape.

    ``trailing`` lists the expected sizes of the last dimensions (``None`` = any size). Integer and
    boolean inputs become float64 (numpy) or the default dtype (torch); floating inputs keep their dtype.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(x))
    else:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if not t.is_floating_point():
        t = t.to(torch.float64)
    need = max(len(trailing), min_dim or 0)
    if t.dim() < need:
        raise ValueError(f"{name}: expected at least {need} dimensions ending in {_fmt(trailing)}, "
                         f"got shape {tuple(t.shape)}")
    if trailing:
        got = tuple(t.shape[t.dim() - len(trailing):])
        if any(e is not None and e != g for e, g in zip(trailing, got)):
            raise ValueError(f"{name}: expected shape (..., {_fmt(trailing)[1:-1]}), got {tuple(t.shape)}")
    return t


def as_bool(x, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Convert a mask to a boolean tensor of exactly ``shape`` (broadcasting is not applied)."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(t.shape)}")
    return t.bool() if t.dtype != torch.bool else t


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; pass predictions and ground truth for the same frames and points")


def _fmt(trailing: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("*" if s is None else str(s) for s in trailing) + ")"


def nearest_distances(query: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Distance from every query point to its nearest reference point (brute force, chunked).

    Args:
        query: (..., N, 3) points.
        reference: (..., M, 3) points with the same leading dimensions (M >= 1).

    Returns:
        (..., N) Euclidean distances, same units as the inputs.
    """
    lead = query.shape[:-2]
    if reference.shape[:-2] != lead:
        raise ValueError(f"query {tuple(query.shape)} and reference {tuple(reference.shape)} must share leading dims")
    if reference.shape[-2] == 0:
        raise ValueError("reference point set is empty; nearest distances are undefined")
    q = query.reshape(-1, query.shape[-2], query.shape[-1])
    r = reference.reshape(-1, reference.shape[-2], reference.shape[-1]).to(q.dtype)
    batch, n, m = q.shape[0], q.shape[1], r.shape[1]
    chunk = max(1, _MAX_PAIRS // max(1, batch * m))
    out = []
    for start in range(0, n, chunk):
        d = torch.cdist(q[:, start:start + chunk], r, compute_mode="donot_use_mm_for_euclid_dist")
        out.append(d.min(dim=-1).values)
    result = torch.cat(out, dim=1) if out else q.new_zeros(batch, 0)
    return result.reshape(*lead, n)
