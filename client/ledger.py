"""The ledger as the pipeline sees it: one open contract per identity, from connection profiles.

The outbox worker hands each item to :meth:`Ledger.submit`, which opens (once) the gateway
of the item's identity and submits the step with the item's request id, so a retry after a
crash is answered by the contract's replay of the first result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from .donations import Donations
from .gateway import Identity, Signer
from .outbox import OutboxItem, SubmitResult
from .profile import Profile


@dataclass(frozen=True)
class Actor:
    """Who takes a step: an org of the network (``hospital``) and one of its users."""

    org: str
    user: str

    def __str__(self) -> str:
        return f"{self.org}/{self.user}"


class Ledger:
    """Contracts per identity, opened from the profiles under ``profiles_dir`` and kept open.

    Parameters
    ----------
    profiles_dir : path
        The folder of connection profiles ``<org>/<user>.json`` (``traza network up``
        writes ``network/run/profiles``).
    unseal : callable, optional
        ``unseal(item) -> dict[str, bytes]``: the transient data of an outbox item whose
        ``sealed`` column holds it encrypted (the donor link).
    commit_timeout : float, default 20
        Seconds to wait for a submitted step's commit status. A transaction the Raft leader
        accepted and then lost with it (SIGKILL before replication) never commits; the
        outbox retries it with the same request id once this expires, so it bounds the stall
        (bench/chaos measured 60-70 s with the gateway's default of 60 s).
    identity_dirs : sequence of paths, optional
        More profile folders laid out the same way, searched after ``profiles_dir``: the web's
        wallet of per-person identities (``<run>/web/wallet/profiles``), so an outbox item
        queued as a staff person is submitted as that person by any worker.
    """

    def __init__(self, profiles_dir: str | Path, *,
                 unseal: Callable[[OutboxItem], dict[str, bytes]] | None = None,
                 commit_timeout: float = 20.0,
                 identity_dirs: Sequence[str | Path] = ()) -> None:
        self.profiles_dir = Path(profiles_dir)
        self.identity_dirs = [Path(d) for d in identity_dirs]
        self.unseal = unseal
        self.commit_timeout = commit_timeout
        self._open: dict[Actor, Donations] = {}
        self._executors: dict[Actor, str] = {}
        self._stack = ExitStack()

    def profile(self, actor: Actor) -> Profile:
        """``actor``'s connection profile: the network's first, then the identity folders."""
        try:
            return Profile.from_dir(self.profiles_dir, actor.org, actor.user)
        except ValueError:
            for folder in self.identity_dirs:
                try:
                    return Profile.from_dir(folder, actor.org, actor.user)
                except ValueError:
                    continue
            raise

    def donations(self, actor: Actor) -> Donations:
        """The typed contract of ``actor`` (retries are the outbox's job, not the client's)."""
        if actor not in self._open:
            contract = self._stack.enter_context(
                self.profile(actor).contract(commit_status_timeout=self.commit_timeout))
            self._open[actor] = Donations(contract, retries=0)
        return self._open[actor]

    def identity(self, actor: Actor) -> tuple[Identity, Signer]:
        """The certificate and signing key of ``actor`` (a clinician signs findings with it)."""
        p = self.profile(actor)
        return Identity.from_msp_dir(p.msp_id, p.msp_dir), Signer.from_msp_dir(p.msp_dir)

    def executor(self, actor: Actor) -> str:
        """SHA-256 of ``actor``'s DER certificate: the ledger's ``executor`` for its steps.

        Read once per actor: every operation-log row asks for it.
        """
        if actor not in self._executors:
            identity, _ = self.identity(actor)
            self._executors[actor] = hashlib.sha256(
                identity.x509.public_bytes(Encoding.DER)).hexdigest()
        return self._executors[actor]

    def submit(self, item: OutboxItem) -> SubmitResult:
        """Submit one outbox item as its identity, with its request id; wait for the commit."""
        transient = self.unseal(item) if item.sealed and self.unseal else None
        step = self.donations(Actor(item.org, item.user)).step(
            item.step, item.donation_id, item.arguments, request_id=item.request_id,
            transient=transient)
        # On a replay the committed transaction is the first one, named in the evidence.
        return SubmitResult(step.evidence.get("txId", step.transaction_id), step.block_number,
                            step.evidence)

    def close(self) -> None:
        self._stack.close()
        self._open.clear()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
