"""The regulator console (read-only): search, history, blocks, integrity, exports, audit log.

Every view is guarded by ``principal.require("regulator")`` and appends an audit row (who,
what, from where) before it answers; the audit log itself is append-only (no route writes
it but :func:`web.audit.record`, and the database refuses UPDATE and DELETE on it).
Search filters are closed lists or formats, checked before any query; exports neutralise
spreadsheet formulas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from client.db.models import AuditEntry, DonationIndex, StepIndex

from . import audit
from .chart import state_chart
from .fhir import audit_bundle
from .i18n import STATE_NAMES, STEP_NAMES
from .ledger_view import LedgerReader, block_view
from .principal import require
from .verify import verify

__all__ = ["PURPOSES", "REGIMES", "Filters", "bp", "csv_cell"]

bp = Blueprint("regulator", __name__, url_prefix="/regulator")
PURPOSES = ("aiTraining", "commercial", "research", "teaching")
REGIMES = ("LFPDPPP_2025", "LGPDPPSO")
MSP = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
DONATION = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
TX = re.compile(r"[0-9a-f]{64}")
PAGE = 100
EXPORT_MAX = 100_000
# A cell a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """``value`` as a CSV cell that no spreadsheet evaluates (a leading ``'`` if needed)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@dataclass(frozen=True)
class Filters:
    """A search, every field checked against its closed list or format."""

    state: str = ""
    org: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    purpose: str = ""
    regime: str = ""

    @classmethod
    def from_args(cls, args: Any) -> tuple[Filters, list[str]]:
        """Parse ``request.args``; returns the filters and the errors (fields left empty)."""
        errors: list[str] = []
        values: dict[str, Any] = {}

        def pick(name: str, ok: Any, label: str) -> None:
            raw = (args.get(name) or "").strip()
            if raw and not ok(raw):
                errors.append(label)
            elif raw:
                values[name] = raw

        pick("state", lambda v: v in STATE_NAMES, "state")
        pick("org", MSP.fullmatch, "org")
        pick("purpose", lambda v: v in PURPOSES, "purpose")
        pick("regime", lambda v: v in REGIMES, "regime")
        for name in ("date_from", "date_to"):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    values[name] = dt.date.fromisoformat(raw)
                except ValueError:
                    errors.append(name)
        f = cls(**values)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            errors.append("date_to")
        return f, errors

    def apply(self, q: Select) -> Select:
        if self.state:
            q = q.where(DonationIndex.state == self.state)
        if self.org:
            q = q.where(DonationIndex.intake_msp == self.org)
        if self.regime:
            q = q.where(DonationIndex.legal_regime == self.regime)
        if self.purpose:  # purposes are comma-joined codes of a closed list
            q = q.where((func.coalesce(DonationIndex.purposes, "") + ",")
                        .contains(self.purpose + ","))
        if self.date_from:
            q = q.where(DonationIndex.registered_at >= _start(self.date_from))
        if self.date_to:
            q = q.where(DonationIndex.registered_at < _start(self.date_to + dt.timedelta(1)))
        return q

    def args(self) -> dict[str, str]:
        """The filters that are set, as query arguments."""
        return {k: v.isoformat() if isinstance(v, dt.date) else v
                for k, v in asdict(self).items() if v}

    def describe(self) -> str:
        """The query as the audit row names it (``state=STORED&org=HospitalMSP``)."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.args().items())) or "all"


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _filters() -> Filters:
    f, errors = Filters.from_args(request.args)
    if errors:
        audit.record("regulator.search", ",".join(errors), "invalid")
        abort(400)
    return f


def _reader() -> LedgerReader:
    reader: LedgerReader | None = current_app.extensions.get("traza_ledger")
    if reader is None:
        abort(503)
    return reader


def _row(d: DonationIndex) -> dict[str, Any]:
    return {"donationId": d.donation_id, "state": d.state, "intakeMsp": d.intake_msp,
            "legalRegime": d.legal_regime or "", "purposes": d.purposes or "",
            "registeredAt": d.registered_at.isoformat() if d.registered_at else "",
            "updatedAt": d.updated_at.isoformat(), "lastBlock": d.last_block}


def _counts(f: Filters) -> dict[str, int]:
    q = f.apply(select(DonationIndex.state, func.count()).group_by(DonationIndex.state))
    return dict(g.db.execute(q).all())


@bp.get("/")
@require("regulator")
def search() -> tuple[str, int]:
    """The search form, counts by state, the chart and one page of results."""
    f, errors = Filters.from_args(request.args)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows: list[DonationIndex] = []
    counts: dict[str, int] = {}
    if not errors:
        q = f.apply(select(DonationIndex)).order_by(DonationIndex.registered_at.desc(),
                                                    DonationIndex.donation_id)
        rows = list(g.db.scalars(q.limit(PAGE + 1).offset((page - 1) * PAGE)))
        counts = _counts(f)
    audit.record("regulator.search", f.describe(), "invalid" if errors else "success")
    return render_template(
        "regulator/search.html", filters=f, errors=errors, rows=rows[:PAGE],
        more=len(rows) > PAGE, page=page, counts=counts, total=sum(counts.values()),
        states=STATE_NAMES, purposes=PURPOSES, regimes=REGIMES), 400 if errors else 200


@bp.get("/chart.svg")
@require("regulator")
def chart() -> Response:
    """Donations by state over time (month of registration), as a server-drawn SVG."""
    f = _filters()
    month = (func.strftime("%Y-%m", DonationIndex.registered_at) if g.db.bind.dialect.name
             == "sqlite" else func.to_char(DonationIndex.registered_at, "YYYY-MM"))
    q = f.apply(select(month, DonationIndex.state, func.count())
                .where(DonationIndex.registered_at.is_not(None))
                .group_by(month, DonationIndex.state))
    data = [(m, s, n) for m, s, n in g.db.execute(q).all()]
    audit.record("regulator.chart", f.describe())
    svg = state_chart(data, {k: str(v) for k, v in STATE_NAMES.items()},
                      title=str(_l("Donations by state and month of registration")))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _export_rows(f: Filters) -> list[dict[str, Any]]:
    q = f.apply(select(DonationIndex)).order_by(DonationIndex.registered_at,
                                                DonationIndex.donation_id)
    return [_row(d) for d in g.db.scalars(q.limit(EXPORT_MAX))]


@bp.get("/export.csv")
@require("regulator")
def export_csv() -> Response:
    """The search's donations as CSV (formulas neutralised)."""
    f = _filters()
    rows = _export_rows(f)
    out = io.StringIO()
    fields = ["donationId", "state", "intakeMsp", "legalRegime", "purposes", "registeredAt",
              "updatedAt", "lastBlock"]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for r in rows:
        writer.writerow([csv_cell(r[k]) for k in fields])
    audit.record("regulator.export", f"csv:{f.describe()}")
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="donaciones.csv"',
        "Cache-Control": "no-store"})


