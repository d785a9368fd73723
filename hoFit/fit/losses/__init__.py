"""Loss terms of the fit: pure functions, each returning a scalar named like its config weight."""

from hoFit.fit.losses.image import gmof, keypoint_reprojection_loss, silhouette_errors, silhouette_loss
from hoFit.fit.losses.interaction import (
    coarse_interaction_loss,
    collision_loss,
    contact_loss,
    hand_in_object_penetration,
    interaction_active,
    object_in_hand_penetration,
    object_signed_distance,
    points_to_object_frame,
)
from hoFit.fit.losses.priors import joint_limit_loss, pca_prior_loss, scale_prior_loss, shape_prior_loss
from hoFit.fit.losses.temporal import smoothness_loss

__all__ = [
    "gmof",
    "keypoint_reprojection_loss",
    "silhouette_loss",
    "silhouette_errors",
    "coarse_interaction_loss",
    "collision_loss",
    "contact_loss",
    "hand_in_object_penetration",
    "interaction_active",
    "object_in_hand_penetration",
    "object_signed_distance",
    "points_to_object_frame",
    "joint_limit_loss",
    "pca_prior_loss",
    "scale_prior_loss",
    "shape_prior_loss",
    "smoothness_loss",
]
