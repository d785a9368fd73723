"""Synthetic frames for the perception tests: a textured ellipse (the object) on a noisy, striped
background, optionally held by a skin-coloured stick-figure hand drawn from 21 keypoints."""

from __future__ import annotations

import cv2
import numpy as np

from hoFit.models.hand.keypoints import HOFIT_FROM_OPENPOSE
from hoFit.perception.grabcut import hand_skeleton_mask


def background(rng: np.random.Generator, size=(240, 320)) -> np.ndarray:
    h, w = size
    img = (rng.normal(0, 18, (h, w, 3)) + np.array([80, 130, 90])).clip(0, 255).astype(np.uint8)
    for x in range(-h, w, 26):
        cv2.line(img, (x, 0), (x + h, h), (50, 100, 70), 3)
    return img


def draw_object(img, rng, centre=(160, 120), axes=(70, 45), angle=20.0):
    """Paint a striped red/yellow ellipse; returns its exact mask (H, W) uint8."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, angle, 0, 360, 1, -1)
    tex = (rng.normal(0, 20, (h, w, 3)) + np.array([200, 60, 40])).clip(0, 255).astype(np.uint8)
    for y in range(0, h, 10):
        cv2.line(tex, (0, y), (w, y), (230, 180, 60), 3)
    img[mask > 0] = tex[mask > 0]
    return mask


def hand_keypoints(wrist=(150.0, 215.0), scale=1.0) -> np.ndarray:
    """(21, 2) keypoints in hoFit order of an open hand pointing up from ``wrist``."""
    openpose = [wrist]
    wx, wy = wrist
    for angle, length in zip((-60, -25, -8, 8, 25), (60, 95, 100, 95, 80)):
        a = np.deg2rad(angle)
        direction = np.array([np.sin(a), -np.cos(a)])
        base = 0.35 if angle != -60 else 0.15
        for frac in np.linspace(base, 1.0, 4):
            openpose.append(np.array([wx, wy]) + direction * length * frac * scale)
    return np.asarray(openpose, dtype=np.float64)[list(HOFIT_FROM_OPENPOSE)]


def draw_hand(img, keypoints, thickness=0.1):
    """Paint the hand skin-coloured; returns its exact mask (H, W) uint8."""
    mask = hand_skeleton_mask(keypoints, img.shape[:2], thickness).astype(np.uint8)
    rng = np.random.default_rng(7)
    skin = (rng.normal(0, 10, img.shape) + np.array([225, 180, 150])).clip(0, 255).astype(np.uint8)
    img[mask > 0] = skin[mask > 0]
    return mask
