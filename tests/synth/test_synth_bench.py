"""Benchmark and ablation runners: switches, reports, resume, and fits on synthetic clips."""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from hoFit.config.schema import load_config
from hoFit.data.synth import SynthConfig, SyntheticClip, generate_clip
from hoFit.data.synth.generator import _hand_layer
from hoFit.data.synth.grasp import GraspSettings
from hoFit.errors import HoFitError
from hoFit.eval.bench import (
    QUICK_OVERRIDES,
    BenchRecord,
    Variant,
    ablation_variants,
    noise_config,
    paired_differences,
    run_benchmark,
    write_reports,
)
from hoFit.fit.result import FitResult, HandTrack, ObjectTrack


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    config = SynthConfig(object="procedural:can", num_frames=3, image_size=(72, 96), seed=11,
                         grasp=GraspSettings(grasp_type="precision", hypotheses=2, iterations=60), name="tiny")
    return generate_clip(config).save(tmp_path_factory.mktemp("bench") / "tiny")


def _ground_truth_fit(clip, config=None, progress=True, **_):
    """A stand-in fitter that returns the synthetic ground truth of the clip it is given."""
    synthetic = SyntheticClip.load(_ground_truth_fit.directory)
    hands = []
    for params, gt in zip(synthetic.hands, synthetic.clip.ground_truth.hands):
        layer = _hand_layer(params.model, params.side, None)
        T = len(params.transl)
        hands.append(HandTrack(params.side, params.global_orient, params.articulation, params.betas, params.transl,
                               gt.vertices, gt.joints, layer.faces.numpy(), np.zeros(T, bool)))
    gt = synthetic.clip.ground_truth
    verts = np.einsum("tij,nj->tni", gt.object_rotation, synthetic.template.vertices) + gt.object_translation[:, None]
    obj = ObjectTrack(gt.object_rotation, gt.object_translation, 1.0, verts, synthetic.template.faces,
                      np.zeros(len(verts), bool), clip.template)
    return FitResult(clip.name, np.arange(clip.num_frames), clip.intrinsics.to_dict(), hands, obj,
                     timings={"stage1": 0.0})


def test_bench_ablation_switches_reach_every_stage():
    base = load_config("default")
    spec = {
        "variants": {"full": {}, "no_collision": {"collision": False}, "bare": {"contact": "off", "coarse_interaction": "off"}},
        "grid": {"smoothness": [0.0, 0.5]},
    }
    variants = {v.name: v.config for v in ablation_variants(spec, base)}
    assert list(variants) == ["full", "no_collision", "bare", "smoothness_0.0", "smoothness_0.5"]
    assert [s.weights for s in variants["full"].fit.stages] == [s.weights for s in base.fit.stages]
    assert any("collision" in s.weights for s in base.fit.stages)
    assert all("collision" not in s.weights for s in variants["no_collision"].fit.stages)
    assert all("contact" not in s.weights and "coarse_interaction" not in s.weights for s in variants["bare"].fit.stages)
    # a weight replaces the term's weight in the stages that use it (stage 2 leaves the object alone)
    for stage, preset in zip(variants["smoothness_0.5"].fit.stages, base.fit.stages):
        for term in ("hand_smoothness", "object_smoothness"):
            assert stage.weights.get(term) == (0.5 if term in preset.weights else None)
    assert "object_smoothness" in variants["smoothness_0.5"].fit.stages[0].weights
    assert all("hand_smoothness" not in s.weights for s in variants["smoothness_0.0"].fit.stages)
    with pytest.raises(HoFitError, match="unknown switch"):
        ablation_variants({"variants": {"x": {"colision": "off"}}}, base)


