"""Audit entries without a database: document hashing, redaction, read summaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from auth.audit import (
    REDACTED,
    AuditConfig,
    AuditEntry,
    canonical_json,
    redact,
)
from auth.audit.access_log import AccessLog
from auth.identity.principal import Principal
from huitong.audit_recorder import document_info

INSPECTOR = Principal("wang.jw", "discipline_inspector", "滨江区纪委", "330108000000",
                      credential="jwt:t-1")
DEMO_POLICY = Path(__file__).resolve().parents[2] / "huitong" / "demo" / "policy.toml"


def build(document: str = "query Q { payments { id } }", **kwargs: object) -> AuditEntry:
    kwargs.setdefault("outcome", "ok")
    kwargs.setdefault("duration_ms", 1)
    return AuditEntry.build(INSPECTOR, document=document_info(document),  # type: ignore[arg-type]
                            **kwargs)


def test_document_hash_ignores_layout_and_comments() -> None:
    a = build("query Q { payments(first: 5) { id amount } }")
    b = build("# who paid what\nquery Q {\n  payments(first: 5) {\n    id\n"
              "    amount # sum\n  }\n}")
    c = build("query Q { payments(first: 6) { id amount } }")
    assert a.document_hash == b.document_hash != c.document_hash
    assert a.document_normalised and a.operation == "Q" and a.operation_type == "query"


def test_operation_is_picked_by_name_and_a_broken_document_is_hashed_as_sent() -> None:
    doc = "query A { regions { code } } mutation B { noop }"
    assert build(doc, operation_name="B").operation_type == "mutation"
    assert build(doc).operation_type is None  # two operations, none named: nothing runs
    broken = build("query { payments { id ")
    assert not broken.document_normalised and broken.operation_type is None
    assert broken.document_hash == build("query { payments { id ").document_hash
    assert broken.document_hash != build("query { payments { id  ").document_hash


def test_sensitive_variables_are_redacted_and_the_rest_kept() -> None:
    variables = {
        "idNumber": "110101199003074514",
        "payeeName": "张三",
        "filter": {"payeeAccount": "6222021234567890123", "regionCode": "330108001000",
                   "recipientIdNumber": None, "amountMin": 12.5},
        "search": "付款给 110101199003074514 的记录",
        "notes": ["card 6222 0212 3456 7890", "电话 13812345678", "PAY-2024-000123"],
        "first": 20,
        "after": "Y3Vyc29yOjE=",
        "invoiceNumber": "044001900111",
        "token": "abc",
        "lowIncome": True,
    }
    assert redact(variables) == {
        "idNumber": REDACTED,
        "payeeName": REDACTED,
        "filter": {"payeeAccount": REDACTED, "regionCode": "330108001000",
                   "recipientIdNumber": None, "amountMin": "12.5"},
        "search": REDACTED,
        "notes": [REDACTED, REDACTED, "PAY-2024-000123"],
        "first": 20,
        "after": "Y3Vyc29yOjE=",
        "invoiceNumber": "044001900111",
        "token": REDACTED,
        "lowIncome": True,
    }
    assert build(variables=["13812345678"]).variables == {"$not_an_object": [REDACTED]}
    entry = build(variables=variables)
    assert "110101199003074514" not in entry.body and "张三" not in entry.body
    assert '"amountMin":"12.5"' in entry.body  # no floats in the hashed JSON


def test_reads_are_listed_up_to_the_limit_then_kept_as_a_digest() -> None:
    log = AccessLog()
    log.note_rows("Payment", ["p1", "p2", "p1"], ["id", "amount", "payeeName"], ["payeeName"])
    log.note_rows("Resident", [f"r{i}" for i in range(1500)], ["id", "idNumber"], [])
    log.note_aggregate("Payment", ["amount"])
    reads = build(log=log).reads
    assert reads["Payment"] == {
        "count": 2, "digest": log.entities["Payment"].digest, "truncated": False,
        "ids_mode": "listed", "ids": ["p1", "p2"], "clear_fields": ["amount", "id"],
        "masked_fields": ["payeeName"], "aggregates": 1,
    }
    bulk = reads["Resident"]
    assert bulk["ids_mode"] == "digest" and bulk["truncated"] and "ids" not in bulk
    assert bulk["count"] == 1500 and bulk["clear_fields"] == ["id", "idNumber"]
    small = build(log=log, max_listed_ids=1).reads["Payment"]
    assert small["ids_mode"] == "digest" and "ids" not in small
    assert build(log=log).index_rows()[:3] == [
        ("Payment", None, "listed"), ("Payment", "p1", "row"), ("Payment", "p2", "row")]


def test_body_is_canonical_json_and_round_trips() -> None:
    purposeful = Principal("li", "civil_affairs", None, "330108001000", "核对低保", "apikey:k1")
    entry = AuditEntry.build(purposeful, document=document_info("{ regions { code } }"),
                             outcome="partial",
                             duration_ms=12.6, errors=["NOT_FOUND", "FORBIDDEN", "NOT_FOUND"],
                             at=datetime(2025, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
                             request_id="req-1")
    body = entry.body
    data = json.loads(body)
    assert body == canonical_json(data) and ": " not in body and "核对低保" in body
    assert data["at"] == "2025-03-01T00:00:00.000000+00:00" and data["duration_ms"] == 13
    assert data["errors"] == ["FORBIDDEN", "NOT_FOUND"] and data["client"] == "apikey:k1"
    assert data["purpose"] == "核对低保" and data["principal"]["agency"] is None
    again = AuditEntry.from_dict(data)
    assert again.body == body and again.principal == purposeful


def test_outcome_and_timestamp_are_checked() -> None:
    with pytest.raises(ValueError, match="outcome"):
        build(outcome="fine")
    with pytest.raises(ValueError, match="timezone"):
        build(at=datetime(2025, 1, 1))
    assert build(at=datetime(2025, 1, 1, tzinfo=UTC)).columns()["at"].tzinfo is not None


def test_audit_config_keys() -> None:
    env = {"AUDIT_KEY": "k" * 32, "SHORT": "k"}
    config = AuditConfig.from_table(
        {"hmac_key_env": "AUDIT_KEY", "signing_key": "keys/a.pem", "max_listed_ids": 10,
         "timeout_seconds": 2}, "huitong.toml", env, base_dir=Path("/etc/huitong"))
    assert config.hmac_key == b"k" * 32 and config.signing_key == Path("/etc/huitong/keys/a.pem")
    assert config.max_listed_ids == 10 and config.timeout_seconds == 2.0
    assert config.export_hmac_key not in (None, config.hmac_key)
    assert AuditConfig.from_table({}, "h", env).hmac_key is None
    cases: list[tuple[dict[str, object], str]] = [
        ({"hmac_key_env": "MISSING"}, "MISSING is not set"),
        ({"hmac_key_env": "SHORT"}, "shorter than 16"),
        ({"max_listed_ids": 5000}, "max_listed_ids"),
        ({"colour": "red"}, r"\[audit\].colour: unknown key"),
    ]
    for table, message in cases:
        with pytest.raises(ValueError, match=message):
            AuditConfig.from_table(table, "huitong.toml", env)
