"""Hostile and malformed user data (issue 22, items 2 and 5).

NPZ bombs (a ~1 MB file declaring a (100000, 10000) array) are refused from their .npy headers
before anything is decompressed: in-process the refusal's traced allocations stay small, and the CLI's
peak resident memory, measured in a subprocess, stays under 1 GB. Every malformed input of the
issue gets one sentence: the same sentence from the engine, from the app's upload reader, and
(after "error: ", exit code 2) from the CLI.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from interp_core.data import load_user_file
from interp_core.families.sae.data import load_acts_file
from interp_core.data.userfiles import MAX_NPZ_MEMBERS, npz_headers, npz_ndim, read_npz
from interp_core.errors import DataError
from interp_core.userdata import read_upload
from tests.test_cli import assert_one_error_line
from tests.test_data import _WritesMarker, assert_one_sentence, npz_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent
GB = 1024**3


# -- writing NPZ files byte by byte (bombs, forged sizes) -------------------------------------------
_ZEROS = bytes(1 << 24)


def _npy_header(shape: tuple, dtype) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _deflate_zeros(head: bytes, n_zeros: int) -> tuple[bytes, int]:
    """Raw deflate of head + n_zeros zero bytes, and its CRC-32, without holding the zeros: after a full
    flush the compressor starts afresh, so every 16 MB block of zeros compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(head)
    full, rest = divmod(n_zeros, len(_ZEROS))
    if full:
        block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
        parts += [block] * full
        for _ in range(full):
            crc = zlib.crc32(_ZEROS, crc)
    parts.append(compressor.compress(_ZEROS[:rest]) + compressor.flush())
    return b"".join(parts), zlib.crc32(_ZEROS[:rest], crc)


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int]]) -> Path:
    """A zip of deflated members {name: (compressed, crc, declared uncompressed size)}, zip64 sizes in every entry."""
    local, central = bytearray(), bytearray()
    for name, (compressed, crc, size) in members.items():
        encoded = name.encode()
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded), 20)
        local += encoded + struct.pack("<HHQQ", 1, 16, size, len(compressed)) + compressed
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(encoded), 28, 0, 0, 0, 0, 0xFFFFFFFF)
        central += encoded + struct.pack("<HHQQQ", 1, 24, size, len(compressed), offset)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def zip_member(data: bytes, declared: int | None = None) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data) if declared is None else declared


def npy_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, **kwargs)
    return buffer.getvalue()


def write_bomb(path: Path, key: str, shape: tuple, extra: dict[str, np.ndarray] | None = None) -> Path:
    """An NPZ whose ``key`` is a uint8 array of zeros of ``shape`` (as savez_compressed would write it), never held in memory."""
    head = _npy_header(shape, np.uint8)
    compressed, crc = _deflate_zeros(head, int(np.prod(shape)))
    members = {f"{key}.npy": (compressed, crc, len(head) + int(np.prod(shape)))}
    members |= {f"{name}.npy": zip_member(npy_bytes(value)) for name, value in (extra or {}).items()}
    return write_zip(path, members)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """The issue's bombs: X (100000, 10000) uint8 zeros in ~1 MB, X (40000, 10000) in ~390 KB, and acts (100000, 10000)."""
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "bomb": write_bomb(folder / "bomb.npz", "X", (100000, 10000), {"y": np.arange(100000) % 2}),
        "bomb389": write_bomb(folder / "bomb389.npz", "X", (40000, 10000), {"y": np.arange(40000) % 2}),
        "acts": write_bomb(folder / "acts_bomb.npz", "acts", (100000, 10000)),
    }


def test_the_bombs_are_small_valid_npz_files_that_declare_gigabytes(bombs):
    assert bombs["bomb"].stat().st_size < 1.1e6 and bombs["bomb389"].stat().st_size < 0.45e6
    with zipfile.ZipFile(bombs["bomb"]) as archive:
        info = archive.getinfo("X.npy")
        assert info.file_size > 1e9 and info.compress_size < 1.1e6
        with archive.open(info) as member:  # a valid deflate stream numpy would decompress: header, then zeros
            assert np.lib.format.read_magic(member) == (1, 0)
            assert np.lib.format.read_array_header_1_0(member)[0] == (100000, 10000)
            assert member.read(1 << 20) == bytes(1 << 20)
    with np.load(bombs["bomb"]) as archive:  # numpy reads the small member of the same file
        assert archive["y"].shape == (100000,)


