"""A layer's activations on disk: fixed-size safetensors shards with a small JSON index, written
resumably, and read back as a stream of shuffled batches whose memory does not grow with the count.

Layout of a shard set (a folder, by default ``<store root>/activations/<name>``)::

    index.json                 {"format": "interp-activation-shards", "version": 1, "d": 384,
                                "dtype": "float16", "shard_size": 32768, "total": 1000000,
                                "shards": [{"file": "shard-00000.safetensors", "rows": 32768}, ...],
                                "complete": true, "meta": {...what the activations are...}}
    shard-00000.safetensors    one tensor "acts" (rows, d); every shard holds shard_size rows but the last

Writing (``write_shards``) asks a producer for rows [start, stop) one shard at a time, writes the
shard to a temporary name, renames it and then rewrites the index, so an interruption loses at most
the shard being written: run it again with the same settings and it goes on from the first missing
shard (the producer must give the same rows for the same range, e.g. seeded by the range).

Reading (``ShardSet``) checks the index against the files before any training; ``stream_batches``
visits the shards in a seeded random order each epoch (a rank of ``world_size`` takes every
``world_size``-th of them), holds ``buffer_shards`` shards at a time, shuffles their rows and yields
batches: memory is ``buffer_shards`` shards plus a batch, whatever the number of shards.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from interp_core.errors import StoreError

FORMAT = "interp-activation-shards"
INDEX = "index.json"
DTYPES = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}
DEFAULT_SHARD_SIZE = 32768  # 24 MiB a shard at d = 384 in float16


def shard_folder(store_root: str | Path, name: str) -> Path:
    """Where the store keeps the shard set ``name``."""
    return Path(store_root).expanduser() / "activations" / name


def _shard_name(i: int) -> str:
    return f"shard-{i:05d}.safetensors"


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


@dataclass
class WriteReport:
    folder: Path
    total: int
    shards: int
    written: int  # shards written by this call (the rest were already there)


def write_shards(folder: str | Path, total: int, d: int, produce: Callable[[int, int], np.ndarray | torch.Tensor], *,
                 shard_size: int = DEFAULT_SHARD_SIZE, dtype: str = "float16", meta: dict | None = None,
                 progress: Callable[[int, int], None] | None = None) -> WriteReport:
    """Write ``total`` activations of dimension ``d`` as shards of ``shard_size`` rows, resuming an interrupted run.

    ``produce(start, stop)`` returns rows [start, stop) as (stop - start, d); ``progress(rows_done, total)``
    hears after each shard. An existing set with other settings is refused (one sentence), never mixed in.
    """
    from safetensors.torch import save_file

    if dtype not in DTYPES:
        raise StoreError(f"Activation shards can be stored as {', '.join(DTYPES)}; got '{dtype}'.")
    if total < 1 or d < 1 or shard_size < 1:
        raise StoreError(f"An activation shard set needs total, d and shard_size of at least 1; got {total}, {d}, {shard_size}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"format": FORMAT, "version": 1, "d": int(d), "dtype": dtype, "shard_size": int(shard_size), "total": int(total), "meta": dict(meta or {})}
    index_path = folder / INDEX
    done: list[dict] = []
    if index_path.exists():
        old = _read_index(folder)
        mismatch = [k for k in ("d", "dtype", "shard_size", "total", "meta") if old.get(k) != settings[k]]
        if mismatch:
            raise StoreError(f"'{folder}' already holds activation shards with other settings ({', '.join(mismatch)}); "
                             f"expected the same settings to resume, or remove the folder to start over.")
        done = list(itertools.takewhile(lambda s: (folder / s["file"]).exists(), old["shards"]))  # resume after the last shard in order
    n_shards = -(-total // shard_size)
    written = 0
    for i in range(len(done), n_shards):
        start, stop = i * shard_size, min(total, (i + 1) * shard_size)
        rows = torch.as_tensor(produce(start, stop))
        if tuple(rows.shape) != (stop - start, d):
            raise StoreError(f"The activation producer gave shape {tuple(rows.shape)} for rows {start}-{stop}; expected ({stop - start}, {d}).")
        file = _shard_name(i)
        tmp = folder / (file + ".tmp")
        save_file({"acts": rows.to(DTYPES[dtype]).contiguous()}, str(tmp))
        os.replace(tmp, folder / file)
        done.append({"file": file, "rows": stop - start})
        written += 1
        _write_json_atomic(index_path, {**settings, "shards": done, "complete": len(done) == n_shards})
        if progress is not None:
            progress(stop, total)
    if not index_path.exists() or not _read_index(folder).get("complete"):
        _write_json_atomic(index_path, {**settings, "shards": done, "complete": True})
    return WriteReport(folder, total, n_shards, written)


def _read_index(folder: Path) -> dict:
    path = folder / INDEX
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"'{folder}' has no {INDEX}; expected a folder of activation shards written by interp_core.") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"'{path}' is not readable JSON ({exc}); expected the index of an activation shard set.") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise StoreError(f"'{path}' is not an activation shard index; expected \"format\": \"{FORMAT}\".")
    try:
        ok = (int(index["d"]) >= 1 and int(index["shard_size"]) >= 1 and index["dtype"] in DTYPES and int(index["total"]) >= 1
              and isinstance(index["shards"], list) and all(isinstance(s, dict) and isinstance(s.get("file"), str) and int(s.get("rows", -1)) >= 1 for s in index["shards"]))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise StoreError(f"'{path}' is missing or has bad values for d, dtype, shard_size, total or shards; expected an index written by interp_core.")
    for s in index["shards"]:
        if Path(s["file"]).name != s["file"] or not s["file"].endswith(".safetensors"):
            raise StoreError(f"'{path}' names a shard '{s['file']}' outside its folder; expected plain file names like {_shard_name(0)}.")
    return index


class ShardSet:
    """A complete shard set, checked: every shard is there, holds "acts" of (rows, d) in the index's dtype."""

    def __init__(self, folder: str | Path):
        from safetensors import safe_open

        self.folder = Path(folder)
        index = _read_index(self.folder)
        if not index.get("complete"):
            raise StoreError(f"The activation shards in '{self.folder}' are incomplete ({len(index['shards'])} shards written); "
                             f"expected a finished set: run the collection again to resume it.")
        self.d, self.dtype, self.total, self.meta = int(index["d"]), index["dtype"], int(index["total"]), index.get("meta", {})
        self.rows = [int(s["rows"]) for s in index["shards"]]
        self.files = [self.folder / s["file"] for s in index["shards"]]
        if sum(self.rows) != self.total:
            raise StoreError(f"'{self.folder / INDEX}' lists {sum(self.rows)} rows in its shards but a total of {self.total}; expected them to agree.")
        for file, rows in zip(self.files, self.rows):
            try:
                with safe_open(str(file), framework="pt") as handle:
                    if list(handle.keys()) != ["acts"]:
                        raise StoreError(f"Shard '{file.name}' holds {list(handle.keys())}; expected one tensor named 'acts'.")
                    shape, dtype = handle.get_slice("acts").get_shape(), handle.get_slice("acts").get_dtype()
            except StoreError:
                raise
            except Exception as exc:  # missing, truncated or not safetensors
                raise StoreError(f"Shard '{file}' cannot be read ({type(exc).__name__}); expected a safetensors file written by interp_core.") from None
            if list(shape) != [rows, self.d]:
                raise StoreError(f"Shard '{file.name}' has shape {list(shape)}; its index says ({rows}, {self.d}).")
            if dtype.lower() != {"float16": "f16", "float32": "f32", "bfloat16": "bf16"}[self.dtype]:
                raise StoreError(f"Shard '{file.name}' holds {dtype} values; its index says {self.dtype}.")

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: list[int]) -> "ShardSet":
        """The same set restricted to some shards (e.g. all but the last, held out for measuring)."""
        part = object.__new__(ShardSet)
        part.__dict__.update(self.__dict__)
        part.files, part.rows = [self.files[i] for i in indices], [self.rows[i] for i in indices]
        part.total = sum(part.rows)
        return part

    @staticmethod
    def is_shard_folder(path: str | Path) -> bool:
        return Path(path).is_dir() and (Path(path) / INDEX).is_file()

    def read(self, i: int) -> torch.Tensor:
        """Shard i as float32 (rows, d)."""
        from safetensors.torch import load_file

        return load_file(str(self.files[i]))["acts"].float()

    def rows_of(self, indices: np.ndarray) -> torch.Tensor:
        """Rows by global index (any order), reading only the shards they fall in: the page's top examples."""
        from safetensors import safe_open

        indices = np.asarray(indices, dtype=np.int64)
        starts = np.cumsum([0, *self.rows])
        out = torch.empty(len(indices), self.d)
        shard_of = np.searchsorted(starts, indices, side="right") - 1
        for s in np.unique(shard_of):
            where = np.flatnonzero(shard_of == s)
            local = indices[where] - starts[s]
            lo, hi = int(local.min()), int(local.max()) + 1
            with safe_open(str(self.files[s]), framework="pt") as handle:
                block = handle.get_slice("acts")[lo:hi].float()  # one read of the span (at most a shard), not one per row
            out[torch.as_tensor(where)] = block[torch.as_tensor(local - lo)]
        return out

    def shards_for(self, rank: int, world_size: int) -> list[int]:
        return list(range(rank, len(self), world_size))

    def fit_sample(self, n: int = 65536) -> torch.Tensor:
        """Up to n rows from the first shards: enough to fit an SAE's input scale and mean."""
        parts, have = [], 0
        for i in range(len(self)):
            if have >= n:
                break
            part = self.read(i)[: n - have]
            parts.append(part)
            have += len(part)
        return torch.cat(parts)


