"""A donation's staged objects: sealed under its data key in MinIO, one SQL row each.

Originals, drafts, reports, signed findings and donor comments of an open donation live in
the ``staging`` bucket under random names (:mod:`client.objects`), each sealed with the
donation's data key, which SQL keeps wrapped by the intake org's key-encryption key. The
rows (``staged_objects``) are what erasure and purge delete by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .crypto import KeyRing
from .db.models import DonationRecord, StagedObject
from .donor import sha256_hex
from .objects import Staging

IO_THREADS = 8  # MinIO requests in flight per step: one at a time left the CPU idle
T = TypeVar("T")
R = TypeVar("R")


def in_parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]`` with :data:`IO_THREADS` requests in flight, in order."""
    with ThreadPoolExecutor(IO_THREADS) as pool:
        return list(pool.map(fn, items))


class StagedObjects:
    """Put, read, list and delete the staged objects of donations."""

    def __init__(self, staging: Staging, keys: KeyRing) -> None:
        self.staging, self.keys = staging, keys

    def data_key(self, rec: DonationRecord) -> bytes:
        """The donation's data key, unwrapped by the intake org's key-encryption key."""
        return self.keys.unwrap(rec.wrapped_key, rec.donation_id)

    def put(self, s: Session, rec: DonationRecord, kind: str,
            datas: Sequence[bytes]) -> list[StagedObject]:
        """Seal and put ``datas`` (in parallel); add a row each to ``s``, in order.

        If a put fails, the objects already put are deleted before the error is raised:
        no object is left in staging without its row.
        """
        key, did = self.data_key(rec), rec.donation_id
        with ThreadPoolExecutor(IO_THREADS) as pool:
            futures = [pool.submit(self.staging.put, key, d, donation_id=did)
                       for d in datas]  # leaving the block waits for every one
        failed = [f for f in futures if f.exception()]
        if failed:
            self.staging.delete_many([f.result() for f in futures if not f.exception()])
            raise failed[0].exception()  # type: ignore[misc]
        now, out = datetime.now(UTC), []
        for f, data in zip(futures, datas, strict=True):
            obj = StagedObject(name=f.result(), donation_id=did, kind=kind,
                               sha256=sha256_hex(data), size=len(data), created_at=now)
            s.add(obj)
            out.append(obj)
        return out

    def read(self, rec: DonationRecord, objs: Sequence[StagedObject]) -> list[bytes]:
        """The plaintexts of staged objects, fetched in parallel, in order."""
        key, did = self.data_key(rec), rec.donation_id
        return in_parallel(lambda o: self.staging.get(o.name, key, donation_id=did), objs)

    @staticmethod
    def of(s: Session, donation_id: str, *kinds: str) -> list[StagedObject]:
        """The donation's rows (of ``kinds``, or all), oldest first."""
        q = select(StagedObject).where(StagedObject.donation_id == donation_id)
        if kinds:
            q = q.where(StagedObject.kind.in_(kinds))
        return list(s.execute(q.order_by(StagedObject.created_at, StagedObject.name)).scalars())

    def delete_all(self, s: Session, donation_id: str) -> None:
        """Delete every staged object of the donation from MinIO (its rows stay to the caller)."""
        self.staging.delete_many([o.name for o in self.of(s, donation_id)])
