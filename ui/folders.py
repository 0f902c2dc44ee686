"""Folders the user uploads: a model folder through the directory input, or an SAELens SAE folder
(the folder itself or a .zip of it) for a layer. Shared by Home's model box (ui/uploads.py) and the
SAE page's own-model panels (ui/foreign_layers.py, ui/causal_lm.py); the files are checked by
``interp_core.foreign.folder_files`` / ``zip_files`` (plain names, limits, no links)."""

from __future__ import annotations

from typing import Callable

import streamlit as st


def folder_name(folder, default: str = "model") -> str:
    """The uploaded folder's name (the first part of its files' paths), or ``default``."""
    parts = str(folder[0].name).replace("\\", "/").split("/")
    return parts[0] if len(parts) > 1 and parts[0] else default


def saelens_input(prefix: str, button: str) -> tuple[str, Callable[[], dict[str, bytes]]] | None:
    """A zipped SAELens folder or the folder itself, and a button: once pressed with a file, (the SAE's name, a function
    that reads its checked files); else None."""
    from interp_core import foreign
    from interp_core.saelens import FOLDER

    left, right = st.columns(2)
    zipped = left.file_uploader("A zipped SAELens folder (.zip)", type=["zip"], key=f"{prefix}_saelens_zip")
    folder = right.file_uploader("Or the SAELens folder", accept_multiple_files="directory", key=f"{prefix}_saelens_folder")
    if not st.button(button, key=f"{prefix}_open", disabled=zipped is None and not folder):
        return None
    if folder:
        label = folder_name(folder, "sae")
        return label, lambda: foreign.folder_files([(f.name, f.getvalue()) for f in folder], label, FOLDER)
    label = zipped.name.removesuffix(".zip").removesuffix(".ZIP") or "sae"
    return label, lambda: foreign.zip_files(zipped.getvalue(), zipped.name, FOLDER)
