"""A chaos run: load, kills on a schedule, quorum loss, then the checks.

Used by ``tests/integration/test_chaos.py`` (a short run) and ``python -m bench.chaos.run``
(10 minutes, a kill every 30 s).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from client import outbox
from client.db import Database, DatabaseUnavailable
from client.db.models import OutboxItem, StepIndex
from client.gateway import GatewayError
from client.index import EventIndex
from client.objects import ObjectStoreConfig, open_store
from client.profile import Profile
from network import ready
from network.topology import Topology
from tests.integration.helpers import raft_leader

from . import processes
from .check import Findings, check_chains, check_donations
from .load import Tally, donor_thread
from .processes import PrivatePostgres, Target, Unavailable, WorkerProcess

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass
class Kill:
    target: str
    at: float  # seconds since the start of the load
    down: float  # seconds it stayed down


@dataclass
class Quorum:
    """Two orderers of three SIGKILLed: how commits stopped and resumed."""

    error: str
    seconds_to_error: float
    seconds_to_resume: float


@dataclass
class Report:
    kills: list[Kill] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # targets not killed, with the reason
    quorum: Quorum | None = None
    findings: Findings = field(default_factory=Findings)
    tally: Tally = field(default_factory=Tally)
    duration: float = 0.0
    kills_end: float = 0.0  # seconds since the start when the kill rotation ended


def leader_target(topo: Topology, label: str = "Raft leader") -> Target:
    """Kills whichever orderer leads at kill time; restarts that one."""
    killed: list[Target] = []

    def kill() -> None:
        killed[:] = [processes.orderer_target(topo, raft_leader(topo), label)]
        killed[0].kill()

    return Target(label, kill, lambda: killed.pop().restart())


def follower_target(topo: Topology) -> Target:
    killed: list[Target] = []

    def kill() -> None:
        leader = raft_leader(topo)
        follower = next(o for o in topo.orderers if o.name != leader.name)
        killed[:] = [processes.orderer_target(topo, follower, "Raft follower")]
        killed[0].kill()

    return Target("Raft follower", kill, lambda: killed.pop().restart())


class Chaos:
    """The load, its worker and index listener, and the targets, on a running network."""

    def __init__(self, topo: Topology, work: Path, *, threads: int = 3,
                 postgres: bool = True, say: Say = print) -> None:
        self.topo, self.say = topo, say
        self.profiles_dir = topo.run / "profiles"
        self.pg: PrivatePostgres | None = None
        self.skipped: list[str] = []
        if postgres:
            try:
                self.pg = PrivatePostgres()
                self.pg.start()
            except Unavailable as e:
                self.skipped.append(f"PostgreSQL: {e}; the load runs on SQLite")
        url = f"sqlite:///{work / 'chaos.db'}" if self.pg is None else self.pg.url
        self.db = Database.open(url)  # migrated
        self.worker = WorkerProcess(url, self.profiles_dir, work / "worker.log")
        self.store = open_store(ObjectStoreConfig.from_file(
            topo.run / "minio" / "hospital.json", timeout=3, retries=0))
        self.tally = Tally()
        self.stop = threading.Event()
        self.index_stop = threading.Event()
        self.threads = [threading.Thread(target=donor_thread, daemon=True,
                                         args=(self.db, self.store, self.tally, self.stop))
                        for _ in range(threads)]
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.regulator = Profile.from_dir(self.profiles_dir, "imss", "regulator1")

    def targets(self) -> list[Target]:
        """In the issue's order: leader, follower, a peer, a contract server, MinIO, SQL,
        the outbox worker. The peer and contract server are IMSS's: Hospital's gateway
        carries the load and MAJORITY needs two orgs of three."""
        t = [leader_target(self.topo), follower_target(self.topo),
             processes.peer_target(self.topo, "imss"),
             processes.contract_target(self.topo, "university"),
             processes.minio_target(self.topo)]
        if self.pg is not None:
            t.append(self.pg.target())
        t.append(self.worker.target())
        return t

    def _listen(self) -> None:
        index = EventIndex(self.db)
        while not self.index_stop.is_set():
            try:
                with self.regulator.gateway() as gw:
                    index.listen(gw.get_network(self.regulator.channel), "traza",
                                 stop=self.index_stop, reconnect_after=0.5)
            except Exception as e:  # noqa: BLE001 (any outage: reconnect)
                log.warning("index listener: %s", e)
                self.index_stop.wait(1)

    def start(self) -> None:
        self.worker.start()
        self.listener.start()
        self.tally.started = time.monotonic()
        for t in self.threads:
            t.start()

    def kill_in_turn(self, targets: list[Target], *, every: float, down: float,
                     duration: float, report: Report) -> None:
        """Kill the targets round-robin, one every ``every`` s for ``duration`` s; each stays
        down ``down`` s, then is restarted."""
        t0 = self.tally.started
        for i in range(max(1, int(duration // every))):
            target = targets[i % len(targets)]
            slot = t0 + (i + 1) * every - down
            time.sleep(max(0.0, slot - time.monotonic()))
            at = time.monotonic()
            target.kill()
            time.sleep(down)
            target.restart()
            report.kills.append(Kill(target.name, at - t0, time.monotonic() - at))
            self.say(f"[chaos] {at - t0:5.0f} s  SIGKILL {target.name}, back after "
                     f"{time.monotonic() - at:.1f} s; {self.tally.steps} steps committed")

    def quorum_loss(self, wait: float = 60, notice: float = 15) -> Quorum:
        """SIGKILL two orderers: a Heartbeat fails with a clear error; one back: it commits.

        The Heartbeat is sent ``notice`` s after the kills: by then the survivor has seen
        that it lost quorum (Raft's election timeout, 5 s with Fabric's defaults), and
        refuses the transaction at once; sent earlier, an orderer that still thinks it
        leads takes it and the client sees only its commit status time out (the leader
        steps down ~8 s after it lost its followers, in our runs).
        """
        hospital = Profile.from_dir(self.profiles_dir, "hospital", "service1")
        two = [processes.orderer_target(self.topo, o, "orderer") for o in self.topo.orderers[:2]]
        for t in two:
            t.kill()
        time.sleep(notice)
        t0 = time.monotonic()
        error = ""
        try:
            ready.heartbeat(hospital)
        except GatewayError as e:
            error = f"{type(e).__name__}: {e}"
        stopped = time.monotonic() - t0
        two[0].restart()
        t1 = time.monotonic()
        deadline = t1 + wait
        while True:
            try:
                ready.heartbeat(hospital)
                break
            except GatewayError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        resumed = time.monotonic() - t1
        two[1].restart()
        return Quorum(error, stopped, resumed)

    def finish(self, report: Report, timeout: float = 300) -> None:
        """Stop the load after its current steps, drain the outbox, let the index catch up,
        and run the checks."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
        report.duration = time.monotonic() - self.tally.started
        report.tally = self.tally
        deadline = time.monotonic() + timeout
        while self._pending() and time.monotonic() < deadline:
            time.sleep(0.5)
        committed = {c.transaction_id for steps in self.tally.committed.values() for c in steps}
        while time.monotonic() < deadline:
            with contextlib.suppress(DatabaseUnavailable), self.db.session() as s:
                have = set(s.scalars(select(StepIndex.transaction_id)))
                if committed - have:
                    time.sleep(0.5)
                    continue
            break
        self.index_stop.set()
        self.listener.join(30)
        check_donations(self.tally, self.regulator, self.db, report.findings)
        height = min(self._heights())
        profiles = {org.key: Profile.from_dir(self.profiles_dir, org.key, "regulator1")
                    for org in self.topo.orgs}
        check_chains(self.topo, profiles, height, report.findings)

    def _pending(self) -> int:
        with contextlib.suppress(DatabaseUnavailable), self.db.session() as s:
            return s.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.status.in_((outbox.TODO, outbox.DOING))))
        return 1

    def _heights(self) -> Iterator[int]:
        from network import channel
        for p in self.topo.peers:
            yield channel.height(self.topo, p)

    def close(self) -> None:
        self.stop.set()
        self.index_stop.set()
        self.worker.stop()
        self.db.dispose()
        if self.pg is not None:
            self.pg.remove()