# -- the bombs are refused before decompressing, by every reader --------------------------------
def _refused_within(limit_bytes: int, call, phrase: str) -> str:
    """``call`` raises DataError with ``phrase`` and allocates less than ``limit_bytes`` (numpy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_bytes, f"{peak / 1e6:.0f} MB allocated while refusing"
    assert_one_sentence(str(info.value), phrase)
    return str(info.value)


@pytest.mark.parametrize("reader", [
    lambda b: load_user_file(b["bomb"]),
    lambda b: load_user_file(b["bomb389"]),
    lambda b: read_upload(b["bomb"].read_bytes(), "bomb.npz", None),
    lambda b: read_upload(b["bomb"].read_bytes(), "bomb.npz", "prototypes"),
    lambda b: read_upload(b["bomb"].read_bytes(), "bomb.npz", "concepts"),
    lambda b: read_upload(b["bomb389"].read_bytes(), "bomb389.npz", "timeseries"),
    lambda b: load_acts_file(b["acts"]),
    lambda b: read_upload(b["acts"].read_bytes(), "acts_bomb.npz", "sae"),
], ids=["file", "file389", "home", "prototypes", "concepts", "timeseries389", "acts", "sae-upload"])
def test_a_bomb_is_refused_from_its_header(bombs, reader):
    message = _refused_within(32 * 2**20, lambda: reader(bombs), r"declares shape \((100000|40000), 10000\) of uint8 .*over the 256 MB limit per array")
    assert "INTERP_MAX_ARRAY_MB" in message


def test_headers_and_ndim_are_read_without_decompressing(bombs):
    _refused_within(8 * 2**20, lambda: npz_headers(bombs["bomb"], "bomb.npz"), r"X declares shape \(100000, 10000\)")
    tracemalloc.start()
    try:
        assert npz_ndim(bombs["bomb"]) is None  # over budget: the ndim peek says nothing and the loader says why
        small = npz_bytes(X=np.zeros((30, 4, 5)), y=np.arange(30) % 2)
        assert npz_ndim(small) == 3 and npz_ndim(small, "y") == 1 and npz_ndim(small, "mask") is None
        headers = npz_headers(small, "s.npz")
        assert {k: (h.shape, h.dtype) for k, h in headers.items()} == {"X": ((30, 4, 5), np.float64), "y": ((30,), np.arange(1).dtype)}
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_the_array_budget_is_configurable_and_covers_all_members_together(monkeypatch):
    table = npz_bytes(X=np.random.default_rng(0).normal(size=(100, 20)), y=np.arange(100) % 2)  # X: 16,000 bytes
    monkeypatch.setenv("INTERP_MAX_ARRAY_MB", "0.01")  # 10,486 bytes per member, 20,972 together
    message = _refused_within(2**20, lambda: load_user_file(table, filename="t.npz"), r"X declares shape \(100, 20\) of float64 .*over the 0 MB limit")
    assert "INTERP_MAX_ARRAY_MB" in message
    three = npz_bytes(X=np.zeros((40, 25)), y=np.arange(40) % 2, mask=np.zeros((40, 25)), concepts=np.zeros((40, 25)))  # 8,000 bytes each
    _refused_within(2**20, lambda: load_user_file(three, filename="t.npz"), r"its arrays declare over \d+ MB together")
    monkeypatch.setenv("INTERP_MAX_ARRAY_MB", "1")
    assert load_user_file(table, filename="t.npz").X_train.shape == (75, 20)


def test_a_legit_100k_by_100_table_fits_the_default_budget():
    headers = npz_headers(npz_bytes(X=np.zeros((100000, 100)), y=np.zeros(100000, np.int8)), "big.npz")
    assert headers["X"].budget_bytes == 80_000_000


# -- forged archives -----------------------------------------------------------------------------
def test_data_shorter_than_its_header_declares(tmp_path):
    """A member whose header and zip entry both claim (20, 3) float64 but whose data stops after 100 bytes."""
    head = _npy_header((20, 3), np.float64)
    data = head + bytes(100)
    path = write_zip(tmp_path / "short.npz", {"X.npy": zip_member(data, declared=len(head) + 480), "y.npy": zip_member(npy_bytes(np.arange(20) % 2))})
    with pytest.raises(DataError) as info:
        load_user_file(path)
    assert_one_sentence(str(info.value), r"X declares shape \(20, 3\) of float64 \(480 bytes\) but holds 100 bytes")


def test_zip_entry_size_disagreeing_with_the_header(tmp_path):
    head = _npy_header((20, 3), np.float64)
    path = write_zip(tmp_path / "lying.npz", {"X.npy": zip_member(head + bytes(80)), "y.npy": zip_member(npy_bytes(np.arange(20) % 2))})
    with pytest.raises(DataError) as info:
        load_user_file(path)
    assert_one_sentence(str(info.value), r"X declares shape \(20, 3\) of float64 \(480 bytes\) but its zip entry holds 80")


def test_too_many_members_are_refused_before_the_directory_is_read(tmp_path):
    path = write_zip(tmp_path / "many.npz", {f"a{i}.npy": zip_member(npy_bytes(np.zeros(1))) for i in range(MAX_NPZ_MEMBERS + 1)})
    with pytest.raises(DataError) as info:
        load_user_file(path)
    assert_one_sentence(str(info.value), rf"has {MAX_NPZ_MEMBERS + 1} members, over the limit of {MAX_NPZ_MEMBERS}")


def test_an_oversized_zip_directory_is_refused_before_it_is_read(tmp_path):
    """Few members, but long names: zipfile would read the whole directory whatever the member count says."""
    path = write_zip(tmp_path / "names.npz", {"n" * 60000 + f"{i}.npy": zip_member(npy_bytes(np.zeros(1))) for i in range(20)})
    with pytest.raises(DataError) as info:
        load_user_file(path)
    assert_one_sentence(str(info.value), r"has a [\d,]+-byte zip directory, over the limit of 1,048,576 bytes")


@pytest.mark.parametrize("member, phrase", [
    (npy_bytes(np.zeros((20, 3)), version=(3, 0)), r"X uses \.npy format version 3\.0"),
    (_npy_header((-20, 3), np.float64), r"X declares a negative dimension"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'" + b" " * 40, r"X has a damaged \.npy header"),
])
def test_odd_npy_headers(tmp_path, member, phrase):
    path = write_zip(tmp_path / "odd.npz", {"X.npy": zip_member(member), "y.npy": zip_member(npy_bytes(np.arange(20) % 2))})
    with pytest.raises(DataError) as info:
        load_user_file(path)
    assert_one_sentence(str(info.value), phrase)


def test_read_npz_keeps_values_dtypes_and_fortran_order():
    rng = np.random.default_rng(0)
    arrays = {"a": np.asfortranarray(rng.normal(size=(5, 7))), "b": rng.integers(0, 9, size=(3, 2)).astype(">i4"), "c": np.array(["x", "yz"]), "d": np.zeros((0, 3))}
    back = read_npz(npz_bytes(**arrays), "t.npz")
    assert list(back) == list(arrays)
    for key, value in arrays.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        np.testing.assert_array_equal(back[key], value)


# -- the malformed inputs: one sentence from the engine and from the app's reader ------------
def raw_pickle_npz(marker: Path) -> bytes:
    """An NPZ whose X member is a plain pickle (no .npy header) that creates ``marker`` when unpickled."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", pickle.dumps(_WritesMarker(str(marker))))
        archive.writestr("y.npy", npy_bytes(np.arange(20) % 2))
    return buffer.getvalue()


