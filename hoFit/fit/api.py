"""Fit a clip from Python: ``result = fit_clip(clip, config)``.

Pipeline: targets from the clip's cues -> hand initialization from 2D keypoints -> object pose search
-> stages of joint optimization -> `FitResult`. Resuming from a saved result skips the initialization
and the stages already done.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from hoFit.config.core import to_dict
from hoFit.config.schema import Config
from hoFit.errors import HoFitError
from hoFit.fit.handedness import merge_mislabeled_hands
from hoFit.fit.init_hand import initialize_hand
from hoFit.fit.init_object import initialize_object
from hoFit.fit.optimize import run_stage
from hoFit.fit.problem import FitParameters, build_fit_data, pose_scene, scale_hand_output
from hoFit.fit.result import FitResult, HandTrack, ObjectTrack
from hoFit.geometry.rotations import matrix_to_axis_angle, matrix_to_rotation_6d, rotation_6d_to_matrix, to_matrix
from hoFit.utils.device import resolve_device

__all__ = ["prepare_template", "fit_clip"]

logger = logging.getLogger(__name__)


def prepare_template(clip, config: Config):
    """The clip's object template at the clip's metric scale (decimated per the config), and the extra
    scale factor that ``object.scale`` asks for relative to the clip's (1.0 when unset)."""
    template = clip.load_template(max_faces=config.object.max_faces)
    relative = 1.0 if config.object.scale is None else float(config.object.scale) / float(clip.object_scale)
    return template, relative


def _pca_from_axis_angle(layer, articulation: torch.Tensor) -> torch.Tensor:
    """Least-squares PCA coefficients (T, C) of a (T, 45) articulation that includes the mean pose."""
    centred = articulation - layer.hands_mean
    components = layer.hands_components  # (C, 45)
    return torch.linalg.lstsq(components.T, centred.T).solution.T