def test_bench_reports_mean_median_and_files(tmp_path):
    records = [
        BenchRecord("a", 0, "c1", metrics={"joint_error": 1.0, "object_add": 2.0}, units={"joint_error": "cm"}, wall_time_s=3.0),
        BenchRecord("a", 0, "c2", metrics={"joint_error": 2.0, "object_add": math.nan}, wall_time_s=5.0),
        BenchRecord("a", 0, "c3", metrics={"joint_error": 6.0, "object_add": 4.0}, wall_time_s=4.0),
        BenchRecord("a", 2, "c1", status="failed", error="boom"),
        BenchRecord("b", 0, "c1", metrics={"joint_error": 0.5}, wall_time_s=1.0),
    ]
    summary = write_reports(records, tmp_path, title="t")
    entry = summary["a"]["0"]
    assert entry["metrics"]["joint_error"] == {"mean": 3.0, "median": 2.0, "count": 3}
    assert entry["metrics"]["object_add"]["mean"] == 3.0 and entry["metrics"]["object_add"]["count"] == 2
    assert entry["wall_time_s"]["mean"] == 4.0 and entry["failed"] == 0
    assert summary["a"]["2"]["failed"] == 1
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["records"]) == 5 and data["records"][1]["metrics"]["object_add"] is None
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "failed", "ok"] and rows[3]["error"] == "boom"
    table = (tmp_path / "results.md").read_text()
    assert "| a | 0 | 3 | 0 | 3 / 2 |" in table
    assert (tmp_path / "plots" / "joint_error.png").stat().st_size > 1000


def test_bench_ground_truth_fitter_scores_zero_and_resumes(clip_dir, tmp_path, monkeypatch):
    import hoFit.fit.api as api

    _ground_truth_fit.directory = clip_dir
    monkeypatch.setattr(api, "fit_clip", _ground_truth_fit)
    variants = [Variant("default", load_config("default")), Variant("other", load_config("default", overrides=["seed=1"]))]
    records = run_benchmark([clip_dir], variants, [0, 1], tmp_path, progress=False)
    assert len(records) == 4 and all(r.status == "ok" for r in records)
    for r in records:
        assert r.metrics["joint_error"] == pytest.approx(0.0, abs=1e-3)
        assert r.metrics["object_add"] == pytest.approx(0.0, abs=1e-3)
        assert r.metrics["penetration_depth"] <= 1.0 + 1e-6  # mm
    assert (tmp_path / "runs" / "other" / "noise1" / "tiny" / "record.json").is_file()

    def broken(*args, **kwargs):
        raise RuntimeError("diverged")

    monkeypatch.setattr(api, "fit_clip", broken)
    again = run_benchmark([clip_dir], variants, [0, 1], tmp_path, progress=False)  # everything is reused
    assert [r.to_json() for r in again] == [r.to_json() for r in records]
    redone = run_benchmark([clip_dir], variants[:1], [0], tmp_path, progress=False, overwrite=True)
    assert redone[0].status == "failed" and "diverged" in redone[0].error


def test_bench_noise_overrides_replace_a_severity_and_are_part_of_the_fingerprint(clip_dir, tmp_path, monkeypatch):
    import hoFit.fit.api as api

    seen = []

    def recording_fit(clip, config=None, progress=True, **kwargs):
        seen.append(clip.intrinsics.fx)
        return _ground_truth_fit(clip, config, progress, **kwargs)

    _ground_truth_fit.directory = clip_dir
    monkeypatch.setattr(api, "fit_clip", recording_fit)
    true_fx = SyntheticClip.load(clip_dir).clip.intrinsics.fx
    variants = [Variant("default", load_config("default"))]
    run_benchmark([clip_dir], variants, [2], tmp_path, progress=False)
    assert abs(seen[-1] / true_fx - 1) == pytest.approx(noise_config(2).focal_rel_error, rel=1e-5)
    # level 2 without its focal error: the fit gets the true focal length, and the level-2 record above is not
    # reused for it (nor is the new one for plain level 2 afterwards)
    run_benchmark([clip_dir], variants, [2], tmp_path, progress=False, noise_overrides={"focal_rel_error": 0.0})
    assert seen[-1] == pytest.approx(true_fx)
    run_benchmark([clip_dir], variants, [2], tmp_path, progress=False)
    assert len(seen) == 3 and seen[-1] == pytest.approx(seen[0])
    with pytest.raises(HoFitError, match="'focal_error' is not a noise severity"):
        run_benchmark([clip_dir], variants, [2], tmp_path, progress=False, noise_overrides={"focal_error": 0.0})
    with pytest.raises(HoFitError, match="focal_rel_error"):
        noise_config(1, {"focal_rel_error": 1.5})