_rng = np.random.default_rng(0)
_y = np.arange(40) % 2
MALFORMED = {  # name -> (npz arrays or a builder of raw bytes, the page it is uploaded to, the sentence's phrase)
    "string-mask": (dict(X=_rng.normal(size=(40, 1, 20)), y=_y, mask=np.full((40, 1, 20), "a")), "timeseries", r"mask has dtype <U1; expected real numbers"),
    "string-concepts": (dict(X=_rng.normal(size=(40, 3)), y=_y, concepts=np.full((40, 2), "yes")), "concepts", r"concepts has dtype <U3; expected real numbers"),
    "empty-X": (dict(X=np.zeros((0, 3)), y=np.zeros(0, int)), None, r"X has 0 examples \(shape \(0, 3\)\)"),
    "0d-X": (dict(X=np.array(3.0), y=_y), None, r"X has 0 dimension\(s\) \(shape \(\)\)"),
    "zero-length-series": (dict(X=np.zeros((40, 0)), y=_y), "timeseries", r"X has shape \(40, 0\), so each example is empty"),
    "zero-length-multichannel-series": (dict(X=np.zeros((40, 2, 0)), y=_y), "timeseries", r"X has shape \(40, 2, 0\), so each example is empty"),
    "0-feature-X": (dict(X=np.zeros((40, 0)), y=_y), None, r"X has shape \(40, 0\), so each example is empty"),
    "complex-X": (dict(X=_rng.normal(size=(40, 3)) + 1j, y=_y), "rules", r"X has dtype complex128; expected real numbers"),
    "float-target": (dict(X=_rng.normal(size=(60, 3)), y=_rng.normal(size=60)), None, r"y looks like a regression target \(60 distinct float values\); this explorer classifies: give class labels"),
    "empty-concepts": (dict(X=_rng.normal(size=(40, 3)), y=_y, concepts=np.zeros((40, 0))), "concepts", r"concepts has shape \(40, 0\); expected \(40, number of concepts\)"),
    "nan-mask": (dict(X=_rng.normal(size=(40, 1, 20)), y=_y, mask=np.full((40, 1, 20), np.nan)), "timeseries", r"800 NaN or infinite value\(s\) in mask"),
    "raw-pickle-member": (raw_pickle_npz, "prototypes", r"X is not a \.npy array \(it may be pickled Python data, which is never loaded\)"),
}