def fit_clip(
    clip,
    config: Config | None = None,
    progress: bool = True,
    callback: Callable | None = None,
    resume: FitResult | str | Path | None = None,
    start_stage: int | None = None,
) -> FitResult:
    """Fit hands and object to every frame of ``clip``.

    Args:
        clip: a `hoFit.data.clip.Clip` with hand keypoints and object masks and/or boxes.
        config: a `Config` (defaults to the built-in defaults).
        progress: show progress bars.
        callback: called as ``callback(stage, iteration, hand_vertices, object_vertices)`` after every step
            (e.g. a fitting-progress video recorder).
        resume: a saved result (or its directory) to continue from: its parameters replace the
            initialization, and stages before ``start_stage`` are skipped.
        start_stage: first stage to run when resuming (default: all stages after the saved ones, i.e.
            the number of stages recorded in the saved loss history).

    Returns:
        The `FitResult`.
    """
    from hoFit.models.hand import hand_layer_from_config
    from hoFit.models.objects import sdf_grid

    config = config or Config()
    device = resolve_device(config.device)
    dtype = torch.float32
    generator = torch.Generator().manual_seed(config.seed)
    fit_cfg = config.fit
    timings: dict[str, float] = {}
    events: list[str] = []
    if not clip.hands:
        raise HoFitError(f"clip '{clip.name}' has no hand cues; hoFit needs at least one hand's 2D keypoints")
    hands, merged = merge_mislabeled_hands(list(clip.hands), fit_cfg.mislabeled_hand_fraction)
    if merged:
        events.append(merged)
        clip = dataclasses.replace(clip, hands=hands, ground_truth=None)  # the fit never reads it
    if len(clip.hands) > 2:
        raise HoFitError(f"clip '{clip.name}' has {len(clip.hands)} hands; hoFit fits one or two")

    phase = _PhaseTimer(timings)
    phase.start("setup")
    template, base_scale = prepare_template(clip, config)
    object_vertices, object_faces = template.to_torch(device=device, dtype=dtype)
    sdf = sdf_grid(template, resolution=fit_cfg.sdf_resolution).to(device=device, dtype=dtype).query
    layers = [hand_layer_from_config(config.hand, side=hand.side).to(device) for hand in clip.hands]
    data = build_fit_data(clip, fit_cfg.roi_resolution, fit_cfg.roi_scale, device, dtype, config.silhouette)
    phase.stop()
    T = clip.num_frames
    num_pca = config.hand.num_pca_comps

    if isinstance(resume, (str, Path)):
        resume = FitResult.load(resume)
    if resume is not None:
        if resume.num_frames != T or len(resume.hands) != len(clip.hands):
            raise HoFitError(
                f"cannot resume: the saved result has {resume.num_frames} frames and {len(resume.hands)} hands, "
                f"the clip {T} frames and {len(clip.hands)} hands"
            )
        params = _params_from_result(resume, layers, base_scale * clip.object_scale, device, dtype)
        first_stage = start_stage if start_stage is not None else len(resume.losses)
        losses = dict(resume.losses)
        timings.update({k: v for k, v in resume.timings.items() if k not in timings})
        hand_missing = [torch.as_tensor(h.missing, device=device) for h in resume.hands]
    else:
        first_stage = 0
        losses = {}
        phase.start("init_hand")
        hand_inits = []
        for hand, layer in zip(data.hands, layers):
            hand_inits.append(
                initialize_hand(
                    layer, hand.keypoints, hand.confidence, hand.present, data.K, fit_cfg.hand_init, num_pca, generator
                )
            )
        phase.stop()
        for i, h in enumerate(hand_inits):
            if h.size_factor != 1.0:
                events.append(f"hand {i}: size factor {h.size_factor:.3f} undoes the keypoint noise's depth bias")
        phase.start("init_object")
        with torch.no_grad():  # the initial hands, posed once for the object search and the track choice
            init_outputs = [
                scale_hand_output(
                    layer(global_orient=h.global_orient, articulation=h.articulation, transl=h.transl),
                    torch.tensor(h.size_factor, device=device, dtype=dtype),
                )
                for layer, h in zip(layers, hand_inits)
            ]
        holding = wrist = None
        search_mesh = None
        if fit_cfg.object_init.search_max_faces is not None:
            coarse = template.decimated(fit_cfg.object_init.search_max_faces)
            if coarse is not template:
                coarse_vertices, coarse_faces = coarse.to_torch(device=device, dtype=dtype)
                search_mesh = (coarse_vertices * base_scale, coarse_faces)
        if fit_cfg.object_init.hand_relative:
            holding = rotation_6d_to_matrix(hand_inits[0].global_orient)
            wrist = init_outputs[0].keypoints[:, 0]
        obj_init = initialize_object(
            object_vertices * base_scale, object_faces, data.object_distance, data.object_valid, data.object_boxes,
            data.object_present, data.K, fit_cfg.object_init, config.silhouette.sigma_px, fit_cfg.roi_scale, generator,
            hand_rotations=holding, hand_positions=wrist,
            hand=_hand_contact(init_outputs[0], layers[0], sdf, fit_cfg.object_init, base_scale),
            search_mesh=search_mesh,
        )
        rotation, translation = _choose_object_track(
            obj_init, init_outputs, layers, sdf, fit_cfg.object_init, events, base_scale
        )
        phase.stop()
        params = FitParameters(
            hand_orient=[h.global_orient.clone() for h in hand_inits],
            hand_pca=[h.articulation.clone() for h in hand_inits],
            hand_betas=[h.betas[None].clone() for h in hand_inits],
            hand_transl=[h.transl.clone() for h in hand_inits],
            object_rot=matrix_to_rotation_6d(rotation).clone(),
            object_transl=translation.clone(),
            object_log_scale=torch.zeros(1, device=device, dtype=dtype),
            hand_log_scale=[torch.full((1,), math.log(h.size_factor), device=device, dtype=dtype) for h in hand_inits],
        )
        hand_missing = [h.missing for h in hand_inits]
        for i, h in enumerate(hand_inits):
            if bool(h.missing.any()):
                events.append(f"hand {i}: frames {torch.nonzero(h.missing).flatten().tolist()} interpolated (no usable keypoints)")
        if not bool(data.object_present.all()):
            missing = torch.nonzero(~data.object_present).flatten().tolist()
            events.append(f"object: frames {missing} have no cue; their pose is driven by smoothness and the hand")

    for index, stage in enumerate(fit_cfg.stages):
        if index < first_stage:
            continue
        phase.start(stage.name)
        if "hand_scale" in stage.optimize:
            residual = functools.partial(
                _object_silhouette_residual, faces=object_faces, data=data, settings=config.silhouette
            )
            _size_hands(params, layers, object_vertices, base_scale, sdf, fit_cfg.object_init, events, stage.name, residual)
        losses[stage.name] = run_stage(
            stage, params, data, layers, object_vertices, object_faces, sdf, base_scale, config.silhouette,
            fit_cfg.keypoint_robust_sigma, fit_cfg.contact_distance, fit_cfg.keypoint_normalizer,
            fit_cfg.smoothness_order, fit_cfg.log_every, progress, callback, events,
        )
        phase.stop()

    result = _build_result(clip, config, params, layers, object_vertices, object_faces, base_scale, template, hand_missing, data)
    result.losses = losses
    result.timings = timings
    result.log = events
    for event in events:
        logger.info(event)
    return result


