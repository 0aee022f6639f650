"""Door metrics: false opens and false denies with exact intervals, rates per UTKFace group from
the published file names, and the operating point a max_false_open setting picks (accounting for
the door's hysteresis), which travels in the manifest to the camera's config.json."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskgate import door_metrics, groups, operating_point, package_data
from maskgate.board import board_config
from maskgate.errors import DataError


def test_clopper_pearson_matches_the_closed_forms_and_scipy():
    from scipy.stats import binomtest

    # 0 of n: the upper bound solves (1 - p)^n = alpha / 2
    low, high = door_metrics.clopper_pearson(0, 400)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 400))
    assert door_metrics.clopper_pearson(400, 400) == pytest.approx((0.025 ** (1 / 400), 1.0))
    ci = binomtest(7, 405).proportion_ci(0.95, method="exact")
    assert door_metrics.clopper_pearson(7, 405) == pytest.approx((ci.low, ci.high))
    with pytest.raises(ValueError):
        door_metrics.clopper_pearson(3, 2)


def test_a_single_class_source_reports_only_the_rate_that_applies():
    bare = door_metrics.door_rates(["no_mask"] * 4, [0.9, 0.1, 0.2, 0.6], 0.5)
    assert bare["false_deny"] is None
    assert (bare["false_open"]["count"], bare["false_open"]["of"]) == (2, 4)
    masked = door_metrics.door_rates(["mask"] * 3, [0.9, 0.1, 0.7], 0.5)
    assert masked["false_open"] is None and masked["false_deny"]["count"] == 1


def test_on_the_door_path_no_face_found_keeps_the_door_closed():
    labels = ["mask", "mask", "no_mask", "no_mask"]
    p = [0.99, 0.99, 0.99, 0.99]
    r = door_metrics.door_rates(labels, p, 0.5, found=[True, False, True, False])
    assert r["false_deny"]["count"] == 1  # the masked face nobody found is not let in
    assert r["false_open"]["count"] == 1  # the bare face nobody found cannot open it
    assert (r["face_found"]["count"], r["face_found"]["of"]) == (2, 4)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 255), st.booleans()), min_size=2, max_size=60))
def test_error_curves_agree_with_the_rates_at_every_threshold(items):
    labels = ["mask" if m else "no_mask" for m, _, _ in items]
    p = np.array([q / 255 for _, q, _ in items])
    found = [f for _, _, f in items]
    curves = door_metrics.error_curves(labels, p, found)
    for i, t in enumerate(curves["threshold"]):
        r = door_metrics.door_rates(labels, p, t, found)
        if r["false_open"]:
            assert curves["false_open"][i] == pytest.approx(r["false_open"]["rate"])
        if r["false_deny"]:
            assert curves["false_deny"][i] == pytest.approx(r["false_deny"]["rate"])


# ---------------------------------------------------------------- operating point
@settings(derandomize=True, deadline=None, max_examples=80)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=300), st.sampled_from([0.01, 0.05, 0.2]),
       st.sampled_from([0.0, 0.05, 0.1]))
def test_the_chosen_threshold_is_the_lowest_that_meets_the_target_at_threshold_minus_hysteresis(q, target, hyst):
    p = np.array(q) / 256.0  # int8 sigmoid outputs sit on a 1/256 grid
    try:
        t = operating_point.choose_threshold(p, target, hyst)
    except DataError:
        allowed = int(np.floor(target * len(p) + 1e-9))
        assert np.sort(p)[::-1][allowed] + hyst >= 1.0 - 1e-3  # unreachable only when it has to be
        return
    assert hyst < t <= 1.0
    assert (p >= t - hyst).mean() <= target + 1e-12  # a running streak meets the target on its own
    lower = round(t - 0.001, 3)
    if lower > hyst:
        assert (p >= lower - hyst).mean() > target  # one grid step lower would not


def test_an_unreachable_target_is_a_named_error():
    with pytest.raises(DataError, match="cannot be met"):
        operating_point.choose_threshold([0.99] * 10, 0.05, 0.05)
    with pytest.raises(DataError, match="max_false_open"):
        operating_point.choose_threshold([0.1], 1.5, 0.05)


def test_the_operating_point_is_chosen_on_validation_only(tmp_path):
    with pytest.raises(DataError, match="never on 'test'"):
        operating_point.choose_on_manifest(b"", tmp_path / "manifest.csv", ["no_mask", "mask"], 0.01, 0.05, 0.5, split="test")


def test_the_threshold_and_its_hysteresis_travel_to_the_cameras_config(tmp_path):
    shipped = json.loads((package_data.shipped_model().parent / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(shipped))
    labels = ["no_mask"] * 200 + ["mask"] * 100
    p = np.r_[np.linspace(0, 0.6, 200), np.linspace(0.3, 1.0, 100)]
    op = operating_point.choose(labels, p, 0.01, 0.07, 0.5, sources=["a"] * 300)
    assert op["validation"]["false_open_at_continuation"]["count"] <= 2
    manifest = operating_point.apply_to_bundle(tmp_path, op)
    assert json.loads((tmp_path / "manifest.json").read_text())["contract"]["threshold"] == op["threshold"]
    cfg = board_config.make_config(manifest)
    assert cfg["threshold"] == op["threshold"] and cfg["door"]["hysteresis"] == 0.07
    assert board_config.make_config(manifest, **{"door.hysteresis": 0.0})["door"]["hysteresis"] == 0.0  # overrides win


# ---------------------------------------------------------------- groups
def test_utkface_names_give_age_gender_race_and_incomplete_names_are_not_guessed():
    assert groups.utkface_fields("61_1_0_20170110183726390.jpg.chip.jpg") == {
        "age": 61, "age_band": "60+", "gender": "female", "race": "White"}
    # the two published names with three fields: which of gender and race is missing is unknown
    for name in ("61_1_20170109142408075.jpg.chip.jpg", "61_3_20170109150557335.jpg.chip.jpg"):
        f = groups.utkface_fields(name)
        assert (f["age"], f["gender"], f["race"]) == (61, groups.UNKNOWN, groups.UNKNOWN)
    assert groups.utkface_fields("0001.jpg") is None
    assert [groups.age_band(a) for a in (0, 12, 13, 19, 20, 39, 40, 59, 60, 116)] == \
        ["0–12", "0–12", "13–19", "13–19", "20–39", "20–39", "40–59", "40–59", "60+", "60+"]


def test_false_opens_by_group_count_each_group_and_name_the_smallest():
    names = ["30_0_1_20170101000000000.jpg.chip.jpg", "31_1_1_20170101000000001.jpg.chip.jpg",
             "70_0_0_20170101000000002.jpg.chip.jpg", "8_1_0_20170101000000003.jpg.chip.jpg",
             "25_0_0_20170101000000004.jpg.chip.jpg", "61_3_20170109150557335.jpg.chip.jpg"]
    p = [0.9, 0.1, 0.8, 0.1, 0.1, 0.9]
    g = groups.false_opens_by_group([f"/x/{n}" for n in names], ["no_mask"] * 6, p, 0.5)
    assert (g["race"]["Black"]["count"], g["race"]["Black"]["of"]) == (1, 2)
    assert (g["race"]["White"]["count"], g["race"]["White"]["of"]) == (1, 3)
    assert g["race"][groups.UNKNOWN]["of"] == 1 and g["incomplete_names"] == [names[-1]]
    assert (g["age_band"]["60+"]["count"], g["age_band"]["60+"]["of"]) == (2, 2)
    assert g["smallest"]["of"] == 1 and g["largest_rate"]["rate"] == 1.0
    assert groups.is_utkface_named([f"/x/{n}" for n in names]) and not groups.is_utkface_named(["/x/0001.jpg"])


def test_the_shared_utkface_folder_has_the_two_names_without_a_race(shared_datasets):
    folder = shared_datasets / "face-utkface" / "without_mask"
    incomplete = sorted(p.name for p in folder.glob("*.jpg") if groups.UNKNOWN in groups.utkface_fields(p.name).values())
    assert incomplete == ["61_1_20170109142408075.jpg.chip.jpg", "61_3_20170109150557335.jpg.chip.jpg"]
