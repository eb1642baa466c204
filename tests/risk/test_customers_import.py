"""Importing CRM customers: bad rows are reported with their line numbers, good rows are imported, re-imports are idempotent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.domain import IdentityKey, TicketStatus
from risk.cli import register
from risk.customers_import import import_customers, resolve_time
from tests.risk.conftest import NOW

DEMO_FILE = Path(__file__).resolve().parents[2] / "risk" / "demo_customers.jsonl"

CSV_TEXT = """crm_id,name,emails,phones,handles,tier,lifetime_value,tickets,do_not_link
C-1042,Mina Rahimi,mina.rahimi@example.com,+989121234567,mastodon:mina_r;forum:mina_r,gold,4800,"[{""id"": ""T-881"", ""status"": ""reopened"", ""opened_at"": ""-9d"", ""last_contact_at"": ""-6d"", ""channel"": ""phone""}]",false
C-2001,Reza Karimi,reza.karimi@example.com,,mastodon:reza_k,silver,1250,,no
,Nameless Person,nobody@example.com,,,bronze,10,,
C-5001,Bad Value,bad@example.com,,,gold,a lot,,
C-5002,Bad Handle,x@example.com,,mina_r,bronze,20,,
C-5003,"Multi
Line Name",m@example.com,,,silver,30,"[{""id"": ""T-9"", ""status"": ""lost""}]",
C-3001,Sara Ahmadi,sara.ahmadi@example.com,,forum:sara_a,bronze,180,,true
C-5004,Bad Consent,y@example.com,,,bronze,5,,maybe
C-2001,Reza Again,reza2@example.com,,,silver,1,,
C-6001,Too,Many,Cells,,,,,,,,
C-4001,John Miller,john.miller@example.com,+14155550123,,gold,5200,,
"""


def test_csv_with_bad_rows_reports_each_with_its_line_number_and_imports_the_good_ones(store, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    report = import_customers(store, path, NOW)
    assert report.created == 4 and report.accepted == 4
    rejected = {e.line: e for e in report.rejected}
    assert sorted(rejected) == [4, 5, 6, 8, 10, 11, 12]
    assert rejected[4].reason == "missing crm_id"
    assert rejected[5].crm_id == "C-5001" and "lifetime_value" in rejected[5].reason
    assert "platform:handle" in rejected[6].reason and "'mina_r'" in rejected[6].reason
    assert rejected[8].crm_id == "C-5003" and "tickets.0" in rejected[8].reason  # the row ends on line 8
    assert "do_not_link" in rejected[10].reason and "'maybe'" in rejected[10].reason
    assert "duplicate crm_id C-2001 (first on line 3)" in rejected[11].reason
    assert rejected[12].reason == "12 cells, header has 9"
    assert str(rejected[5]).startswith("line 5 (C-5001): lifetime_value")
    mina = store.get_customer("C-1042")
    assert mina.handles == {"mastodon": ["mina_r"], "forum": ["mina_r"]} and mina.tier == "gold"
    assert mina.tickets[0].opened_at == NOW - timedelta(days=9) and mina.tickets[0].status == TicketStatus.reopened
    assert store.get_customer("C-3001").consent.do_not_link is True
    assert store.get_customer("C-4001") is not None
    assert store.find_customers([IdentityKey(kind="handle", value="forum:mina_r")]) == {"handle:forum:mina_r": ["C-1042"]}


def test_reimport_is_idempotent_by_crm_id_and_updates_changed_rows(store, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    import_customers(store, path, NOW)
    again = import_customers(store, path, NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    path.write_text(CSV_TEXT.replace("C-4001,John Miller,john.miller@example.com,+14155550123,,gold",
                                     "C-4001,John Miller,john.miller@example.com,+14155550123,,platinum"), encoding="utf-8")
    changed = import_customers(store, path, NOW)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    assert store.get_customer("C-4001").tier == "platinum"


def test_jsonl_demo_crm_resolves_relative_times_against_now(store):
    report = import_customers(store, DEMO_FILE, NOW)
    assert report.rejected == [] and report.created == 14
    mina = store.get_customer("C-1042")
    assert (mina.name, mina.tier, mina.lifetime_value) == ("Mina Rahimi", "gold", 4800)
    ticket = mina.tickets[0]
    assert (ticket.id, ticket.status, ticket.opened_at, ticket.last_contact_at) == (
        "T-881", TicketStatus.reopened, NOW - timedelta(days=9), NOW - timedelta(days=6))
    assert store.get_customer("C-3001").consent.do_not_link is True
    assert store.find_customers([IdentityKey(kind="phone", value="09121234567")]) == {"phone:989121234567": ["C-1042"]}


def test_jsonl_bad_lines_are_reported_and_the_rest_imported(store, tmp_path):
    path = tmp_path / "crm.jsonl"
    path.write_text(
        '{"crm_id": "C-1", "name": "Ali Moradi", "tier": "silver"}\n'
        '{"crm_id": "C-2", "name": "Broken JSON"\n'
        '\n'
        '["not", "an", "object"]\n'
        '{"crm_id": "C-3", "nmae": "typo field"}\n'
        '{"crm_id": "C-4", "tickets": [{"id": "T-1", "status": "open", "opened_at": "-2h"}]}\n',
        encoding="utf-8")
    report = import_customers(store, path, NOW)
    assert report.created == 2
    assert [(e.line, e.crm_id) for e in report.rejected] == [(2, None), (4, None), (5, "C-3")]
    assert "invalid JSON" in report.rejected[0].reason and "nmae" in report.rejected[2].reason
    assert store.get_customer("C-4").tickets[0].opened_at == NOW - timedelta(hours=2)


def test_unknown_file_type_and_missing_crm_id_column_are_clear_errors(store, tmp_path):
    xlsx = tmp_path / "crm.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(ValueError, match="expected .csv or .jsonl"):
        import_customers(store, xlsx, NOW)
    headerless = tmp_path / "crm.csv"
    headerless.write_text("id,name\n1,Ali\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: the CSV header must have a 'crm_id' column"):
        import_customers(store, headerless, NOW)


def test_relative_times():
    assert resolve_time("-9d", NOW) == NOW - timedelta(days=9)
    assert resolve_time("-90m", NOW) == NOW - timedelta(minutes=90)
    assert resolve_time("2026-11-01T10:00:00Z", NOW) == "2026-11-01T10:00:00Z"


def test_cli_import_prints_the_summary_and_each_rejected_row(tmp_path):
    app = typer.Typer()
    register(app)  # the same commands ``brandguard`` gets
    config = tmp_path / "brandguard.yaml"
    config.write_text(f"data_dir: {tmp_path}\nstore:\n  backend: sqlite\n  sqlite_path: {tmp_path / 'bg.db'}\n", encoding="utf-8")
    path = tmp_path / "crm.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    result = CliRunner().invoke(app, ["customers", "import", str(path), "--config", str(config), "--no-progress",
                                      "--now", "2026-11-23T10:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "4 accepted (4 created, 0 updated, 0 unchanged), 7 rejected" in result.stdout
    assert "line 5 (C-5001): lifetime_value" in result.stderr
    demo = CliRunner().invoke(app, ["customers", "import", str(DEMO_FILE), "--config", str(config), "--no-progress"])
    assert demo.exit_code == 0 and "14 accepted (10 created, 4 updated, 0 unchanged), 0 rejected" in demo.stdout
    missing = CliRunner().invoke(app, ["customers", "import", str(tmp_path / "nope.csv"), "--config", str(config)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
