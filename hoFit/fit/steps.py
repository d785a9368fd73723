"""A fixed number of Adam steps on a loss of static shape, replayed as one CUDA graph per step on a GPU.

A fit of many small steps is bound by the host on a GPU: each step launches hundreds of tiny kernels, one
Python call each. When the loss has the same shapes at every step and never reads a value back to the
host (the hand initialization's loops), one step (forward, backward, optimizer update) can be captured
once as a CUDA graph and replayed: the same arithmetic, one launch per step. Elsewhere (CPU, or a capture
that fails) the same steps run eagerly.
"""

from __future__ import annotations

import logging
from typing import Callable

import torch

__all__ = ["adam_steps"]

logger = logging.getLogger(__name__)

# Eager steps before the capture: they warm up the allocator and autograd on a side stream (as the CUDA
# graph documentation asks) and count as ordinary steps.
WARMUP_STEPS = 3


def adam_steps(
    loss_fn: Callable[[], torch.Tensor], param_groups: list[dict], iterations: int, cuda_graph: bool = True
) -> None:
    """Run ``iterations`` Adam steps minimizing ``loss_fn()`` (a scalar) in place on ``param_groups``.

    Args:
        loss_fn: builds the loss from the parameters; on the graph path it must keep its shapes and not
            synchronize with the host (no ``.item()``, ``bool(tensor)``, ``nonzero``).
        param_groups: ``torch.optim.Adam`` parameter groups (leaf tensors with ``requires_grad``).
        iterations: number of steps.
        cuda_graph: on CUDA tensors, capture one step as a CUDA graph after `WARMUP_STEPS` eager steps and
            replay it for the rest; the result equals the eager loop's up to floating-point reordering.
    """
    params = [p for group in param_groups for p in group["params"]]
    on_cuda = bool(params) and params[0].is_cuda
    use_graph = cuda_graph and on_cuda and iterations > WARMUP_STEPS
    optimizer = torch.optim.Adam(param_groups, capturable=use_graph)

    def step() -> None:
        optimizer.zero_grad(set_to_none=False)
        loss_fn().backward()
        optimizer.step()

    if not use_graph:
        for _ in range(iterations):
            step()
        return
    side = torch.cuda.Stream(device=params[0].device)
    side.wait_stream(torch.cuda.current_stream(params[0].device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_STEPS):
            step()
    torch.cuda.current_stream(params[0].device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            step()  # recorded, not run
    except RuntimeError as error:  # a capture runs nothing: the remaining steps run eagerly from here
        logger.warning("CUDA graph capture failed (%s); running %d steps eagerly", error, iterations - WARMUP_STEPS)
        for _ in range(iterations - WARMUP_STEPS):
            step()
        return
    for _ in range(iterations - WARMUP_STEPS):
        graph.replay()