def test_bench_reports_each_noise_draw_and_their_spread(tmp_path):
    def record(noise, seed, clip, joint):
        return BenchRecord("a", noise, clip, metrics={"joint_error": joint}, units={"joint_error": "cm"},
                           wall_time_s=1.0, seed=seed)

    records = [record(0, 0, "c1", 0.5), record(0, 0, "c2", 1.5),
               record(2, 0, "c1", 1.0), record(2, 0, "c2", 3.0), record(2, 1, "c1", 2.0), record(2, 1, "c2", 6.0)]
    summary = write_reports(records, tmp_path, title="t")
    clean, noisy = summary["a"]["0"], summary["a"]["2"]
    assert clean["seeds"] == [0] and "draws" not in clean
    assert noisy["seeds"] == [0, 1] and noisy["clips"] == 4
    assert noisy["metrics"]["joint_error"] == {"mean": 3.0, "median": 2.5, "count": 4}  # over clips and draws
    assert noisy["draws"] == {"0": {"joint_error": 2.0}, "1": {"joint_error": 4.0}}
    spread = noisy["draw_spread"]["joint_error"]
    assert spread["std"] == pytest.approx(math.sqrt(2.0)) and (spread["min"], spread["max"]) == (2.0, 4.0)
    table = (tmp_path / "results.md").read_text()
    assert "mean / median over clips and noise draws" in table
    assert "| a | 2 | 4 | 0 | 3 / 2.5 |" in table
    assert "| a | 2 | 0 | 2 |" in table and "| a | 2 | 1 | 4 |" in table and "| a | 2 | std | 1.41 |" in table
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [r["seed"] for r in rows] == ["0", "0", "0", "0", "1", "1"]
    assert json.loads((tmp_path / "results.json").read_text())["records"][4]["seed"] == 1


def test_bench_pairs_variants_on_the_same_fits(tmp_path):
    def record(variant, seed, clip, joint, status="ok"):
        return BenchRecord(variant, 2, clip, status=status, metrics={"joint_error": joint} if status == "ok" else {},
                           units={"joint_error": "cm"}, wall_time_s=1.0, seed=seed)

    records = [record("ref", 0, "c1", 1.0), record("ref", 0, "c2", 4.0), record("ref", 1, "c1", 2.0),
               record("ref", 1, "c2", 3.0),
               record("new", 0, "c1", 1.5), record("new", 0, "c2", 3.0), record("new", 1, "c1", 2.5),
               record("new", 1, "c2", 0.0, status="failed")]  # no pair: left out
    paired = paired_differences(records)
    assert list(paired) == ["new"]
    d = paired["new"]["2"]["joint_error"]
    diffs = np.array([0.5, -1.0, 0.5])
    assert d["count"] == 3 and (d["lower"], d["higher"]) == (1, 2)
    assert d["mean"] == pytest.approx(diffs.mean()) and d["sem"] == pytest.approx(diffs.std(ddof=1) / math.sqrt(3))
    assert paired_differences(records, reference="new")["ref"]["2"]["joint_error"]["mean"] == pytest.approx(-diffs.mean())
    with pytest.raises(HoFitError, match="reference variant 'old'"):
        paired_differences(records, reference="old")
    write_reports(records, tmp_path, title="t")
    table = (tmp_path / "results.md").read_text()
    assert "## Paired differences against ref" in table and "| new | 2 | +0 +- 0.5 (1/2) |" in table
    assert json.loads((tmp_path / "results.json").read_text())["paired"]["new"]["2"]["joint_error"]["count"] == 3


def test_bench_fits_every_noise_draw_apart_and_clean_cues_once(clip_dir, tmp_path, monkeypatch):
    import hoFit.fit.api as api

    seen = []

    def recording_fit(clip, config=None, progress=True, **kwargs):
        seen.append(np.asarray(clip.hands[0].keypoints).copy())
        return _ground_truth_fit(clip, config, progress, **kwargs)

    _ground_truth_fit.directory = clip_dir
    monkeypatch.setattr(api, "fit_clip", recording_fit)
    variants = [Variant("default", load_config("default"))]
    records = run_benchmark([clip_dir], variants, [0, 2], tmp_path, seed=[0, 3], progress=False)
    assert [(r.noise, r.seed) for r in records] == [(0, 0), (2, 0), (2, 3)] and len(seen) == 3
    clean = SyntheticClip.load(clip_dir).clip.hands[0].keypoints
    np.testing.assert_array_equal(seen[0], clean)
    assert not np.allclose(seen[1], clean) and not np.allclose(seen[1], seen[2])  # two different draws
    runs = tmp_path / "runs" / "default"
    assert sorted(p.name for p in runs.iterdir()) == ["noise0", "noise2", "noise2_seed3"]
    # the draw of seed 0 is the one a single-seed run makes: resumed, not refitted
    again = run_benchmark([clip_dir], variants, [0, 2], tmp_path, seed=0, progress=False)
    assert len(seen) == 3 and [r.to_json() for r in again] == [r.to_json() for r in records[:2]]
    # a variant's fits copied under another name with the same config are reused, under that name
    shutil.copytree(runs, tmp_path / "runs" / "copy")
    copied = run_benchmark([clip_dir], [Variant("copy", load_config("default"))], [2], tmp_path, seed=[0, 3], progress=False)
    assert len(seen) == 3 and [(r.variant, r.seed) for r in copied] == [("copy", 0), ("copy", 3)]
    with pytest.raises(HoFitError, match="distinct"):
        run_benchmark([clip_dir], variants, [2], tmp_path, seed=[1, 1], progress=False)
    with pytest.raises(HoFitError, match="no noise seeds"):
        run_benchmark([clip_dir], variants, [2], tmp_path, seed=[], progress=False)


