"""Settings of the fit: initialization, stages, loss weights.

Loss weights are keyed exactly like the loss terms (`LOSS_TERMS`); a weight of 0 skips the term's
computation, and an unknown name is rejected when the config is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hoFit.errors import HoFitError

__all__ = ["LOSS_TERMS", "PARAMETER_GROUPS", "StageConfig", "HandInitConfig", "ObjectInitConfig", "FitConfig"]

LOSS_TERMS: dict[str, str] = {
    "object_silhouette": "occlusion-aware L2 between the rendered object silhouette and the object mask",
    "hand_silhouette": "L2 between the rendered hand silhouette and the hand mask",
    "hand_keypoints_2d": "confidence-weighted robust reprojection error of the 21 hand keypoints",
    "pca_prior": "squared norm of the articulation's PCA coefficients",
    "joint_limits": "squared violation of the hand model's per-joint angle limits",
    "shape_prior": "squared norm of the hand shape coefficients",
    "scale_prior": "squared log-ratio of the object's scale to the template's given scale",
    "hand_scale_prior": "squared log of each hand's size factor (the hand scaled about the camera centre)",
    "hand_smoothness": "squared velocity or acceleration (fit.smoothness_order) of hand vertices over time (cm^2)",
    "object_smoothness": "squared velocity or acceleration (fit.smoothness_order) of object vertices over time (cm^2)",
    "coarse_interaction": "squared distance between hand and object centroids in frames where they touch (cm^2)",
    "collision": "squared penetration depth of hand in object and object in hand (and hand in hand) (cm^2)",
    "contact": "contact regions near the object surface pulled onto it, penetrating ones pushed out (cm^2)",
}

# Parameter groups that a stage may optimize.
# hand_scale: one size factor per hand and clip, applied about the camera centre, which keeps every keypoint's
# projection: 2D cues fix a hand's size only together with its depth, the object it holds fixes both.
PARAMETER_GROUPS = ("hand_global", "hand_articulation", "hand_shape", "object_pose", "object_scale", "hand_scale")


def _check_weights(weights: dict[str, float], where: str) -> None:
    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise HoFitError(
            f"{where}: unknown loss term '{unknown[0]}'; known terms: {', '.join(LOSS_TERMS)}"
        )
    negative = [name for name, value in weights.items() if value < 0]
    if negative:
        raise HoFitError(f"{where}: loss weight '{negative[0]}' must be >= 0, got {weights[negative[0]]}")


@dataclass
class StageConfig:
    """One optimization stage over the whole clip.

    Attributes:
        name: shown in logs and loss curves.
        iterations: Adam steps.
        lr: learning rate of translations (metres).
        rotation_lr_factor: multiplies ``lr`` for rotations, articulation and shape (HOMan used 10).
        object_rotation_lr_factor: multiplies ``lr`` for the object's rotation; None uses
            ``rotation_lr_factor``. The object's rotation can take larger steps than the hand's: a silhouette
            constrains it in every direction, while one view leaves a hand's pose flat along some.
        weights: loss weight per term name (see `LOSS_TERMS`); missing terms weigh 0.
        optimize: parameter groups updated in this stage (see `PARAMETER_GROUPS`).
        transfer_object_pose_at: when, as a fraction (0-1) of the stage's iterations, every frame may take
            another frame's object pose relative to the first hand, placed with its own hand, where that matches
            its silhouette better (see `hoFit.fit.transfer`): once the hand has been fitted, frames stuck in a
            wrong minimum take the pose of those that found the right one. None: never.
    """

    name: str = "stage"
    iterations: int = 50
    lr: float = 1e-2
    rotation_lr_factor: float = 10.0
    object_rotation_lr_factor: float | None = None
    weights: dict[str, float] = field(default_factory=dict)
    optimize: list[str] = field(default_factory=lambda: list(PARAMETER_GROUPS[:4]))
    transfer_object_pose_at: float | None = None

    def __post_init__(self) -> None:
        _check_weights(self.weights, f"stage '{self.name}'")
        unknown = sorted(set(self.optimize) - set(PARAMETER_GROUPS))
        if unknown:
            raise HoFitError(
                f"stage '{self.name}': unknown parameter group '{unknown[0]}'; known: {', '.join(PARAMETER_GROUPS)}"
            )
        if self.iterations < 0:
            raise HoFitError(f"stage '{self.name}': iterations must be >= 0, got {self.iterations}")
        if self.lr <= 0:
            raise HoFitError(f"stage '{self.name}': lr must be > 0, got {self.lr}")
        if self.transfer_object_pose_at is not None and not 0 <= self.transfer_object_pose_at < 1:
            raise HoFitError(
                f"stage '{self.name}': transfer_object_pose_at is a fraction of the stage's iterations, in [0, 1); "
                f"got {self.transfer_object_pose_at}"
            )
        for name in ("rotation_lr_factor", "object_rotation_lr_factor"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise HoFitError(f"stage '{self.name}': {name} must be > 0, got {value}")


@dataclass
class HandInitConfig:
    """Per-frame hand initialization from 2D keypoints.

    Attributes:
        rotation_hypotheses: global rotations tried per frame (uniform on SO(3) plus the PnP solutions).
        rigid_iterations: Adam steps on rotation and translation for every hypothesis.
        iterations: Adam steps on the best hypothesis with articulation.
        lr: Adam learning rate.
        smoothing_sigma: temporal Gaussian smoothing of the initial trajectory (frames; 0 disables).
        robust_sigma: Geman-McClure scale of the keypoint error, as a fraction of the hand box size.
        rigid_finger_weight: weight of the finger keypoints relative to the palm's (wrist and knuckles)
            while the rotation hypotheses are scored with the rest-pose hand.
        articulated_hypotheses: best rigid hypotheses per frame refined with articulation (the lowest final
            loss wins): a curled hand seen end-on fits its keypoints from more than one depth.
        temporal_iterations: Adam steps refitting all frames together, from their mean articulation, with
            the articulation smooth over time (a grasp changes slowly; seen from the clip's changing
            viewpoints it fixes the articulation, hence the depth, better than any single frame); 0 keeps
            the per-frame fits.
        articulation_smoothness: weight of the squared change of the PCA coefficients between consecutive
            frames in that refit.
        temporal_min_frames: the refit needs this many frames with keypoints (a few frames barely change
            the viewpoint; on 4-frame clips it was measured to hurt).
        pca_prior, joint_limits: weights of the articulation priors against the mean normalised keypoint
            error (the stages weigh the same error 50x: 0.004 / 50 there is 8e-5 here).
        noise_debias_samples: simulated noisy keypoint sets with which the initialization measures how much
            the keypoints' noise moves the hand's depth, and undoes it with a size factor about the camera
            centre (a parametric bootstrap, `hoFit.fit.init_hand.noise_depth_factor`; each set costs one more
            initialization); 0 disables. With 2 on synth-v1 at noise level 2 the mean joint error over
            three noise draws went 3.10 -> 3.47 cm (README), hence off by default.
        noise_debias_min_px: the correction runs only where the keypoints' noise, estimated from the fit's
            residuals (pixels per axis), is at least this. With exact cues synth-v1's hands leave 0.5-1.1 px
            (the hand model's mismatch), and refits then measure the optimizer's own scatter (size factors of
            0.98-1.02 that, applied, made the joint error worse); at noise level 2 (5 px) they leave 4.5-5.9.
        cuda_graphs: on a CUDA device, each Adam loop above captures one step as a CUDA graph and replays it
            (the same arithmetic with one launch per step instead of hundreds: the loops are otherwise bound
            by the host); false runs them eagerly, as on a CPU (see `hoFit.fit.steps`).
    """

    rotation_hypotheses: int = 24
    rigid_iterations: int = 40
    iterations: int = 60
    lr: float = 0.05
    smoothing_sigma: float = 1.0
    robust_sigma: float = 0.2
    rigid_finger_weight: float = 0.1
    articulated_hypotheses: int = 4
    temporal_iterations: int = 100
    articulation_smoothness: float = 0.1
    temporal_min_frames: int = 8
    pca_prior: float = 8e-5
    joint_limits: float = 0.02
    noise_debias_samples: int = 0
    noise_debias_min_px: float = 3.0
    cuda_graphs: bool = True


@dataclass
class ObjectInitConfig:
    """Object pose initialization by many silhouette-fitted pose hypotheses (as in PHOSA and HOMan).

    Attributes:
        hypotheses: rotation hypotheses, shared by all frames as tracks.
        sampling: how the hypotheses cover SO(3): "random" (independent uniform samples, as in PHOSA and
            HOMan) or "spread" (a farthest-point subset of uniform samples,
            `hoFit.geometry.rotations.spread_rotations`: no large holes). On synth-v1 with exact cues, 48
            spread hypotheses put the best-IoU track of 10 clips of 12 within 20 degrees of the truth
            (random: 8); full fits of six clips (with a stricter grasp-based track switch) turned an
            upside-down bleach bottle and a mug's handle right, but lost the sugar box (28 -> 61 degrees)
            and put two hands 1.5-3.2 cm further off: not the default until that is understood.
        iterations: Adam steps for every hypothesis at ``resolution``.
        resolution: side of the square region of interest, pixels, for scoring hypotheses.
        refine_top: best tracks (by mean mask IoU) refined at ``refine_resolution``.
        refine_iterations: Adam steps of the refinement.
        refine_resolution: pixels.
        turn_top: the best this many tracks of the search are also refined turned by 180 degrees about each of
            the template's three principal axes (`hoFit.fit.init_object.half_turns`), as three more tracks
            each: a mug whose handle the search put on the far side, or a bottle it put upside down, sits in
            a basin that the refinement cannot leave, next to the right one. 0 refines the best tracks only.
            On synth-v1 (2-core CPU) 1 changed 4 of 12 exact fits (joint error 1.26 -> 1.20 cm, ADD-S 0.75
            -> 0.70 cm on the mean) and left noise level 2 as it was within chance (six draws, 72 fits:
            joint error 2.84 -> 2.86 and 2.55 -> 2.50 cm), for 1-3 s more per clip (README).
        search_max_faces: the search of every hypothesis at ``resolution`` renders the template decimated to
            at most this many faces (the refinement renders the whole template), for speed: its cost grows
            with the faces rendered. None renders the whole template throughout. On synth-v1 with exact cues
            (2-core CPU, before the rasterizer's exact speed-ups) 500 cut the object search from 63.5 to 38.4 s
            per clip (mean), but the coarse silhouettes ranked the tracks differently: two clips ended upside
            down and the mean joint error went 1.27 -> 1.71 cm (README), hence off by default.
        lr: Adam learning rate (translations; rotations use 10x).
        smoothness: weight of the track's temporal smoothness during the search.
        interaction_iou_margin: among refined tracks whose mean IoU is within this margin of the best, the
            one the initial hand touches best without penetrating wins (0 keeps the best IoU).
        interaction_min_gain: the hand's score (cm) must beat the best-IoU track's by more than this for
            another track to win (0: any better score wins). Differences of tenths of a millimetre are
            within the initial hand's noise: with ``track_depth_factor`` a 0.02 cm difference chose a track
            that ended 73 degrees off on synth-v1 (README).
        hand_relative: rotation hypotheses are relative to the (first) hand's initial rotation, so that each
            track follows the hand's rotation over the clip (the object is held rigidly); false samples
            object rotations directly (PHOSA/HOMan).
        track_depth_factor: each track also gets one factor scaling all its translations about the camera
            centre, so that a track started at the wrong depth (e.g. from a hand whose depth noisy keypoints
            bias) reaches its mask's depth; false keeps per-frame translations only (HOMan). On synth-v1 at
            noise level 2 without its focal error (12 clips, 2-core CPU): object translation 3.37 -> 2.47
            cm, ADD-S 1.68 -> 1.33 cm, joint error 3.72 -> 3.40 cm (means), but the joint error got worse
            on 7 clips and the symmetry-aware rotation error 61.7 -> 67.8 degrees: off by default (README).
        touching_regions: the interaction score's gap is the mean distance of this many closest hand contact
            regions (fingertip pads, phalanges, palm) to the object surface.
        contact_weight: weight of the initial hand's contact (gap of its closest regions to the surface plus
            penetration depth, centimetres, per frame) added to each track's silhouette loss during the
            search (0: silhouette only, as in PHOSA/HOMan).
        hand_scales: factors tried for scaling the initial hand about the camera centre when scoring a track
            (its depth from keypoints is uncertain by the unknown hand size); (1.0,) disables the search.
            Before a stage that optimizes ``hand_scale``, each hand's size factor is also multiplied by the
            one of these that holds the fitted object best.
        far_hand_scales: factors tried, smallest size change first, for a hand that holds the fitted object
            at none of ``hand_scales`` before a stage that optimizes ``hand_scale``: the first with which it
            does, by a grasp at least 1 cm better than its best among ``hand_scales``, is applied (see
            `hoFit.fit.api.SIZING_REACH_CM`). A hand whose palm the object hides can be fitted far off in depth (its
            foreshortening is ambiguous: 14 % too far on synth-v1's v1_11); [] keeps such a hand's size
            (it may be a free hand). Unused where ``hand_scales`` disables the search.
        hand_size_prior: how much a hand's size factor is held at the size its keypoints gave when it is
            picked among ``hand_scales`` before a stage that optimizes ``hand_scale``, in proportion to how
            badly the object matches its masks: the factor s costs hand_size_prior x r x (ln s / ln 1.05)^2
            centimetres of grasp score, r being the object silhouette term (mean squared difference between
            its soft silhouette and its mask, 0-1) at that point. Where the masks are noisy the object's pose,
            and with it the grasp score across the factors, is unreliable: the score is nearly flat and its
            minimum follows the misplaced object. With exact masks r is small and the grasp decides. On
            synth-v1 after stage 1, r is 0.0003-0.0096 with exact cues and 0.016-0.048 at noise level 2
            (6: 0.1-0.3 cm per 5 %). Whether the hand holds the object, and whether a farther factor reaches
            it, are judged on the plain grasp. 0 disables it.
    """

    hypotheses: int = 48
    sampling: Literal["random", "spread"] = "random"
    iterations: int = 25
    resolution: int = 40
    refine_top: int = 8
    refine_iterations: int = 40
    refine_resolution: int = 80
    turn_top: int = 1
    search_max_faces: int | None = None
    lr: float = 0.01
    smoothness: float = 10.0
    interaction_iou_margin: float = 0.03
    interaction_min_gain: float = 0.0
    hand_relative: bool = True
    track_depth_factor: bool = False
    touching_regions: int = 3
    contact_weight: float = 0.02
    hand_scales: list[float] = field(default_factory=lambda: [0.92, 0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08])
    far_hand_scales: list[float] = field(
        default_factory=lambda: [0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 1.1, 1.12, 1.14, 1.16, 1.18, 1.2, 1.22, 1.24]
    )
    hand_size_prior: float = 6.0

    def __post_init__(self) -> None:
        limit = self.search_max_faces
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 4):
            raise HoFitError(f"fit.object_init.search_max_faces must be None or an integer >= 4, got {limit!r}")
        for name in ("hand_scales", "far_hand_scales"):
            bad = [s for s in getattr(self, name) if not s > 0]
            if bad:
                raise HoFitError(f"fit.object_init.{name}: size factors must be > 0, got {bad[0]}")
        if not self.hand_scales:
            raise HoFitError("fit.object_init.hand_scales: expected at least one factor ([1.0] disables the search)")
        if isinstance(self.turn_top, bool) or not isinstance(self.turn_top, int) or self.turn_top < 0:
            raise HoFitError(f"fit.object_init.turn_top must be an integer >= 0 (0 disables it), got {self.turn_top!r}")
        if not self.hand_size_prior >= 0:
            raise HoFitError(f"fit.object_init.hand_size_prior must be >= 0 (0 disables it), got {self.hand_size_prior!r}")


def _default_stages() -> list[StageConfig]:
    stage1 = {
        "object_silhouette": 1.0,
        "hand_keypoints_2d": 50.0,
        "pca_prior": 0.004,
        "joint_limits": 1.0,
        "shape_prior": 0.01,
        "hand_smoothness": 0.005,
        # Weak: smoothing a curved trajectory costs the silhouette least along the viewing ray, so a
        # strong weight trades the object's depth for smoothness (0.005 put a box 2.3 cm too close).
        "object_smoothness": 0.0005,
    }
    # No coarse (centroid) attraction: the object search already uses the hand's contact regions, and pulling
    # the centroids together biases the object towards the hand, which is usually in front of it.
    # Stage 2 settles the hands against the object that stage 1 fitted to its silhouette (which fixes an
    # object's pose better than keypoints fix a hand's depth) and sizes them (about the camera centre):
    # only contact and collision say how big a hand is.
    stage2 = {
        name: stage1[name]
        for name in ("hand_keypoints_2d", "pca_prior", "joint_limits", "shape_prior", "hand_smoothness")
    }
    stage2.update({"collision": 0.05, "contact": 0.01, "hand_scale_prior": 1.0})
    hands = ["hand_global", "hand_articulation", "hand_shape"]
    # Small steps: the initialization is close, and Adam's first steps (about lr per parameter, whatever the
    # gradient) otherwise knock a good start along the directions one view leaves flat (the hand's depth).
    # The object's rotation is the exception: its silhouette constrains every direction, and its start can be
    # tens of degrees off where the initial hand misled the object search. Once the hands are fitted (60 % of
    # stage 1), frames whose object is still in a wrong minimum may take the hand-relative pose of others.
    return [
        StageConfig(
            name="stage1", iterations=60, lr=2e-3, rotation_lr_factor=3.0, object_rotation_lr_factor=10.0,
            transfer_object_pose_at=0.6, weights=stage1, optimize=hands + ["object_pose"],
        ),
        StageConfig(
            name="stage2", iterations=60, lr=1e-3, rotation_lr_factor=3.0, weights=stage2,
            optimize=hands + ["hand_scale"],
        ),
    ]


@dataclass
class FitConfig:
    """Everything the fitter does after the clip is loaded.

    Attributes:
        stages: optimization stages, run in order; each starts from the previous one's result.
        hand_init, object_init: initialization settings.
        roi_resolution: side (pixels) of the square region of interest rendered around hand and object.
        roi_scale: the region's side relative to the union box of hand and object.
        keypoint_normalizer: pixel length that divides 2D keypoint errors: "hand_box" (longer side of the
            hand's box: resolution-independent) or "image_width" (HOMan's choice).
        keypoint_robust_sigma: Geman-McClure scale of the normalised 2D keypoint error; null for a plain
            squared error.
        contact_distance: contact attraction range, metres.
        smoothness_order: 1 penalises vertex velocity (HOMan), 2 acceleration (lets objects move steadily).
        sdf_resolution: voxels per side of the object's signed-distance grid.
        log_every: loss-history logging period, iterations.
        mislabeled_hand_fraction: a second hand track present in at most this fraction of the frames and
            never together with the first is the first hand with its left/right label flipped there, and is
            merged into it (see `hoFit.fit.handedness`); 0 fits every track as its own hand.
    """

    stages: list[StageConfig] = field(default_factory=_default_stages)
    hand_init: HandInitConfig = field(default_factory=HandInitConfig)
    object_init: ObjectInitConfig = field(default_factory=ObjectInitConfig)
    roi_resolution: int = 96
    roi_scale: float = 1.3
    keypoint_normalizer: Literal["hand_box", "image_width"] = "hand_box"
    keypoint_robust_sigma: float | None = 0.2
    contact_distance: float = 0.005
    smoothness_order: int = 2
    sdf_resolution: int = 48
    log_every: int = 1
    mislabeled_hand_fraction: float = 0.2
