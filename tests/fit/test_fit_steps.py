"""adam_steps: the same steps as a plain Adam loop; on a GPU, replayed CUDA graphs give the eager result."""

from __future__ import annotations

import logging

import pytest
import torch

from hoFit.fit.steps import WARMUP_STEPS, adam_steps
from hoFit.geometry.cameras import project_points
from hoFit.models.hand.layer import create_hand_layer


def _quadratic_problem(device):
    x = torch.tensor([1.0, -2.0, 0.5], device=device, requires_grad=True)
    y = torch.tensor([0.3], device=device, requires_grad=True)
    target = torch.tensor([3.0, 1.0, -1.0], device=device)
    return x, y, lambda: (x - target).pow(2).sum() + (y - 2.0).pow(2).sum() * x.pow(2).sum()


def test_adam_steps_equals_a_plain_adam_loop_on_cpu():
    x, y, loss = _quadratic_problem("cpu")
    x_ref, y_ref, loss_ref = _quadratic_problem("cpu")
    adam_steps(loss, [{"params": [x], "lr": 0.1}, {"params": [y], "lr": 0.01}], 25)
    optimizer = torch.optim.Adam([{"params": [x_ref], "lr": 0.1}, {"params": [y_ref], "lr": 0.01}])
    for _ in range(25):
        optimizer.zero_grad()
        loss_ref().backward()
        optimizer.step()
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
    assert not torch.equal(x, torch.tensor([1.0, -2.0, 0.5]))  # it moved


def test_adam_steps_minimizes_a_quadratic():
    x = torch.zeros(3, requires_grad=True)
    target = torch.tensor([0.2, -0.4, 0.1])
    adam_steps(lambda: (x - target).pow(2).sum(), [{"params": [x], "lr": 0.02}], 400)
    torch.testing.assert_close(x.detach(), target, atol=1e-3, rtol=0)


def _keypoint_problem(device, seed=0):
    """A batch of hands pulled towards random keypoints: the hand initialization's kind of loss."""
    generator = torch.Generator().manual_seed(seed)
    layer = create_hand_layer("openhand", side="right", num_pca_comps=10).to(device)
    B = 12
    orient = (0.3 * torch.randn(B, 3, generator=generator)).to(device).requires_grad_(True)
    pca = torch.zeros(B, 10, device=device, requires_grad=True)
    transl = torch.tensor([0.0, 0.0, 0.5]).repeat(B, 1).to(device).requires_grad_(True)
    K = torch.tensor([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]], device=device)
    target = (torch.rand(B, 21, 2, generator=generator) * 200 + 200).to(device)

    def loss():
        out = layer(global_orient=orient, articulation=pca, transl=transl)
        error = (project_points(out.keypoints, K) - target).norm(dim=-1) / 100.0
        return error.pow(2).mean() + 1e-3 * pca.pow(2).sum()

    groups = [{"params": [orient, pca], "lr": 0.05}, {"params": [transl], "lr": 0.005}]
    return (orient, pca, transl), loss, groups


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_replay_matches_eager_steps(caplog):
    iterations = 30
    graphed, loss, groups = _keypoint_problem("cuda")
    with caplog.at_level(logging.WARNING, logger="hoFit.fit.steps"):
        adam_steps(loss, groups, iterations, cuda_graph=True)
    assert not caplog.records, "the capture fell back to eager steps"
    eager, loss, groups = _keypoint_problem("cuda")
    adam_steps(loss, groups, iterations, cuda_graph=False)
    start, _, _ = _keypoint_problem("cuda")
    for g, e, s in zip(graphed, eager, start):
        assert (e - s).abs().max() > 1e-3  # the steps after the warm-up moved the parameters
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)
    assert iterations > WARMUP_STEPS
