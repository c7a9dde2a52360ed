"""A network of its own for the bench: the default layout with every port shifted.

Usage::

    python -m bench.pipeline.testnet up [--run DIR] [--shift N]    # default /tmp/traza-bench-net
    python -m bench.pipeline.testnet down [--run DIR]

Writes ``DIR/topology.yaml`` (``network/topology.yaml`` with every ``*port`` + ``N``, as
``tests/integration/conftest.py`` makes the test network's) and runs ``traza network
--topology DIR/topology.yaml --run DIR/run up|down`` in a child process whose environment
names no other network. Then ``python -m bench.pipeline.run --run DIR/run``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIR = Path("/tmp/traza-bench-net")


def _shift(node: dict[str, Any], shift: int) -> dict[str, Any]:
    return {k: (v + shift if k.endswith("port") else v) for k, v in node.items()}


def shifted_topology(raw: dict[str, Any], shift: int) -> dict[str, Any]:
    """``raw`` (a parsed topology) with every CA, orderer, peer, chaincode, MinIO and mail
    port moved by ``shift``."""
    raw = dict(raw)
    orgs = []
    for org in [raw["orderer_org"], *raw["orgs"]]:
        org = dict(org)
        org["ca"] = _shift(org["ca"], shift)
        org["peers"] = [_shift(p, shift) for p in org.get("peers", [])]
        org["orderers"] = [_shift(o, shift) for o in org.get("orderers", [])]
        if "chaincode_server" in org:
            org["chaincode_server"] = _shift(org["chaincode_server"], shift)
        orgs.append(org)
    raw["orderer_org"], raw["orgs"] = orgs[0], orgs[1:]
    raw["minio"] = _shift(raw["minio"], shift)
    if raw.get("mail"):
        raw["mail"] = _shift(raw["mail"], shift)
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline.testnet",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--shift", type=int,
                        default=int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "15")))
    args = parser.parse_args(argv)
    from network import topology

    topo = args.dir / "topology.yaml"
    if args.action == "up":
        raw = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())
        args.dir.mkdir(parents=True, exist_ok=True)
        topo.write_text(yaml.safe_dump(shifted_topology(raw, args.shift), sort_keys=False))
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRAZA_TOPOLOGY", "TRAZA_NETWORK_RUN")}
    argv_ = [sys.executable, "-m", "client.cli", "network", "--topology", str(topo),
             "--run", str(args.dir / "run"), args.action]
    return subprocess.run(argv_, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
