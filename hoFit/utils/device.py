"""Choosing the compute device from a user setting."""

from __future__ import annotations

import torch

from hoFit.errors import HoFitError

__all__ = ["resolve_device"]


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` as given.

    Raises `HoFitError` when CUDA is asked for but not available, instead of failing later.
    """
    if isinstance(name, torch.device):
        return name
    name = str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise HoFitError(f"device '{name}': expected auto, cpu or cuda[:N]") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HoFitError(f"device '{name}' was asked for but CUDA is not available here; use --device cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise HoFitError(f"device '{name}': expected auto, cpu or cuda[:N]")
    return device