def malformed_file(name: str, folder: Path) -> Path:
    arrays = MALFORMED[name][0]
    raw = arrays(folder / f"{name}-ran.txt") if callable(arrays) else npz_bytes(**arrays)
    path = folder / f"{name}.npz"
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_file_gets_one_sentence_from_the_engine_and_the_app(tmp_path, name):
    _arrays, family, phrase = MALFORMED[name]
    path = malformed_file(name, tmp_path)
    with pytest.raises(DataError) as engine:
        load_user_file(path)
    assert_one_sentence(str(engine.value), phrase)
    with pytest.raises(DataError) as app:
        read_upload(path.read_bytes(), path.name, family)
    assert str(app.value) == str(engine.value)
    assert not (tmp_path / f"{name}-ran.txt").exists()


def tiny_images_with_concepts(path: Path) -> Path:
    np.savez(path, X=_rng.normal(size=(40, 3, 3)), y=_y, concepts=(_rng.random((40, 2)) > 0.5).astype(float))
    return path


def test_images_too_small_for_the_concept_cnn_are_refused_before_training(tmp_path):
    from interp_core.userdata import default_recipes

    dataset = read_upload(tiny_images_with_concepts(tmp_path / "tiny.npz").read_bytes(), "tiny.npz", "concepts")
    with pytest.raises(DataError) as info:
        default_recipes("concepts", dataset)
    assert_one_sentence(str(info.value), r"needs images of at least 4x4 pixels; this file's are 3x3")


def test_integer_valued_float_labels_are_classes_not_a_regression_target():
    X = _rng.normal(size=(60, 3))
    dataset = load_user_file(npz_bytes(X=X, y=(np.arange(60) % 3).astype(float)), filename="t.npz")
    assert dataset.class_names == ["0", "1", "2"]
    few = load_user_file(npz_bytes(X=X, y=np.where(np.arange(60) % 2, 0.5, 1.5)), filename="t.npz")
    assert few.class_names == ["0.5", "1.5"]


def test_csv_regression_target_names_its_column():
    import pandas as pd

    frame = pd.DataFrame({"a": _rng.normal(size=50), "price": _rng.normal(size=50) * 100})
    with pytest.raises(DataError) as info:
        load_user_file(frame.to_csv(index=False).encode(), filename="houses.csv", target="price")
    assert_one_sentence(str(info.value), r"target column 'price' looks like a regression target \(50 distinct float values\)")


@pytest.mark.parametrize("arrays, phrase", [
    ({"acts": np.full((40, 4), "a")}, r"acts has dtype <U1; expected real numbers"),
    ({"acts": _rng.normal(size=(40, 4)) + 1j}, r"acts has dtype complex128"),
    ({"acts": np.array(1.0)}, r"acts has shape \(\); expected a 2-D array"),
])
def test_malformed_activation_files(arrays, phrase):
    with pytest.raises(DataError) as engine:
        load_acts_file(npz_bytes(**arrays), filename="acts.npz")
    assert_one_sentence(str(engine.value), phrase)
    with pytest.raises(DataError) as app:
        read_upload(npz_bytes(**arrays), "acts.npz", "sae")
    assert str(app.value) == str(engine.value)


