"""AppTest fixtures: the app run in-process against an empty user store (so the shipped
demo checkpoints are what it shows until a test trains or corrupts something)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")


@pytest.fixture
def user_store(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv("INTERP_STORE", str(root))
    return root


@pytest.fixture
def app(user_store):
    def make(**query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        for key, value in query.items():
            at.query_params[key] = value
        return at

    return make
