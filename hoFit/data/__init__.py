"""Data: the clip format (:mod:`hoFit.data.clip`), frame sources, masks, and dataset loaders
(:mod:`hoFit.data.datasets`)."""

from hoFit.data.clip import Clip, GroundTruth, HandCues, HandGroundTruth, ObjectCues
from hoFit.data.frames import ArrayFrames, FrameSource, ImageFrames, VideoFrames
from hoFit.data.masks import MaskSequence

__all__ = [
    "Clip",
    "HandCues",
    "ObjectCues",
    "GroundTruth",
    "HandGroundTruth",
    "MaskSequence",
    "FrameSource",
    "ImageFrames",
    "VideoFrames",
    "ArrayFrames",
]
