"""Uploads in a real browser: a CSV, an NPZ and a safetensors model go in through the file inputs of
[data-testid=stFileUploader] and are explored on the matching pages (the model also on SAE features, at a layer); a second browser session
does not see them, not even with the first one's URL; bad files get one sentence."""

import io
import re
from pathlib import Path

import numpy as np
import pytest

from tools.apprunner import AppPage
from interp_core.store import SHIPPED_ROOT

pytestmark = pytest.mark.browser


def table_csv(n: int = 150) -> bytes:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    rows = [",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(X, y)]
    return ("a,b,c,d,label\n" + "\n".join(rows) + "\n").encode()


def images_npz(n: int = 80) -> bytes:
    rng = np.random.default_rng(1)
    y = np.arange(n) % 2
    X = rng.random((n, 8, 8)) * 0.3
    for i, label in enumerate(y):
        X[i, :, 4 * label:4 * label + 4] += 0.7
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y, class_names=np.array(["left", "right"]))
    return buffer.getvalue()


def files(tmp: Path) -> dict[str, Path]:
    out = {"table.csv": table_csv(), "halves.npz": images_npz(), "empty.csv": b"", "notes.txt": b"not data"}
    paths = {}
    for name, data in out.items():
        (tmp / name).write_bytes(data)
        paths[name] = tmp / name
    return paths


def open_expander(tab: AppPage, label: str) -> None:
    summary = tab.page.locator("[data-testid=stExpander] summary", has_text=label).first
    summary.click()
    tab.page.wait_for_timeout(300)


def upload(tab: AppPage, index: int, *paths: Path) -> None:
    """Set a file on the index-th visible uploader's <input type=file>, then wait for the rerun."""
    uploader = tab.page.locator("[data-testid=stFileUploader]").nth(index)
    uploader.locator("input[type=file]").set_input_files([str(p) for p in paths])
    tab.page.wait_for_timeout(500)
    tab.wait_ready()


def explore_on(tab: AppPage, page: str, recipe: str) -> None:
    """Open ``page`` from the sidebar and pick the session's ``recipe`` there: a reload or a typed URL
    starts a new session, so move within the app, as a user does."""
    tab.page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=page).click()
    tab.wait_ready()
    tab.page.locator("[data-testid=stSidebar]").get_by_role("combobox", name="Recipe in use").click()
    tab.page.get_by_role("option", name=recipe).click()
    tab.wait_ready()


def sidebar_recipe(tab: AppPage) -> str:
    return tab.page.locator("[data-testid=stSidebar]").get_by_role("combobox", name="Recipe in use").input_value()


