"""The manifest of a bench corpus: what PHI was planted where, read back by the scorer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    """What was planted where: the scorer's ground truth (JSON on disk)."""

    seed: int
    files: list[dict[str, Any]] = field(default_factory=list)
    donors: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_syntaxes: dict[str, str] = field(default_factory=dict)

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Return the file entries keyed by their id."""
        return {f["id"]: f for f in self.files}

    def save(self, path: Path) -> None:
        """Write the manifest as JSON to ``path``."""
        path.write_text(json.dumps(self.__dict__, indent=1, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a manifest written by :meth:`save`."""
        return cls(**json.loads(Path(path).read_text("utf-8")))

    def labels_for(self, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Return ``{label: {kind, variants}}`` of the PHI planted in one file."""
        catalog = self.donors[entry["donor"]]["phi"]
        out = {}
        for label in entry["phi"]:
            out[label] = entry["phi_extra"].get(label) or catalog[label]
        return out


def jsonable(value: Any) -> Any:
    """Return a DICOM value as plain JSON types (lists, numbers, strings)."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [jsonable(v) for v in value]
    if isinstance(value, (int, float, str)):
        return value if not isinstance(value, str) else str(value)
    return str(value)
