"""Write anonymizer/data/iod_rules.json: what each IOD requires, from PS3.3's tables.

    python scripts/gen_iod_rules.py PATH/TO/dicom_standard-0.1.0-py3-none-any.whl

Read from the PyPI package ``dicom-standard`` 0.1.0 (Innolitics, MIT), which ships PS3.3
parsed to JSON: ``sops.json`` (SOP Class UID -> IOD), ``ciod_to_modules.json`` (IOD ->
modules) and ``module_to_attributes.json`` (module -> attribute paths, Type and the
description, macros expanded). Written, for the de-identification to keep every IOD valid
(:mod:`anonymizer.dicom.conformance`):

- ``types``: per module, the paths (sequence tags down to the attribute, ``gggg eeee``
  hex joined by ``/``) whose Type is 1 or 2: such an attribute is replaced by a dummy or
  emptied, never removed;
- ``conditions``: per module, (attribute, condition) path pairs of the Type 1C and 2C
  attributes whose description says ``Required if <attribute> (gggg,eeee) is present``
  (or the attribute's name alone, as pydicom's dictionary spells it) with no other
  attribute named in that sentence: when the de-identification removed the
  condition, the conditional attribute goes too (``Responsible Person Role`` with
  ``Responsible Person``). Conditions on values, on other modules or on several
  attributes are not parsed and are left to the profile.

The file is data: regenerate it, never edit it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "anonymizer" / "data" / "iod_rules.json"
PREFIX = "dicom_standard-0.1.0.data/data/standard/"
TAG = re.compile(r"\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)")
SENTENCE = re.compile(r"(?:Required|Shall be present) if ([^.]*?) is present\b([^.]*)")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html or ""))


def _path(raw: str) -> str:
    return "/".join(p.upper() for p in raw.split(":")[1:])


def main(argv: list[str]) -> int:
    """Generate the rules from the ``dicom-standard`` wheel at ``argv[0]``."""
    if len(argv) != 1:
        print(__doc__)
        return 2
    wheel = Path(argv[0])
    hashes = {}
    with zipfile.ZipFile(wheel) as whl:
        def load(name: str) -> list[dict]:
            raw = whl.read(PREFIX + name)
            hashes[name] = hashlib.sha256(raw).hexdigest()
            return json.loads(raw)

        sops, ciod_modules, attributes = (load("sops.json"), load("ciod_to_modules.json"),
                                          load("module_to_attributes.json"))
        ciods = load("ciods.json")
    name_to_id = {c["name"]: c["id"] for c in ciods}
    from pydicom.datadict import DicomDictionary

    by_name = {entry[2].lower(): f"{tag:08X}" for tag, entry in DicomDictionary.items()}
    sop_classes = {s["id"]: name_to_id[s["ciod"]] for s in sops if s["ciod"] in name_to_id}
    by_ciod: dict[str, list[str]] = {}
    for row in ciod_modules:
        by_ciod.setdefault(row["ciodId"], []).append(row["moduleId"])
    paths: dict[str, set[str]] = {}
    for a in attributes:
        paths.setdefault(a["moduleId"], set()).add(_path(a["path"]))
    modules: dict[str, dict] = {}
    for a in attributes:
        module, path, kind = a["moduleId"], _path(a["path"]), a["type"]
        entry = modules.setdefault(module, {"types": {}, "conditions": []})
        if "X" in path:
            continue  # repeating groups (60xx overlays): handled by the pixel cleaning
        if kind in ("1", "2"):
            entry["types"][path] = kind
        elif kind in ("1C", "2C"):
            for m in SENTENCE.finditer(_text(a["description"])):
                subject = m.group(1).strip()
                tags = TAG.findall(subject)
                if TAG.search(m.group(2)) or " or " in subject or " and " in subject \
                        or subject.endswith(" not"):
                    continue
                if len(tags) == 1:
                    cond = (tags[0][0] + tags[0][1]).upper()
                elif not tags and (named := by_name.get(subject.lower())):
                    cond = named  # "Required if Responsible Person is present"
                else:
                    continue
                parent = path.rsplit("/", 1)[0] if "/" in path else ""
                sibling = f"{parent}/{cond}" if parent else cond
                target = sibling if sibling in paths[module] else (
                    cond if cond in paths[module] else None)
                if target and target != path and "X" not in target:
                    entry["conditions"].append([path, target])
                break
    modules = {k: {"types": dict(sorted(v["types"].items())),
                   "conditions": sorted(v["conditions"])}
               for k, v in sorted(modules.items()) if v["types"] or v["conditions"]}
    data = {
        "generated_by": "scripts/gen_iod_rules.py",
        "source": {"package": "dicom-standard", "version": "0.1.0", "license": "MIT",
                   "content": "DICOM PS3.3 (c) NEMA, parsed by Innolitics' dicom-standard "
                              "(published 2020-04)", "files_sha256": hashes},
        "sop_classes": dict(sorted(sop_classes.items())),
        "ciods": {k: sorted(set(v)) for k, v in sorted(by_ciod.items())},
        "modules": modules,
    }
    OUT.write_text(json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n",
                   encoding="utf-8")
    n_types = sum(len(m["types"]) for m in modules.values())
    n_cond = sum(len(m["conditions"]) for m in modules.values())
    print(f"{len(sop_classes)} SOP classes, {len(by_ciod)} IODs, {len(modules)} modules, "
          f"{n_types} Type 1/2 paths, {n_cond} conditions -> {OUT} "
          f"({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
