"""Issue 11, item 7: faults under load on the real network (a short run of bench/chaos).

While three threads walk donations through the outbox (SQL, a worker subprocess, MinIO,
Hospital's gateway), the Raft leader, a follower, IMSS's peer, University's contract server,
MinIO, PostgreSQL (a private cluster, so no other session's server is touched) and the
outbox worker are each SIGKILLed and restarted. Then two orderers of three are killed: a
Heartbeat fails with an error, and commits resume when one comes back. Afterwards every
donation is in the state its last committed step leads to, every committed request id is
in the ledger history exactly once, the event index has every step, and every peer and
orderer holds the same block headers.
"""

from __future__ import annotations

import pytest

from bench.chaos import scenario

pytestmark = pytest.mark.timeout(900)


def test_sigkill_under_load_loses_and_duplicates_nothing(fabric, tmp_path):
    report = scenario.run(fabric, tmp_path, duration=7 * 12, every=12, down=4, threads=3)
    print(scenario.summary(report))
    names = [k.target for k in report.kills]
    assert len(names) == 7 and names[0].startswith("Raft leader") and names[-1] == "outbox worker"
    if not any(n == "PostgreSQL" for n in names):
        assert any(s.startswith("PostgreSQL") for s in report.skipped)
    t, f = report.tally, report.findings
    assert t.steps > 20 and any(v[-1].step == "Store" for v in t.committed.values()), \
        "the load did not run"
    assert t.failed == []
    assert f.duplicated == 0 and f.missing == [] and f.wrong_state == []
    assert f.not_indexed == []
    assert f.chain_mismatch == [] and len(f.chains) == len(fabric.peers) + len(fabric.orderers)
    q = report.quorum
    assert q is not None and q.error, "a Heartbeat committed without Raft quorum"
    assert q.seconds_to_resume < 60
