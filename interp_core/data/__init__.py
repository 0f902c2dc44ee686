"""Datasets: bundled (scikit-learn, aeon), generated with ground truth, and user files."""

from interp_core.data.dataset import Dataset, encode_labels, split_arrays
from interp_core.data.registry import list_datasets, load_dataset, register_dataset
from interp_core.data.userfiles import load_user_file, max_upload_bytes, safe_name

__all__ = [
    "Dataset",
    "encode_labels",
    "list_datasets",
    "load_dataset",
    "load_user_file",
    "max_upload_bytes",
    "register_dataset",
    "safe_name",
    "split_arrays",
]