def stream_batches(shards: ShardSet, batch_size: int, seed: int = 0, *, rank: int = 0, world_size: int = 1,
                   buffer_shards: int = 2) -> Iterator[torch.Tensor]:
    """Endless shuffled batches (batch_size, d) from this rank's shards, ``buffer_shards`` held at a time.

    Each epoch the shards are visited in a new seeded order and rank r takes every world_size-th
    shard of it (so ranks read disjoint shards); rows are shuffled within the buffer. Rows left over
    at the end of a buffer start the next one, so every batch is full.
    """
    if world_size > len(shards):
        raise StoreError(f"{world_size} processes need at least {world_size} activation shards; this set has {len(shards)}. "
                         f"Expected fewer processes or a smaller shard_size.")
    generator = torch.Generator().manual_seed(int(seed))
    carry = torch.empty(0, shards.d)
    while True:
        order = torch.randperm(len(shards), generator=generator).tolist()[rank::world_size]
        for lo in range(0, len(order), buffer_shards):
            buffer = torch.cat([carry, *(shards.read(i) for i in order[lo : lo + buffer_shards])])
            buffer = buffer[torch.randperm(len(buffer), generator=generator)]
            n_full = len(buffer) // batch_size * batch_size
            for start in range(0, n_full, batch_size):
                yield buffer[start : start + batch_size]
            carry = buffer[n_full:].clone()
            del buffer


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux: ru_maxrss is in KiB)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class StreamedActivations:
    """Activations on disk as ``fit.train_sae`` reads them: ``n`` rows, shuffled batches from the shards."""

    shards: ShardSet
    seed: int = 0
    buffer_shards: int = 2

    @property
    def n(self) -> int:
        return self.shards.total

    def batches(self, batch_size: int, rank: int = 0, world_size: int = 1) -> Iterator[torch.Tensor]:
        return stream_batches(self.shards, batch_size, self.seed, rank=rank, world_size=world_size, buffer_shards=self.buffer_shards)


