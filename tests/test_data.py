"""Bundled datasets and user files (interp_core.data)."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interp_core.data import Dataset, list_datasets, load_dataset, load_user_file, max_upload_bytes, safe_name
from interp_core.errors import DataError

# name -> (modality, input_shape, n_classes, total examples)
BUNDLED = {
    "digits": ("image", (1, 8, 8), 10, 1797),
    "breast_cancer": ("tabular", (30,), 2, 569),
    "wine": ("tabular", (13,), 3, 178),
    "gunpoint": ("series", (1, 150), 2, 200),
    "basic_motions": ("series", (6, 100), 4, 80),
}


def assert_one_sentence(message: str, phrase: str) -> None:
    """A user-facing error: one line, one sentence ending in a full stop, naming the problem."""
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert message.endswith("."), message
    assert len(message) < 400, message
    assert re.search(phrase, message, flags=re.IGNORECASE), f"{phrase!r} not in {message!r}"


def refused(phrase: str, *args, **kwargs) -> str:
    """Load a user file that must be refused; return the message after checking it."""
    with pytest.raises(DataError) as info:
        load_user_file(*args, **kwargs)
    assert_one_sentence(str(info.value), phrase)
    return str(info.value)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def good_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"height": rng.normal(size=n), "weight": rng.normal(size=n), "age": rng.integers(1, 90, size=n), "label": np.arange(n) % 2})


# -- bundled datasets --------------------------------------------------------------------------


def test_registry_lists_the_bundled_datasets():
    assert set(BUNDLED) <= set(list_datasets())


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_dataset_shapes_dtypes_and_labels(name):
    modality, input_shape, n_classes, total = BUNDLED[name]
    ds = load_dataset(name)
    assert isinstance(ds, Dataset)
    assert ds.name == name
    assert ds.modality == modality
    assert ds.input_shape == input_shape
    assert ds.X_train.shape[1:] == ds.X_test.shape[1:] == input_shape
    assert ds.X_train.dtype == ds.X_test.dtype == np.float32
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    assert ds.n_classes == n_classes == len(ds.class_names)
    assert all(isinstance(c, str) for c in ds.class_names)
    for y in (ds.y_train, ds.y_test):
        assert y.min() >= 0 and y.max() <= n_classes - 1
    assert set(np.unique(np.concatenate([ds.y_train, ds.y_test]))) == set(range(n_classes))
    assert len(ds.X_train) == len(ds.y_train) > 0
    assert len(ds.X_test) == len(ds.y_test) > 0
    assert len(ds.y_train) + len(ds.y_test) == total
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    summary = ds.summary()
    assert summary["n_train"] == len(ds.y_train) and summary["n_test"] == len(ds.y_test)
    assert summary["modality"] == modality and summary["n_classes"] == n_classes


def test_digits_pixels_are_scaled_to_unit_interval():
    ds = load_dataset("digits")
    assert ds.X_train.min() >= 0.0 and ds.X_train.max() <= 1.0
    assert len(ds.feature_names) == 64


def test_basic_motions_names_its_six_channels():
    ds = load_dataset("basic_motions")
    assert ds.feature_names == ["accel x", "accel y", "accel z", "gyro x", "gyro y", "gyro z"]


def test_sklearn_split_is_disjoint():
    """The scikit-learn datasets are split by index: no row of X_train reappears in X_test (wine has no duplicate rows)."""
    ds = load_dataset("wine")
    train_rows = {row.tobytes() for row in ds.X_train}
    assert not any(row.tobytes() in train_rows for row in ds.X_test)


def test_load_dataset_returns_a_copy():
    first = load_dataset("wine")
    original = first.X_train[0, 0]
    first.X_train[0, 0] = 12345.0
    first.class_names.append("mutant")
    first.y_train[:] = 0
    second = load_dataset("wine")
    assert second.X_train[0, 0] == original
    assert "mutant" not in second.class_names
    assert len(np.unique(second.y_train)) == 3


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_a_bundled_snapshot_holds_what_its_loader_gives(name, tmp_path, monkeypatch):
    """The first load of these sets writes a snapshot to the user's cache, read later without
    importing scikit-learn; the arrays, names and split must be exactly the loader's."""
    from interp_core.data.registry import SNAPSHOTTED, write_snapshots
    from interp_core.data.snapshot import read_snapshot

    monkeypatch.setenv("INTERP_DATASET_CACHE", str(tmp_path))
    assert read_snapshot(name) is None
    write_snapshots()
    snapshot, fresh = read_snapshot(name), SNAPSHOTTED[name]()
    assert snapshot is not None and (tmp_path / f"{name}.npz").is_file()
    for field in ("X_train", "y_train", "X_test", "y_test"):
        assert getattr(snapshot, field).dtype == getattr(fresh, field).dtype and np.array_equal(getattr(snapshot, field), getattr(fresh, field)), field
    assert snapshot.summary() == fresh.summary()
    assert (snapshot.feature_names, snapshot.description, snapshot.extras) == (fresh.feature_names, fresh.description, fresh.extras)