def test_csv_npz_and_model_uploads_are_explored_and_stay_in_their_session(server, browser, tmp_path):
    paths = files(tmp_path)
    first = AppPage(browser, height=2600)
    second = AppPage(browser, height=1600)
    try:
        # -- a CSV on Home: choose nothing (the target is the last column), train, explore ------
        first.open(server.url)
        open_expander(first, "Your own data")
        upload(first, 0, paths["empty.csv"])
        alert = first.page.locator("[data-testid=stAlertContentError]").first.inner_text()
        assert "is empty (0 bytes)" in alert and alert.count(". ") == 0
        upload(first, 0, paths["notes.txt"])
        assert "is not a CSV or NPZ file" in first.page.locator("[data-testid=stAlertContentError]").first.inner_text()
        upload(first, 0, paths["table.csv"])
        first.page.get_by_role("button", name=re.compile("Train the default classifier")).click()
        first.page.get_by_text("Trained user-upload-table-mlp").wait_for(timeout=180_000)
        first.wait_ready()
        assert "user-upload-table-mlp" in sidebar_recipe(first)
        assert "recipe=user-upload-table-mlp" in first.page.url
        first.page.get_by_text("Recipe in use: user-upload-table-mlp").wait_for()
        first.screenshot("upload-csv-home")
        leaked_url = first.page.url

        # -- the second session: not listed, and its URL falls back to the default recipe -------
        second.open(leaked_url)
        assert "user-upload-table-mlp" not in sidebar_recipe(second)
        assert "recipe=digits-mlp" in second.page.url
        second.page.locator("[data-testid=stSidebar]").get_by_role("combobox", name="Recipe in use").click()
        options = second.page.get_by_role("option").all_inner_texts()
        second.page.keyboard.press("Escape")
        assert options and not any("upload" in o for o in options)
        assert second.page.get_by_text("user-upload-table-mlp").count() == 0
        second.screenshot("upload-second-session")

        # -- an NPZ of images on Prototypes ------------------------------------------------------
        first.open(f"{server.url}/prototypes")
        open_expander(first, "Your own data")
        upload(first, 0, paths["halves.npz"])
        first.page.get_by_text("80 examples").wait_for()
        first.page.get_by_role("button", name=re.compile("Train the default prototype network")).click()
        first.page.get_by_text("Trained user-upload-halves-protonet").wait_for(timeout=180_000)
        first.wait_ready()
        assert "user-upload-halves-protonet" in sidebar_recipe(first)
        first.page.get_by_text("Prototype purity").first.wait_for()
        first.screenshot("upload-npz-prototypes")

        # -- a safetensors model with its config in the model hub, then on Rules ----------------
        shipped = SHIPPED_ROOT / "breast-cancer-mlp"
        weights, config = tmp_path / "cells.safetensors", tmp_path / "cells.json"
        weights.write_bytes((shipped / "model.safetensors").read_bytes())
        config.write_bytes((shipped / "manifest.json").read_bytes())
        first.open(server.url)
        open_expander(first, "Bring your own model")
        upload(first, 1, weights)  # the hub's uploaders: 0 = data, 1 = model, 2 = config
        upload(first, 2, config)
        first.page.get_by_text("Dataset to explain it on").wait_for()
        first.page.get_by_role("button", name="Explore this model").click()
        first.page.get_by_text("Recipe in use: upload-cells-model").wait_for(timeout=120_000)
        first.wait_ready()
        first.screenshot("upload-model-home")
        explore_on(first, "Rules", "upload-cells-model")
        assert "upload-cells-model" in sidebar_recipe(first)
        first.page.get_by_text("Fidelity (held-out)").first.wait_for(timeout=120_000)
        first.screenshot("upload-model-rules")
        from tests.browser.test_foreign_browser import pick_a_concept_on_the_map, train_prototype_head, train_sae_on_own_model

        train_sae_on_own_model(first, "upload-cells-model", "upload-model")  # a layer of it on SAE features, as of a .pt2
        pick_a_concept_on_the_map(first, "upload-model")  # its data has no concept labels: a concept picked on the layer's map
        train_prototype_head(first, "upload-model")

        # the other session cannot open the uploaded model by URL either
        second.open(f"{server.url}/rules?recipe=upload-cells-model")
        assert "upload-cells-model" not in sidebar_recipe(second)
        assert first.problems() == [] and second.problems() == []
    finally:
        first.close()
        second.close()


def test_acts_upload_on_the_sae_page(server, browser, tmp_path):
    rng = np.random.default_rng(4)
    directions = rng.normal(size=(24, 8))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    codes = (rng.random((1500, 24)) < 0.08) * rng.random((1500, 24))
    path = tmp_path / "layer.npz"
    np.savez(path, acts=codes @ directions, true_features=directions)
    tab = AppPage(browser, height=2400)
    try:
        tab.open(f"{server.url}/sae")
        open_expander(tab, "Your own data")
        upload(tab, 0, path)
        tab.page.get_by_role("button", name=re.compile("Train the default sparse autoencoder")).click()
        tab.page.get_by_text("Trained user-upload-layer-sae").wait_for(timeout=180_000)
        tab.wait_ready()
        assert "user-upload-layer-sae" in sidebar_recipe(tab)
        tab.page.get_by_text("MMCS").first.wait_for()
        tab.screenshot("upload-acts-sae")
        assert tab.problems() == []
    finally:
        tab.close()


