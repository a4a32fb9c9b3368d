"""Trained models on disk: numpy arrays in an ``.npz`` plus a JSON sidecar, written atomically.

Nothing is pickled: arrays load with ``allow_pickle=False`` and the sidecar records the sha256 of
the array file, so screenwise loads only files it wrote and notices a truncated or altered one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
_LIBRARIES = ("screenwise", "scikit-learn", "numpy", "sentence-transformers", "faiss-cpu")


class ArtifactError(Exception):
    """An artifact is missing, was not written by screenwise, or does not match its sidecar."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, for the sidecar."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder, renamed
    over it: a reader finds the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_artifact(
    folder: str | Path, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Write ``name.npz`` and ``name.json`` under ``folder``; returns the sidecar's path.

    The array file is written first and the sidecar last, so a reader never finds a sidecar that
    points at a half-written array file.
    """
    import io

    folder = Path(folder)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    payload = buffer.getvalue()
    atomic_write(folder / f"{name}.npz", payload)
    sidecar = {
        "format": "screenwise-artifact",
        "format_version": FORMAT_VERSION,
        "name": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        **meta,
    }
    path = folder / f"{name}.json"
    atomic_write(path, json.dumps(sidecar, indent=2, sort_keys=True).encode("utf-8"))
    return path


def read_sidecar(folder: str | Path, name: str) -> dict[str, Any]:
    """The JSON sidecar of an artifact; raises ``ArtifactError`` when it is not one of ours."""
    path = Path(folder) / f"{name}.json"
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ArtifactError(f"{path}: no such artifact") from e
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path}: unreadable sidecar ({e})") from e
    if not isinstance(sidecar, dict) or sidecar.get("format") != "screenwise-artifact":
        raise ArtifactError(f"{path}: not a screenwise artifact")
    if sidecar.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{path}: format version {sidecar.get('format_version')} unsupported")
    return sidecar


def load_artifact(folder: str | Path, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and sidecar of an artifact written by ``save_artifact``, checksum verified."""
    sidecar = read_sidecar(folder, name)
    path = Path(folder) / f"{name}.npz"
    try:
        payload = path.read_bytes()
    except OSError as e:
        raise ArtifactError(f"{path}: {e}") from e
    if hashlib.sha256(payload).hexdigest() != sidecar.get("sha256"):
        raise ArtifactError(f"{path}: checksum does not match its sidecar")
    import io

    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, sidecar