@bp.get("/export.json")
@require("regulator")
def export_json() -> Response:
    """The search's donations as JSON, with the filters and counts."""
    f = _filters()
    rows = _export_rows(f)
    audit.record("regulator.export", f"json:{f.describe()}")
    body = {"filters": f.args(), "count": len(rows), "byState": _counts(f), "donations": rows}
    return Response(json.dumps(body, sort_keys=True, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="donaciones.json"',
                             "Cache-Control": "no-store"})


def _donation(donation_id: str) -> DonationIndex:
    if not DONATION.fullmatch(donation_id):
        abort(404)
    row = g.db.get(DonationIndex, donation_id)
    if row is None:
        audit.record("regulator.history", donation_id, "not-found")
        abort(404)
    return row


def _steps(donation_id: str) -> list[StepIndex]:
    return list(g.db.scalars(select(StepIndex).where(StepIndex.donation_id == donation_id)
                             .order_by(StepIndex.block_number, StepIndex.id)))


@bp.get("/donations/<donation_id>")
@require("regulator")
def history(donation_id: str) -> str:
    """A donation's full history: every step with its transaction, block and evidence."""
    d = _donation(donation_id)
    steps = _steps(donation_id)
    audit.record("regulator.history", donation_id)
    evidence = {s.transaction_id: json.dumps(json.loads(s.evidence).get("data") or {},
                                             indent=1, sort_keys=True) for s in steps}
    return render_template("regulator/donation.html", d=d, steps=steps, evidence=evidence,
                           step_names=STEP_NAMES, states=STATE_NAMES)