def test_ablate_cli_takes_noise_seeds_from_the_grid_or_the_command_line(clip_dir, tmp_path, monkeypatch):
    import hoFit.eval.bench as runner
    import hoFit.fit.api as api
    from hoFit.cli import ablate
    from hoFit.eval.bench import load_ablation_grid

    for shipped in sorted((Path(__file__).parents[2] / "configs" / "ablations").glob("*.yaml")):
        load_ablation_grid(shipped)  # the grids the README points to are valid
    _ground_truth_fit.directory = clip_dir
    monkeypatch.setattr(api, "fit_clip", _ground_truth_fit)
    monkeypatch.setattr(runner, "ensure_set", lambda *a, **k: [clip_dir])
    grid = tmp_path / "grid.yaml"
    grid.write_text("name: g\nnoise: [0, 1]\nseeds: [0, 2]\nvariants:\n  full: {}\n  no_contact: {contact: off}\n")
    parser = argparse.ArgumentParser()
    ablate.add_arguments(parser)

    def run(out, *extra):
        args = parser.parse_args(["--grid", str(grid), "--out", str(tmp_path / out), *extra])
        args.quiet = True
        assert ablate.run(args) == 0
        return json.loads((tmp_path / out / "results.json").read_text())

    data = run("a")
    assert sorted((r["variant"], r["noise"], r["seed"]) for r in data["records"]) == [
        ("full", 0, 0), ("full", 1, 0), ("full", 1, 2), ("no_contact", 0, 0), ("no_contact", 1, 0), ("no_contact", 1, 2)]
    assert data["summary"]["full"]["1"]["seeds"] == [0, 2]
    assert "| full | 1 | std |" in (tmp_path / "a" / "results.md").read_text()
    assert sorted({r["seed"] for r in run("b", "--seed", "3")["records"]}) == [0, 3]  # clean cues stay one draw
    grid.write_text("name: g\nseeds: [1, 1]\nvariants:\n  full: {}\n")
    with pytest.raises(HoFitError, match="grid.yaml: seeds: .*distinct"):
        load_ablation_grid(grid)


def test_bench_cli_parses_noise_seeds():
    from hoFit.cli.bench import parse_seeds

    assert parse_seeds("0") == [0] and parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("", "1,1", "-1", "a"):
        with pytest.raises(HoFitError, match="--seed"):
            parse_seeds(bad)


def test_bench_cli_real_fit_on_a_tiny_clip(clip_dir, tmp_path):
    from hoFit.cli import bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["synth", "--set", "synth-quick", "--noise", "0", "--out", str(tmp_path / "out"),
                              "--data", str(tmp_path / "unused"), "--device", "cpu"]
                             + [item for o in QUICK_OVERRIDES for item in ("--override", o)])
    # fit the tiny clip instead of generating synth-quick
    import hoFit.eval.bench as runner

    original = runner.ensure_set
    runner.ensure_set = lambda *a, **k: [clip_dir]
    try:
        args.clips = None
        assert bench.run(args) == 0
    finally:
        runner.ensure_set = original
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    (record,) = data["records"]
    assert record["status"] == "ok", record["error"]
    assert record["wall_time_s"] > 0
    assert 0 <= record["metrics"]["joint_error_pa"] < 5.0  # cm: the fit lands near the true hand shape
    assert math.isfinite(record["metrics"]["object_add_s"])
