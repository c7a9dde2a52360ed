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