def test_a_snapshot_keeps_optional_arrays_and_a_damaged_one_is_ignored(tmp_path):
    from interp_core.data.snapshot import read_snapshot, write_snapshot

    rng = np.random.default_rng(0)
    data = Dataset("toy", "tabular", rng.normal(size=(6, 3)), np.arange(6) % 2, rng.normal(size=(4, 3)), np.arange(4) % 2, ["a", "b"],
                   concepts_train=np.ones((6, 2)), concepts_test=np.zeros((4, 2)), concept_names=["c0", "c1"], mask_test=np.ones((4, 3)), extras={"k": [1, 2]})
    back = read_snapshot("toy", write_snapshot(data, tmp_path).parent)
    assert np.array_equal(back.X_train, data.X_train) and np.array_equal(back.concepts_test, data.concepts_test) and np.array_equal(back.mask_test, data.mask_test)
    assert back.mask_train is None and back.concept_names == ["c0", "c1"] and back.extras == {"k": [1, 2]}
    (tmp_path / "toy.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert read_snapshot("toy", tmp_path) is None  # the registry then uses the loader
    assert read_snapshot("absent", tmp_path) is None


def test_opening_digits_imports_no_scikit_learn_once_it_is_cached(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "INTERP_DATASET_CACHE": str(tmp_path)}
    code = "import sys; from interp_core.data import load_dataset; d = load_dataset('digits'); print(len(d.y_test), 'sklearn' in sys.modules)"
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert first.stdout.split() == ["450", "True"] and (tmp_path / "digits.npz").is_file(), first.stdout + first.stderr[-1000:]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["450", "False"], out.stdout + out.stderr[-1000:]


def test_unknown_dataset_is_a_data_error():
    with pytest.raises(DataError, match="Unknown dataset 'wien'") as info:
        load_dataset("wien")
    assert "wine" in str(info.value)


# -- user files: good ones -----------------------------------------------------------------------


def test_good_csv_with_target(tmp_path):
    path = tmp_path / "My Patients.csv"
    good_frame(40).to_csv(path, index=False)
    ds = load_user_file(path, target="label")
    assert ds.modality == "tabular"
    assert ds.feature_names == ["height", "weight", "age"]
    assert ds.input_shape == (3,)
    assert ds.class_names == ["0", "1"]
    assert len(ds.y_train) + len(ds.y_test) == 40
    assert ds.X_train.dtype == np.float32
    assert ds.name == "my-patients"


def test_csv_string_labels_are_encoded(tmp_path):
    frame = good_frame(30)
    frame["label"] = np.where(frame["label"] == 1, "yes", "no")
    ds = load_user_file(csv_bytes(frame), filename="t.csv", target="label")
    assert ds.class_names == ["no", "yes"]
    assert set(np.unique(ds.y_train)) <= {0, 1}


def test_csv_from_file_object():
    ds = load_user_file(io.BytesIO(csv_bytes(good_frame(20))), filename="upload.csv", target="label")
    assert len(ds.y_train) + len(ds.y_test) == 20


def test_npz_2d_is_tabular():
    rng = np.random.default_rng(0)
    ds = load_user_file(npz_bytes(X=rng.normal(size=(30, 5)), y=np.arange(30) % 3), filename="t.npz")
    assert ds.modality == "tabular" and ds.input_shape == (5,) and ds.n_classes == 3


def test_npz_3d_is_series_by_default():
    rng = np.random.default_rng(0)
    ds = load_user_file(npz_bytes(X=rng.normal(size=(24, 2, 50)), y=np.arange(24) % 2), filename="s.npz")
    assert ds.modality == "series" and ds.input_shape == (2, 50)


def test_npz_3d_with_image_modality_gets_a_channel_axis():
    rng = np.random.default_rng(0)
    ds = load_user_file(npz_bytes(X=rng.random(size=(24, 6, 7)), y=np.arange(24) % 2), filename="i.npz", modality="image")
    assert ds.modality == "image" and ds.input_shape == (1, 6, 7)
    assert ds.X_train.shape == (len(ds.y_train), 1, 6, 7)


def test_npz_4d_is_image():
    rng = np.random.default_rng(0)
    ds = load_user_file(npz_bytes(X=rng.random(size=(20, 3, 4, 4)), y=np.arange(20) % 2), filename="rgb.npz")
    assert ds.modality == "image" and ds.input_shape == (3, 4, 4)


def test_npz_optional_arrays_are_carried_through_the_split():
    rng = np.random.default_rng(1)
    n = 40
    X = rng.normal(size=(n, 1, 30))
    mask = np.zeros_like(X)
    # Each example's mask marks its own index, so the split can be checked row by row.
    X[:, 0, 0] = np.arange(n)
    mask[:, 0, 1] = np.arange(n)
    concepts = np.stack([np.arange(n), np.arange(n) % 2], axis=1).astype(float)
    ds = load_user_file(
        npz_bytes(
            X=X,
            y=np.arange(n) % 2,
            mask=mask,
            concepts=concepts,
            concept_names=np.array(["index", "parity"]),
            class_names=np.array(["left", "right"]),
        ),
        filename="gt.npz",
    )
    assert ds.has_mask and ds.has_concepts
    assert ds.class_names == ["left", "right"]
    assert ds.concept_names == ["index", "parity"]
    assert ds.mask_train.shape == ds.X_train.shape and ds.mask_test.shape == ds.X_test.shape
    assert ds.concepts_train.shape == (len(ds.y_train), 2) and ds.concepts_test.shape == (len(ds.y_test), 2)
    for X_part, m_part, c_part, y_part in ((ds.X_train, ds.mask_train, ds.concepts_train, ds.y_train), (ds.X_test, ds.mask_test, ds.concepts_test, ds.y_test)):
        index = X_part[:, 0, 0]
        np.testing.assert_array_equal(m_part[:, 0, 1], index)
        np.testing.assert_array_equal(c_part[:, 0], index)
        np.testing.assert_array_equal(y_part, index.astype(int) % 2)


def test_default_concept_names_when_absent():
    rng = np.random.default_rng(0)
    ds = load_user_file(npz_bytes(X=rng.normal(size=(20, 3)), y=np.arange(20) % 2, concepts=rng.random((20, 2))), filename="c.npz")
    assert ds.concept_names == ["concept 0", "concept 1"]


def test_safe_name_is_never_a_path():
    assert safe_name("../../etc/passwd.csv") == "passwd"
    assert "/" not in safe_name("a/b/../c d.npz")
    assert safe_name("....csv") == "upload"


# -- user files: bad ones (one clear sentence each) ----------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    refused(r"is empty \(0 bytes\)", path)


def test_missing_path(tmp_path):
    refused("does not exist", tmp_path / "nowhere.csv")


def test_wrong_extension():
    refused("is not a CSV or NPZ file", b"a,b\n1,2\n", filename="table.xlsx")


def test_csv_without_target():
    refused("needs a target column", csv_bytes(good_frame()), filename="t.csv")


def test_csv_target_column_missing():
    message = refused("has no column 'diagnosis'", csv_bytes(good_frame()), filename="t.csv", target="diagnosis")
    assert "label" in message  # lists the columns there are


def test_csv_non_numeric_feature_column():
    frame = good_frame()
    frame["colour"] = "red"
    refused("non-numeric feature column.*colour", csv_bytes(frame), filename="t.csv", target="label")


def test_csv_nan_in_features():
    frame = good_frame()
    frame.loc[3, "height"] = np.nan
    refused("NaN", csv_bytes(frame), filename="t.csv", target="label")


def test_csv_empty_target_values():
    frame = good_frame().astype({"label": float})
    frame.loc[[1, 2], "label"] = np.nan
    refused("empty value", csv_bytes(frame), filename="t.csv", target="label")


def test_csv_header_only():
    refused("row", b"a,b,label\n", filename="t.csv", target="label")


def test_npz_inf_in_X():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[4, 1] = np.inf
    refused("infinite", npz_bytes(X=X, y=np.arange(20) % 2), filename="t.npz")


def test_npz_missing_y():
    refused("no array named 'y'", npz_bytes(X=np.zeros((20, 3))), filename="t.npz")


def test_npz_length_mismatch():
    refused("X has 20 examples but y has 19", npz_bytes(X=np.zeros((20, 3)), y=np.arange(19) % 2), filename="t.npz")


def test_npz_five_dimensional_X():
    refused("5 dimension", npz_bytes(X=np.zeros((20, 1, 2, 2, 2)), y=np.arange(20) % 2), filename="t.npz")


def test_single_class():
    frame = good_frame()
    frame["label"] = 1
    refused("single class", csv_bytes(frame), filename="t.csv", target="label")


def test_too_many_classes():
    n = 150
    rng = np.random.default_rng(0)
    refused("101 distinct labels|1\\d\\d distinct labels", npz_bytes(X=rng.normal(size=(n, 2)), y=np.arange(n) % 101), filename="t.npz")


def test_too_few_examples():
    refused("at least 10", npz_bytes(X=np.zeros((6, 2)), y=np.arange(6) % 2), filename="t.npz")


def test_file_over_size_limit_by_argument(tmp_path):
    path = tmp_path / "big.csv"
    good_frame(200).to_csv(path, index=False)
    refused("over the .* limit", path, target="label", max_bytes=1000)


def test_file_over_size_limit_by_env(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_MAX_UPLOAD_MB", "0.002")
    assert max_upload_bytes() == int(0.002 * 1024 * 1024)
    path = tmp_path / "big.csv"
    good_frame(400).to_csv(path, index=False)
    assert path.stat().st_size > max_upload_bytes()
    refused("INTERP_MAX_UPLOAD_MB", path, target="label")
    refused("over the .* limit", path.read_bytes(), filename="big.csv", target="label")


def test_garbage_npz():
    raw = np.random.default_rng(0).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    refused("not a valid NPZ archive", raw, filename="noise.npz")


def test_truncated_npz():
    rng = np.random.default_rng(0)
    raw = npz_bytes(X=rng.normal(size=(50, 4)), y=np.arange(50) % 2)
    refused("not a valid NPZ|truncated or damaged", raw[: len(raw) // 2], filename="cut.npz")


def test_npy_file_named_npz():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((20, 3)))
    refused("NPZ", buffer.getvalue(), filename="arrays.npz")


class _WritesMarker:
    """Unpickling this object calls open(marker, "w"), which creates the marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_array_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned.txt"
    payload = np.array([_WritesMarker(str(marker))] * 20, dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, X=payload, y=np.arange(20) % 2)
    refused("pickled", path)
    assert not marker.exists()
    # Control: the same file really would run code if it were unpickled, so the check above means something.
    with np.load(path, allow_pickle=True) as archive:
        archive["X"]
    assert marker.exists()


def test_object_array_in_an_optional_key_is_refused(tmp_path):
    marker = tmp_path / "pwned.txt"
    raw = npz_bytes(X=np.zeros((20, 2)), y=np.arange(20) % 2, concepts=np.array([{"a": 1}, _WritesMarker(str(marker))], dtype=object))
    refused("pickled", raw, filename="evil.npz")
    assert not marker.exists()


def test_mask_with_wrong_shape():
    refused("mask has shape", npz_bytes(X=np.zeros((20, 1, 30)), y=np.arange(20) % 2, mask=np.zeros((20, 1, 29))), filename="t.npz")


def test_concepts_with_wrong_row_count():
    refused("concepts has shape", npz_bytes(X=np.zeros((20, 3)), y=np.arange(20) % 2, concepts=np.zeros((19, 2))), filename="t.npz")


def test_concept_names_count_mismatch():
    raw = npz_bytes(X=np.zeros((20, 3)), y=np.arange(20) % 2, concepts=np.zeros((20, 2)), concept_names=np.array(["a", "b", "c"]))
    refused("concept_names has 3 entries", raw, filename="t.npz")


def test_feature_names_count_mismatch():
    raw = npz_bytes(X=np.zeros((20, 3)), y=np.arange(20) % 2, feature_names=np.array(["a", "b"]))
    refused("feature_names has 2 entries", raw, filename="t.npz")


def test_many_small_classes_give_a_dataset_or_a_data_error():
    frame = pd.DataFrame({"a": np.arange(10.0), "label": np.repeat(np.arange(5), 2)})
    try:
        ds = load_user_file(csv_bytes(frame), filename="t.csv", target="label")
    except DataError:
        return
    assert len(ds.y_train) + len(ds.y_test) == 10


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_values_beyond_float32_range_are_refused_or_finite():
    frame = pd.DataFrame({"a": [1e39] + list(range(11)), "label": [0, 1] * 6})
    try:
        ds = load_user_file(csv_bytes(frame), filename="t.csv", target="label")
    except DataError:
        return
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()


# -- property: any small numeric CSV either loads with all its rows or is refused with DataError --


@st.composite
def numeric_csvs(draw, rows_per_class_at_least: int = 0):
    n_features = draw(st.integers(1, 4))
    n_classes = draw(st.integers(1, 6))
    min_rows = max(1, rows_per_class_at_least * n_classes)
    n_rows = draw(st.integers(min_rows, max(min_rows, 40)))
    values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)
    columns = {f"f{i}": draw(st.lists(values, min_size=n_rows, max_size=n_rows)) for i in range(n_features)}
    label_values = draw(st.lists(st.integers(-3, 50), min_size=n_classes, max_size=n_classes, unique=True))
    columns["target"] = draw(st.lists(st.sampled_from(label_values), min_size=n_rows, max_size=n_rows))
    return pd.DataFrame(columns)


def _check_loads_or_refuses(frame: pd.DataFrame) -> None:
    try:
        ds = load_user_file(csv_bytes(frame), filename="random.csv", target="target")
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc).endswith(".")
        return
    assert len(ds.y_train) + len(ds.y_test) == len(frame)
    assert ds.n_classes == frame["target"].nunique()
    assert ds.X_train.shape[1] == frame.shape[1] - 1
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=numeric_csvs(rows_per_class_at_least=4))
def test_property_small_numeric_csv_with_enough_rows_per_class_loads_or_is_refused(frame):
    """Tables with at least 4 rows per possible label (so the 25% test share can hold one row of every class)."""
    _check_loads_or_refuses(frame)


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(frame=numeric_csvs())
@example(frame=pd.DataFrame({"f0": np.arange(10.0), "target": np.repeat(np.arange(5), 2)}))
def test_property_any_small_numeric_csv_loads_or_is_refused(frame):
    _check_loads_or_refuses(frame)


@pytest.mark.parametrize("problem", ["GunPoint", "BasicMotions", "ItalyPowerDemand", "JapaneseVowels"])
def test_the_bundled_ts_files_read_as_aeon_reads_them(problem):
    """The UCR/UEA copies are read without importing aeon (5-8 s of a first visit): same values,
    same labels, same shapes as aeon's own loader."""
    import aeon.datasets as ad

    from interp_core.data.bundled import load_ts_problem

    loader = {"GunPoint": ad.load_gunpoint, "BasicMotions": ad.load_basic_motions, "ItalyPowerDemand": ad.load_italy_power_demand,
              "JapaneseVowels": ad.load_japanese_vowels}[problem]
    for split in ("train", "test"):
        X, y = load_ts_problem(problem, split)
        X_aeon, y_aeon = loader(split=split)
        assert list(y) == list(y_aeon)
        if isinstance(X, list):  # JapaneseVowels: cases of different lengths
            assert len(X) == len(X_aeon) and all(np.array_equal(a, b) for a, b in zip(X, X_aeon))
        else:
            assert np.array_equal(X, np.asarray(X_aeon))


def test_loading_a_ucr_set_does_not_import_aeon():
    import subprocess
    import sys

    code = "import sys; from interp_core.data.registry import load_dataset; load_dataset('gunpoint'); print('aeon' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
