"""Hand tracks that are one hand with flipped left/right labels.

A 2D detector sometimes calls the right hand left for a frame or two. The clip then has a second hand track
that is present in those few frames only and never together with the first one; fitting it as a second
hand invents a hand for the whole clip from a frame or two of cues and takes those frames from the real
one. `merge_mislabeled_hands` gives such frames back to the hand they belong to.
"""

from __future__ import annotations

import numpy as np

__all__ = ["merge_mislabeled_hands"]


def merge_mislabeled_hands(hands: list, max_fraction: float) -> tuple[list, str | None]:
    """Merge a minor hand track into the other one when it is a mislabeling of it.

    Args:
        hands: the clip's `hoFit.data.clip.HandCues` (one or two).
        max_fraction: a track present in at most this fraction of the frames, never in a frame where the
            other track is present, is taken as the other hand mislabeled (0 disables the merge).

    Returns:
        ``(hands, message)``: the hands (one fewer when merged; the other track keeps its side) and a line
        for the fit's log saying what was merged, or None.
    """
    from hoFit.data.clip import HandCues
    from hoFit.data.masks import MaskSequence

    if len(hands) != 2 or max_fraction <= 0:
        return hands, None
    counts = [int(np.count_nonzero(h.present)) for h in hands]
    minor = int(np.argmin(counts))
    major = 1 - minor
    a, b = hands[major], hands[minor]
    T = len(a.present)
    if counts[minor] > max_fraction * T or np.any(a.present & b.present):
        return hands, None
    frames = b.present.copy()
    sel = frames[:, None]
    keypoints = np.where(sel[..., None], b.keypoints, a.keypoints)
    confidence = np.where(sel, b.confidence, a.confidence)
    boxes = a.boxes
    if boxes is not None:
        # a frame taken from a track without boxes has none (its box then comes from its keypoints)
        minor_boxes = b.boxes if b.boxes is not None else np.full_like(boxes, np.nan)
        boxes = np.where(sel, minor_boxes, boxes)
    masks = a.masks
    if masks is not None and b.masks is not None:
        pick = lambda x, y: np.where(frames.reshape((-1,) + (1,) * (x.ndim - 1)), y, x)  # noqa: E731
        masks = MaskSequence(
            pick(a.masks.mask, b.masks.mask), pick(a.masks.unknown, b.masks.unknown),
            pick(a.masks.available, b.masks.available),
        )
    merged = HandCues(a.side, keypoints, confidence, a.present | frames, boxes, masks)
    listed = np.flatnonzero(frames).tolist()
    message = (
        f"hand {minor} ({b.side}) is present only in frames {listed}, never with hand {major} ({a.side}): taken as "
        f"the {a.side} hand labelled {b.side} there and merged into it (fit.mislabeled_hand_fraction)"
    )
    out = list(hands)
    out[major] = merged
    del out[minor]
    return out, message