class _PhaseTimer:
    """Wall time of the fit's phases into ``timings`` (seconds), each phase also a ``torch.profiler`` range
    named ``hofit.<phase>`` so that a profile can be split by phase (benchmarks/profile_fit.py)."""

    def __init__(self, timings: dict[str, float]):
        self.timings = timings
        self._name: str | None = None

    def start(self, name: str) -> None:
        self._name, self._start = name, time.perf_counter()
        self._range = torch.profiler.record_function(f"hofit.{name}")
        self._range.__enter__()

    def stop(self) -> None:
        self._range.__exit__(None, None, None)
        self.timings[self._name] = time.perf_counter() - self._start


def _hand_contact(out, layer, sdf, config, scale: float = 1.0):
    """The first hand's initial contact regions (``out``: its posed `HandOutput`) as evidence for the object
    search (None if the weight is 0)."""
    from hoFit.fit.init_object import HandContact
    from hoFit.fit.interaction_select import contact_regions

    if config.contact_weight <= 0:
        return None
    ids, regions = contact_regions(layer)
    ids, regions = ids.to(out.vertices.device), regions.to(out.vertices.device)
    return HandContact(
        contact=out.vertices[:, ids], regions=regions, hand=out.vertices[:, ::4], sdf=sdf,
        touching_regions=config.touching_regions, weight=config.contact_weight, scale=scale,
    )


