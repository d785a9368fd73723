"""The 21 hand keypoints: names, order and conversions between orders.

hoFit's keypoint order is HO-3D's: MANO's 16 joints (wrist; index 1-3; middle 1-3; pinky 1-3; ring 1-3;
thumb 1-3) followed by the five fingertips (thumb, index, middle, ring, pinky). The 2D front ends
(MediaPipe, OpenPose, COCO-WholeBody) use the "OpenPose" order: wrist, then each finger from thumb to
pinky, base to tip.
"""

from __future__ import annotations

__all__ = [
    "NUM_KEYPOINTS",
    "KEYPOINT_NAMES",
    "PALM_KEYPOINTS",
    "OPENPOSE_FROM_HOFIT",
    "HOFIT_FROM_OPENPOSE",
    "SKELETON_EDGES",
    "FINGERTIP_KEYPOINTS",
]

NUM_KEYPOINTS = 21

KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "index1", "index2", "index3",
    "middle1", "middle2", "middle3",
    "pinky1", "pinky2", "pinky3",
    "ring1", "ring2", "ring3",
    "thumb1", "thumb2", "thumb3",
    "thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip",
)

# openpose_keypoints = hofit_keypoints[OPENPOSE_FROM_HOFIT]
OPENPOSE_FROM_HOFIT: tuple[int, ...] = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
# hofit_keypoints = openpose_keypoints[HOFIT_FROM_OPENPOSE]
HOFIT_FROM_OPENPOSE: tuple[int, ...] = tuple(OPENPOSE_FROM_HOFIT.index(i) for i in range(NUM_KEYPOINTS))

FINGERTIP_KEYPOINTS: tuple[int, ...] = (16, 17, 18, 19, 20)
# Wrist and the four finger knuckles: a nearly rigid layout whatever the articulation.
PALM_KEYPOINTS: tuple[int, ...] = (0, 1, 4, 7, 10)

# Bones as (parent, child) pairs in hoFit order, for drawing skeletons and bone-length priors.
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 13), (13, 14), (14, 15), (15, 16),
    (0, 1), (1, 2), (2, 3), (3, 17),
    (0, 4), (4, 5), (5, 6), (6, 18),
    (0, 10), (10, 11), (11, 12), (12, 19),
    (0, 7), (7, 8), (8, 9), (9, 20),
)