def test_crafted_pt2_uploads_are_refused_in_the_server_and_run_nothing(server, browser, tmp_path):
    """The exploits of tests/hostile_pt2.py, uploaded through Home's model box: one sentence each, no marker."""
    from tests import hostile_pt2

    clean = hostile_pt2.export_tiny(tmp_path / "clean.pt2")
    tab = AppPage(browser, height=2000)
    try:
        tab.open(server.url)
        open_expander(tab, "Bring your own model")
        markers = []
        for variant in ("opaque_constant", "pickled_weight", "shape_expression", "sample_inputs"):
            marker = tmp_path / f"ran-{variant}"
            markers.append(marker)
            upload(tab, 1, hostile_pt2.CRAFTED[variant](clean, tmp_path / f"{variant}.pt2", marker))
            errors = tab.page.locator("[data-testid=stAlertContentError]")
            try:  # a loaded machine may show the previous file's refusal a moment longer
                errors.filter(has_text=f"'{variant}.pt2'").first.wait_for(timeout=60_000)
            except Exception:
                pass
            alert = errors.first.inner_text()
            assert alert.startswith(f"'{variant}.pt2' was refused without being loaded"), alert
            assert "Error:" not in alert and "Traceback" not in alert
        tab.screenshot("upload-crafted-pt2")
        # a guard that would run code is stripped: the model loads and is summarised, the payload never runs
        guards_marker = tmp_path / "ran-guards"
        markers.append(guards_marker)
        upload(tab, 1, hostile_pt2.guards_code(clean, tmp_path / "guards.pt2", guards_marker))
        tab.page.get_by_text("exported program (arbitrary PyTorch graph)").first.wait_for()
        assert not any(marker.exists() for marker in markers)
        assert tab.problems() == []
    finally:
        tab.close()


def _peak_rss_bytes(pid: int) -> int:
    """A process's peak resident memory so far (VmHWM in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM line")


def test_a_bad_manifest_and_an_npz_bomb_in_a_real_browser(browser, tmp_path):
    """Issue 22 as a user meets it: a manifest whose metrics is text marks its model corrupted in the hub
    (sentence and Retrain button, no exception); a 1 MB NPZ declaring a 1 GB X is refused in one sentence
    while the server's peak memory stays far from the gigabytes it would take to read it."""
    from tests.artifacts import setting, tampered
    from tests.test_hostile_data import write_bomb
    from tools.apprunner import AppServer

    store = tmp_path / "store"
    tampered(store, "wine-mlp", setting("metrics", "oops"))
    bomb = write_bomb(tmp_path / "bomb.npz", "X", (100000, 10000), {"y": np.arange(100000) % 2})
    server = AppServer(store)
    tab = None
    try:
        server.wait_healthy()
        tab = AppPage(browser, height=2600)
        tab.open(server.url)
        tab.page.get_by_text("Artifact 'wine-mlp' is corrupted: its manifest's metrics").first.wait_for()
        assert tab.page.get_by_role("button", name="Retrain wine-mlp").count() == 1
        open_expander(tab, "Your own data")
        upload(tab, 0, bomb)
        refusal = tab.page.locator("[data-testid=stAlertContentError]", has_text="bomb.npz").first
        refusal.wait_for()
        alert = refusal.inner_text()
        assert "declares shape (100000, 10000) of uint8" in alert and "INTERP_MAX_ARRAY_MB" in alert, alert
        tab.screenshot("hostile-manifest-and-bomb")
        assert _peak_rss_bytes(server.process.pid) < 1.5 * 2**30
        tab.page.get_by_text("Model hub").first.wait_for()  # still serving
        assert tab.problems() == []
    finally:
        if tab is not None:
            tab.close()
        server.stop()
