"""Presets in configs/ load into the typed tree, round-trip through YAML, and every weight names a real term."""

from __future__ import annotations

import yaml

import pytest

from hoFit.config import from_dict, to_dict
from hoFit.config.schema import Config, list_presets, load_config
from hoFit.errors import HoFitError
from hoFit.fit.config import LOSS_TERMS


def test_presets_exist():
    assert {"default", "homan"} <= set(list_presets())


@pytest.mark.parametrize("name", ["default", "homan"])
def test_preset_round_trips_through_safe_load(name):
    config = load_config(name)
    assert from_dict(Config, yaml.safe_load(yaml.safe_dump(to_dict(config)))) == config
    for stage in config.fit.stages:
        assert set(stage.weights) <= set(LOSS_TERMS)


def test_homan_preset_matches_the_release_schedule():
    config = load_config("homan")
    assert [s.iterations for s in config.fit.stages] == [201, 201]
    assert all(s.lr == 0.01 and s.rotation_lr_factor == 10.0 for s in config.fit.stages)
    assert config.fit.object_init.hypotheses == 500 and config.fit.object_init.iterations == 50
    assert config.hand.num_pca_comps == 16
    assert "collision" not in config.fit.stages[0].weights and config.fit.stages[1].weights["collision"] > 0


def test_default_preset_file_spells_out_the_code_defaults():
    # The YAML documents the defaults; drifting apart would make the README's claims wrong.
    assert to_dict(load_config("default")) == to_dict(load_config(None))


def test_overrides_and_errors_name_the_key(tmp_path):
    config = load_config("default", overrides=["fit.stages.1.iterations=3", "device=cpu"])
    assert config.fit.stages[1].iterations == 3 and config.device == "cpu"
    with pytest.raises(HoFitError, match="config key 'fit.stagez' is not a setting of FitConfig"):
        load_config("default", overrides=["fit.stagez=1"])
    with pytest.raises(HoFitError, match="unknown loss term 'colision'"):
        load_config("default", overrides=["fit.stages.0.weights={colision: 1.0}"])
    with pytest.raises(HoFitError, match="preset 'nope' not found"):
        load_config("nope")
    user = tmp_path / "mine.yaml"
    user.write_text("fit:\n  roi_resolution: 64\n")
    assert load_config("default", user).fit.roi_resolution == 64


def test_a_stage_can_switch_on_a_term_it_did_not_list():
    config = load_config("default", overrides=["fit.stages.0.weights.collision=0.5"])
    assert config.fit.stages[0].weights["collision"] == 0.5
    with pytest.raises(HoFitError, match="config key 'fit.roi_resolutoin' is not a setting of FitConfig"):
        load_config("default", overrides=["fit.roi_resolutoin=64"])
