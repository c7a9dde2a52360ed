"""traza donation: commands print what their pipeline step returns (a fake pipeline here)."""

from __future__ import annotations

from contextlib import contextmanager

from click.testing import CliRunner

from client import donation_cli
from client.intake import Deidentified


class FakePipeline:
    def deidentify(self, donation_id):
        return [Deidentified(b"", {}, "0" * 64, "Se eliminaron 3 datos de identificación.")]


def test_deidentify_prints_each_spanish_summary(monkeypatch, tmp_path):
    @contextmanager
    def fake_open(settings):
        yield FakePipeline()

    monkeypatch.setattr(donation_cli, "open_pipeline", fake_open)
    result = CliRunner().invoke(donation_cli.donation, ["deidentify", "d-" + "1" * 24],
                                obj={"run_dir": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "1 files de-identified" in result.output
    assert "Se eliminaron 3 datos de identificación." in result.output


def test_sweep_lists_and_erases_what_the_sweeper_returns(monkeypatch, tmp_path):
    from datetime import UTC, datetime

    from client import sweeper

    calls = []
    stalled = sweeper.Stalled("d-" + "2" * 24, "CONSENTED", datetime(2026, 1, 1, tzinfo=UTC),
                              datetime(2026, 2, 1, tzinfo=UTC), 1)

    def fake_sweep(p, **kw):
        calls.append(kw)
        return [stalled]

    @contextmanager
    def fake_open(settings):
        yield object()

    monkeypatch.setattr(donation_cli, "open_pipeline", fake_open)
    monkeypatch.setattr(sweeper, "sweep", fake_sweep)
    run = CliRunner().invoke
    result = run(donation_cli.donation, ["sweep", "--dry-run", "--unconsented-days", "10"],
                 obj={"run_dir": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert calls == [{"unconsented_days": 10, "dry_run": True}]
    assert f"{stalled.donation_id}  CONSENTED  last step 2026-01-01  limit 2026-02-01  " \
           "would revoke+erase" in result.output
    assert "1 stalled donations (dry run, nothing changed)" in result.output
    result = run(donation_cli.donation, ["sweep"], obj={"run_dir": str(tmp_path)})
    assert calls[-1] == {"unconsented_days": 30, "dry_run": False}
    assert "1 stalled donations erased" in result.output
    bad = run(donation_cli.donation, ["sweep", "--unconsented-days", "0"],
              obj={"run_dir": str(tmp_path)})
    assert bad.exit_code == 2