@dataclass
class FeatureStatistics:
    """Per-latent figures over every row of a shard set, gathered in one streaming pass: how many rows
    fire it (``counts``), the sum and the maximum of its activations, and its ``n_top`` strongest rows
    (``top_ids`` (width, n_top) global row numbers, strongest first, -1 where fewer rows fire; ``top_values``)."""

    n: int
    counts: np.ndarray
    sums: np.ndarray
    maxima: np.ndarray
    top_ids: np.ndarray
    top_values: np.ndarray


@torch.no_grad()
def feature_statistics(encode: Callable[[torch.Tensor], torch.Tensor], shards: ShardSet, n_top: int = 20, batch_size: int = 4096,
                       device: torch.device | str = "cpu") -> FeatureStatistics:
    """Stream every shard once through ``encode`` (a batch (b, d) -> codes (b, width)) and keep, per latent,
    its count, sum, maximum and top ``n_top`` rows: memory is one shard, one batch of codes and
    (width, n_top) candidates, whatever the number of rows. Ties go to the lower row number, as
    ``explain.top_examples`` orders them."""
    counts = sums = maxima = top_values = top_ids = None
    offset = 0
    for i in range(len(shards)):
        part = shards.read(i)
        for lo in range(0, len(part), batch_size):
            codes = encode(part[lo : lo + batch_size].to(device)).float().cpu()
            if counts is None:
                width = codes.shape[1]
                counts, sums, maxima = torch.zeros(width, dtype=torch.long), torch.zeros(width, dtype=torch.float64), torch.zeros(width)
                top_values, top_ids = torch.zeros(0, width), torch.zeros(0, width, dtype=torch.long)
            counts += (codes > 0).sum(0)
            sums += codes.sum(0, dtype=torch.float64)
            maxima = torch.maximum(maxima, codes.max(0).values)
            values, rows = torch.topk(codes, min(n_top, len(codes)), dim=0)  # (m, width): this batch's best rows per latent
            top_values, top_ids = _best_rows(torch.cat([top_values, values]), torch.cat([top_ids, rows + offset + lo]), n_top)
        offset += len(part)
    top_ids = torch.where(top_values > 0, top_ids, torch.full_like(top_ids, -1))  # only rows where the latent fires
    return FeatureStatistics(offset, counts.numpy(), sums.numpy(), maxima.numpy(), top_ids.T.numpy(), top_values.clamp_min(0).T.numpy())


def _best_rows(values: torch.Tensor, rows: torch.Tensor, n_top: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The n_top largest values of each column (ties: lower row first), with their rows."""
    by_row = torch.argsort(rows, dim=0, stable=True)  # sort candidates by row, then stably by value: ties keep row order
    values, rows = values.gather(0, by_row), rows.gather(0, by_row)
    order = torch.argsort(-values, dim=0, stable=True)[:n_top]
    return values.gather(0, order), rows.gather(0, order)
