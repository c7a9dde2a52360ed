"""``traza index``: help, and failures as ClickExceptions naming what is missing."""

from __future__ import annotations

from click.testing import CliRunner

from client.commands_index import index


def test_help_lists_rebuild_and_listen():
    result = CliRunner().invoke(index, ["--help"])
    assert result.exit_code == 0
    assert "rebuild" in result.output and "listen" in result.output


def test_missing_profile_is_a_clear_error(tmp_path, monkeypatch):
    for var in ("TRAZA_MSP_ID", "TRAZA_MSP_DIR", "TRAZA_PEER", "TRAZA_TLS_CA"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    result = CliRunner().invoke(index, ["--database-url", url, "--from-env", "rebuild"])
    assert result.exit_code == 1
    assert "set TRAZA_MSP_ID" in result.output


def test_unreachable_database_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAZA_MSP_ID", "HospitalMSP")
    monkeypatch.setenv("TRAZA_MSP_DIR", str(tmp_path))
    monkeypatch.setenv("TRAZA_PEER", "127.0.0.1:1")
    monkeypatch.setenv("TRAZA_TLS_CA", str(tmp_path / "ca.pem"))
    result = CliRunner().invoke(index, [
        "--database-url", "postgresql://traza:s3cret@127.0.0.1:1/traza?connect_timeout=2",
        "--from-env", "rebuild"])
    assert result.exit_code == 1
    assert "unavailable" in result.output and "s3cret" not in result.output