# -- the CLI: exit 2, one line, the engine's sentence; bombs with peak memory under 1 GB -------------
_PEAK = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "peak_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""

# Runs several CLI commands in one interpreter (one import instead of one per command); prints [rc, stderr] per command.
_DRIVER = """
import contextlib, io, json, sys
from interp_core import cli
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:
            rc = exc.code
    results.append([rc, err.getvalue()])
print(json.dumps(results))
"""


def run_with_peak(*command: str, env: dict) -> dict:
    """Run ``command`` as the only child of a small wrapper; its peak resident memory is the wrapper's RUSAGE_CHILDREN."""
    out = subprocess.run([sys.executable, "-c", _PEAK, *command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def cli_env(tmp_path):
    return {**os.environ, "INTERP_STORE": str(tmp_path / "store"), "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}


def test_cli_train_on_the_bomb_exits_2_with_peak_memory_under_1_gb(bombs, cli_env, tmp_path):
    result = run_with_peak(sys.executable, "-m", "interp_core", "train", "--data", str(bombs["bomb"]), "--json", env=cli_env)
    assert result["rc"] == 2
    assert_one_error_line(result["stderr"], "X declares shape (100000, 10000) of uint8")
    assert "error" in json.loads(result["stdout"].strip().splitlines()[-1])
    assert result["peak_bytes"] < GB
    assert not (tmp_path / "store").exists()


def test_cli_refuses_every_bomb_and_malformed_input_in_one_line(bombs, cli_env, tmp_path):
    weights = tmp_path / "w.safetensors"
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2, np.float32)}, str(weights))
    (tmp_path / "deep.json").write_text("[" * 100000)
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "good.csv").write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    files = {name: malformed_file(name, tmp_path) for name in MALFORMED}
    cases = [  # (argv, the phrase of its one line)
        (["explain", "prototypes", "--data", str(bombs["bomb"])], "X declares shape (100000, 10000) of uint8"),
        (["explain", "concepts", "--data", str(bombs["bomb"])], "X declares shape (100000, 10000) of uint8"),
        (["explain", "sae", "--data", str(bombs["acts"])], "acts declares shape (100000, 10000) of uint8"),
        (["train", "--data", str(bombs["bomb389"])], "X declares shape (40000, 10000) of uint8"),
        (["train", "wine-mlp", "--epochs", "-5"], "argument --epochs: -5 is out of range; expected the number of epochs, 1 or more"),
        (["train", "wine-mlp", "--epochs", "0"], "argument --epochs: 0 is out of range"),
        (["train", "wine-mlp", "--seed", "-5"], "argument --seed: -5 is out of range"),
        (["train", "--data", str(tmp_path / "good.csv"), "--target", "label", "--store", str(tmp_path / "a-file")], "is a file; expected a folder"),
        (["load-model", str(weights), "--config", str(tmp_path)], "is a folder; expected a JSON file"),
        (["load-model", str(weights), "--config", str(tmp_path / "deep.json")], "nests arrays/objects 100000 levels deep"),
        (["explain", "concepts", "--data", str(tiny_images_with_concepts(tmp_path / "tiny.npz"))], "needs images of at least 4x4 pixels"),
    ]
    for name, path in files.items():
        family = MALFORMED[name][1]
        command = ["explain", family] if family in ("prototypes", "concepts") else ["train"]
        with pytest.raises(DataError) as engine:
            load_user_file(path)
        cases.append(([*command, "--data", str(path)], str(engine.value)))  # the CLI says exactly the engine's sentence
    result = run_with_peak(sys.executable, "-c", _DRIVER, json.dumps([argv for argv, _ in cases]), env=cli_env)
    assert result["rc"] == 0, result["stderr"]
    for (argv, phrase), (rc, stderr) in zip(cases, json.loads(result["stdout"]), strict=True):
        assert rc == 2, (argv, stderr)
        assert_one_error_line(stderr, phrase)
    assert result["peak_bytes"] < GB
    assert not (tmp_path / "store").exists()  # nothing was trained
    assert not any(tmp_path.glob("*-ran.txt"))