def _choose_object_track(
    obj_init, outputs, layers, sdf, config, events, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The object track to start from: the best mask IoU, or among near-ties the one the hand holds best.
    ``outputs``: the initial hands' posed `HandOutput`s."""
    from hoFit.fit.interaction_select import grasp_scores, select_track

    if config.interaction_iou_margin <= 0 or len(obj_init.candidate_scores) < 2:
        return obj_init.rotation, obj_init.translation
    with torch.no_grad():
        contact, hand, regions = _grasp_points(layers, outputs)
        scores = grasp_scores(
            contact, hand, sdf, obj_init.candidate_rotations, obj_init.candidate_translations,
            contact_regions=regions, touching_regions=config.touching_regions,
            hand_scales=tuple(config.hand_scales), object_scale=scale,
        )
    score = scores.min(dim=-1).values.sum(dim=1)  # each hand at its best size, summed over the hands
    index = select_track(obj_init.candidate_scores, score, config.interaction_iou_margin, config.interaction_min_gain)
    if index != 0:
        events.append(
            f"object init: track {index} chosen over the best-IoU track (IoU {float(obj_init.candidate_scores[index]):.3f} "
            f"vs {float(obj_init.candidate_scores[0]):.3f}) for its hand contact ({float(score[index]):.2f} vs "
            f"{float(score[0]):.2f} cm)"
        )
    return obj_init.candidate_rotations[index], obj_init.candidate_translations[index]


# A grasp whose gap plus penetration (cm) is within this reach holds the object; a hand that is farther at
# every size tried (e.g. the free hand of two) keeps its size. A farther size must also improve the grasp by
# at least this much on the nearer sizes' best: a hand just beyond the reach is not moved by 10 % or more
# for a grasp hardly better.
SIZING_REACH_CM = 1.0


def _size_hands(
    params: FitParameters, layers, object_vertices, base_scale: float, sdf, config, events, where: str,
    silhouette_residual: Callable[[torch.Tensor], float] | None = None,
) -> None:
    """Multiply each hand's size factor (in place) by the factor among ``config.hand_scales`` with which it
    holds the object of ``params`` best (gap of its closest contact regions plus penetration, as in the
    track choice), plus a prior on the size change of ``config.hand_size_prior`` x r centimetres per 5 %,
    r = ``silhouette_residual(posed object vertices)`` (the object's silhouette loss, see
    `_object_silhouette_residual`; evaluated only where the prior is on, None: no prior). A hand that holds
    it at none of them (plain grasp within `SIZING_REACH_CM`) takes the factor of ``config.far_hand_scales``
    closest to 1 with which it does, by a grasp at least `SIZING_REACH_CM` better, or else keeps its size.
    Run before a stage that optimizes the sizes: the object is then fitted to its mask, and contact and
    collision, which reach a few millimetres, refine from the nearest grasp."""
    from hoFit.fit.interaction_select import grasp_scores

    if len(config.hand_scales) < 2 or not params.hand_log_scale:
        return
    near = tuple(config.hand_scales)
    # the farther factors in order of the size change they make, so that the first grasp found is the nearest
    far = tuple(sorted(config.far_hand_scales, key=lambda s: abs(math.log(s))))
    with torch.no_grad():
        state = pose_scene(params, layers, object_vertices, base_scale)
        contact, hand, regions = _grasp_points(layers, state.hand_outputs)
        scores = grasp_scores(
            contact, hand, sdf, state.object_rotation[None], state.object_translation[None],
            contact_regions=regions, touching_regions=config.touching_regions,
            hand_scales=near + far, object_scale=float(state.object_scale),
        )[0]  # (hands, scales)
        prior_cm = 0.0
        if config.hand_size_prior > 0 and silhouette_residual is not None:
            prior_cm = config.hand_size_prior * silhouette_residual(state.object_vertices)
        prior = _size_change_prior(near, prior_cm).to(scores)
        notes = []
        for log_scale, row in zip(params.hand_log_scale, scores):
            near_scores, far_scores = row[: len(near)], row[len(near):]
            best = near_scores.min()
            holding = ((far_scores <= SIZING_REACH_CM) & (far_scores <= best - SIZING_REACH_CM)).nonzero()
            if float(best) <= SIZING_REACH_CM:
                index = int((near_scores + prior).argmin())
                factor, score, how = near[index], float(near_scores[index]), ""
            elif len(holding):
                first = int(holding[0])
                factor, score, how = far[first], float(far_scores[first]), f", reached from {float(best):.2f} cm"
            else:
                notes.append(f"{float(log_scale.exp()):.3f} kept (grasp {float(best):.2f} cm: not holding)")
                continue
            log_scale.add_(math.log(factor))
            notes.append(f"{float(log_scale.exp()):.3f} (grasp {score:.2f} cm{how})")
    prior_note = f" (size prior {prior_cm:.3f} cm per 5 %)" if prior_cm > 0 else ""
    events.append(f"{where}: hand size factors " + ", ".join(notes) + prior_note)


def _object_silhouette_residual(vertices: torch.Tensor, faces: torch.Tensor, data, settings) -> float:
    """How well the posed object (``vertices``: (T, V, 3), camera frame) matches its masks: the object
    silhouette term of the stages (mean squared difference between its soft silhouette and its mask over the
    regions' valid pixels, 0-1). On synth-v1 after stage 1: 0.0003-0.0096 with exact masks, 0.016-0.048 at
    noise level 2."""
    from hoFit.fit.losses.image import silhouette_loss
    from hoFit.render import soft_silhouette

    with torch.no_grad():
        size = (data.roi_resolution, data.roi_resolution)
        rendered = soft_silhouette(vertices, faces, data.K_roi, size, settings)
        return float(silhouette_loss(rendered, data.object_mask_roi, data.object_valid_roi))


def _size_change_prior(factors: tuple[float, ...], cm_per_5_percent: float) -> torch.Tensor:
    """(S,) float64 cost in centimetres of grasp score of scaling a hand by each of ``factors``:
    ``cm_per_5_percent`` x (ln s / ln 1.05)^2, symmetric in log size (x1.05 and /1.05 cost the same)."""
    ratios = torch.log(torch.tensor(factors, dtype=torch.float64)) / math.log(1.05)
    return cm_per_5_percent * ratios.square()


def _grasp_points(layers, outputs) -> tuple[list, list, list]:
    """`grasp_scores`' per-hand inputs from posed hands: contact-region vertices, all vertices and the
    region index of each contact vertex."""
    from hoFit.fit.interaction_select import contact_regions

    grouped = [contact_regions(layer) for layer in layers]
    contact = [out.vertices[:, ids.to(out.vertices.device)] for (ids, _), out in zip(grouped, outputs)]
    return contact, [out.vertices for out in outputs], [regions for _, regions in grouped]


def _params_from_result(result: FitResult, layers, base_scale: float, device, dtype) -> FitParameters:
    """Parameters of a saved result; ``base_scale`` is the absolute scale that log-scale 0 stands for."""
    def tensor(x):
        return torch.as_tensor(np.asarray(x), device=device, dtype=dtype)

    orient, pca, betas, transl, log_scale = [], [], [], [], []
    for hand, layer in zip(result.hands, layers):
        log_scale.append(torch.log(tensor([hand.scale])))
        orient.append(matrix_to_rotation_6d(to_matrix(tensor(hand.global_orient))))
        pca.append(_pca_from_axis_angle(layer, tensor(hand.articulation)))
        betas.append(tensor(hand.betas)[None])
        transl.append(tensor(hand.transl))
    return FitParameters(
        hand_orient=orient, hand_pca=pca, hand_betas=betas, hand_transl=transl,
        object_rot=matrix_to_rotation_6d(tensor(result.object.rotation)),
        object_transl=tensor(result.object.translation),
        object_log_scale=torch.log(torch.tensor([result.object.scale / base_scale], device=device, dtype=dtype)),
        hand_log_scale=log_scale,
    )


def _build_result(clip, config, params, layers, object_vertices, object_faces, base_scale, template, hand_missing, data) -> FitResult:
    with torch.no_grad():
        state = pose_scene(params, layers, object_vertices, base_scale)
        hands = []
        for i, (layer, out) in enumerate(zip(layers, state.hand_outputs)):
            hands.append(
                HandTrack(
                    side=layer.side,
                    global_orient=matrix_to_axis_angle(rotation_6d_to_matrix(params.hand_orient[i])).cpu().numpy(),
                    articulation=out.articulation.cpu().numpy(),
                    betas=params.hand_betas[i][0].cpu().numpy(),
                    transl=params.hand_transl[i].cpu().numpy(),
                    vertices=out.vertices.cpu().numpy(),
                    keypoints=out.keypoints.cpu().numpy(),
                    faces=layer.faces.cpu().numpy(),
                    missing=hand_missing[i].cpu().numpy().astype(bool),
                    scale=float(params.hand_log_scale[i].exp().item()) if params.hand_log_scale else 1.0,
                )
            )
        obj = ObjectTrack(
            rotation=state.object_rotation.cpu().numpy(),
            translation=state.object_translation.cpu().numpy(),
            scale=float(state.object_scale.item()) * float(clip.object_scale),
            vertices=state.object_vertices.cpu().numpy(),
            faces=object_faces.cpu().numpy(),
            missing=(~data.object_present).cpu().numpy(),
            template=str(clip.template),
        )
    config_data = to_dict(config)
    return FitResult(
        clip_name=clip.name,
        frame_indices=np.arange(clip.num_frames),
        intrinsics=clip.intrinsics.to_dict(),
        hands=hands,
        object=obj,
        config=config_data,
    )
