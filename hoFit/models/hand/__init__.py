"""Hand models: a MANO-format hand layer, the official MANO files (when the user has them) and hoFit's
bundled OpenHand model (same format, shipped in assets/hands)."""

from hoFit.models.hand.config import HandConfig
from hoFit.models.hand.data import HandModelData, load_hand_data, mirror_hand_data, save_hand_data
from hoFit.models.hand.layer import (
    HandLayer,
    HandOutput,
    create_hand_layer,
    hand_layer_from_config,
    openhand_data,
    resolve_mano_path,
)

__all__ = [
    "HandConfig",
    "HandModelData",
    "HandLayer",
    "HandOutput",
    "create_hand_layer",
    "hand_layer_from_config",
    "load_hand_data",
    "mirror_hand_data",
    "openhand_data",
    "resolve_mano_path",
    "save_hand_data",
]