def run(topo: Topology, work: Path, *, duration: float, every: float, down: float,
        threads: int = 3, quorum: bool = True, say: Say = print) -> Report:
    """Load for ``duration`` s with a kill every ``every`` s, then quorum loss and checks."""
    chaos = Chaos(topo, work, threads=threads, say=say)
    report = Report(skipped=list(chaos.skipped))
    try:
        chaos.start()
        chaos.kill_in_turn(chaos.targets(), every=every, down=down, duration=duration,
                           report=report)
        time.sleep(min(every, 15))  # the last target's recovery, before the quorum loss
        report.kills_end = time.monotonic() - chaos.tally.started
        if quorum:
            report.quorum = chaos.quorum_loss()
            say(f"[chaos] quorum lost: {report.quorum.error[:200]}")
        chaos.finish(report)
    finally:
        chaos.close()
    return report


def summary(report: Report) -> str:
    """The figures of a run, as printed by the bench and the test."""
    t, f, q = report.tally, report.findings, report.quorum
    stall = t.longest_stall(t.started + (report.kills_end or report.duration))
    lines = [
        f"load            {report.duration:.0f} s, {len(report.kills)} SIGKILLs "
        f"({', '.join(sorted({k.target.split(' orderer')[0] for k in report.kills}))})",
        f"committed       {t.steps} steps of {len(t.committed)} donations "
        f"({sum(1 for v in t.committed.values() if v[-1].step == 'Store')} STORED)",
        f"failed          {len(t.failed)}"
        + "".join(f"\n  {d} {s}: {e}" for d, s, e in t.failed[:5]),
        f"duplicated      {f.duplicated}",
        f"missing         {len(f.missing)}; wrong state {len(f.wrong_state)}; "
        f"not indexed {len(f.not_indexed)}",
        f"longest stall   {stall:.1f} s without a commit (during the kills)",
        "chains          " + ("identical on " + ", ".join(sorted(f.chains)) if not f.chain_mismatch
                              else "; ".join(f.chain_mismatch)),
    ]
    worst: dict[str, float] = {}
    commits = sorted(t.commits)
    for k in report.kills:
        at = t.started + k.at
        after = next((c for c in commits if c > at), None)
        gap = (after - at) if after is not None else float("inf")
        name = k.target.split(" orderer")[0]
        worst[name] = max(worst.get(name, 0.0), gap)
    lines.append("next commit     after a kill, at most: " + ", ".join(
        f"{n} {g:.1f} s" for n, g in sorted(worst.items(), key=lambda x: -x[1])))
    if q is not None:
        lines.append(f"quorum lost     Heartbeat refused after {q.seconds_to_error:.1f} s: "
                     f"{q.error[:160]}; commits resumed {q.seconds_to_resume:.1f} s after one "
                     "orderer returned")
    lines += [f"skipped         {s}" for s in report.skipped]
    return "\n".join(lines)