@bp.get("/donations/<donation_id>/integrity")
@require("regulator")
def integrity(donation_id: str) -> str:
    """Re-verify the donation on the ledger now: the evidence bundle's every check."""
    d = _donation(donation_id)
    steps = {s.transaction_id: s.block_number for s in _steps(donation_id)}
    if not steps:
        abort(404)
    reader = _reader()
    try:
        result = verify(reader.bundle(donation_id, steps),
                        current_app.extensions.get("traza_library"))
    except Exception:  # the peer down or a refused read
        audit.record("regulator.integrity", donation_id, "unavailable")
        abort(503)
    audit.record("regulator.integrity", donation_id, "success" if result.ok else "failed")
    return render_template("regulator/integrity.html", d=d, result=result)


def _block(number: int) -> Any:
    reader = _reader()
    try:
        block = reader.block(number)
        previous = reader.block(number - 1) if number > 0 else None
    except Exception:
        audit.record("regulator.block", f"block:{number}", "unavailable")
        abort(503)
    return block_view(block, previous)


@bp.get("/blocks/<int:number>")
@require("regulator")
def block(number: int) -> str:
    """One block: its header hashes checked against itself and block n-1, its transactions."""
    view = _block(number)
    audit.record("regulator.block", f"block:{number}")
    return render_template("regulator/block.html", b=view, selected=None)


@bp.get("/tx/<tx_id>")
@require("regulator")
def transaction(tx_id: str) -> str:
    """One transaction, shown in its block (found through the index)."""
    if not TX.fullmatch(tx_id):
        abort(404)
    number = g.db.scalar(select(StepIndex.block_number)
                         .where(StepIndex.transaction_id == tx_id))
    if number is None:
        audit.record("regulator.tx", tx_id, "not-found")
        abort(404)
    view = _block(number)
    audit.record("regulator.tx", tx_id)
    return render_template("regulator/block.html", b=view, selected=tx_id)


def _audit_query() -> Select:
    q = select(AuditEntry)
    actor = (request.args.get("actor") or "").strip()[:64]
    action = (request.args.get("action") or "").strip()[:32]
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        q = q.where(AuditEntry.action == action)
    return q


@bp.get("/audit")
@require("regulator")
def audit_log() -> str:
    """The audit log, newest first (reading it is itself recorded)."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = list(g.db.scalars(_audit_query().order_by(AuditEntry.id.desc())
                             .limit(PAGE + 1).offset((page - 1) * PAGE)))
    audit.record("regulator.audit", f"page={page}")
    return render_template("regulator/audit.html", rows=rows[:PAGE], more=len(rows) > PAGE,
                           page=page, actor=request.args.get("actor", ""),
                           action=request.args.get("action", ""))


@bp.get("/audit.json")
@require("regulator")
def audit_export() -> Response:
    """The audit log as a FHIR R4 Bundle of AuditEvent resources (IHE BALP style)."""
    rows: Iterable[AuditEntry] = g.db.scalars(_audit_query().order_by(AuditEntry.id)
                                              .limit(EXPORT_MAX))
    body = audit_bundle(rows)
    audit.record("regulator.audit-export", f"entries={body['total']}")
    return Response(json.dumps(body, indent=1), mimetype="application/fhir+json",
                    headers={"Content-Disposition": 'attachment; filename="auditoria.json"',
                             "Cache-Control": "no-store"})
