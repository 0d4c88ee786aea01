"""Audit entries without a database: document hashing, redaction, read summaries, purposes."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from auth.access.policy import parse_policy
from auth.audit import (
    REDACTED,
    AuditConfig,
    AuditEntry,
    PurposeRuleError,
    canonical_json,
    purpose_rules,
    redact,
)
from auth.audit.access_log import ReadLog
from auth.identity.principal import Principal

INSPECTOR = Principal("wang.jw", "discipline_inspector", "滨江区纪委", "330108000000",
                      credential="jwt:t-1")
DEMO_POLICY = Path(__file__).resolve().parents[2] / "huitong" / "demo" / "policy.toml"


def build(document: str = "query Q { payments { id } }", **kwargs: object) -> AuditEntry:
    kwargs.setdefault("outcome", "ok")
    kwargs.setdefault("duration_ms", 1)
    return AuditEntry.build(INSPECTOR, document=document, **kwargs)  # type: ignore[arg-type]


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
    log = ReadLog()
    log.note_rows("Payment", ["p1", "p2", "p1"], ["id", "amount", "payeeName"], ["payeeName"])
    log.note_rows("Resident", [f"r{i}" for i in range(1500)], ["id", "idNumber"], [])
    log.note_aggregate("Payment", ["amount"])
    reads = build(reads=log).reads
    assert reads["Payment"] == {
        "count": 2, "digest": log.entities["Payment"].digest, "truncated": False,
        "ids_mode": "listed", "ids": ["p1", "p2"], "clear_fields": ["amount", "id"],
        "masked_fields": ["payeeName"], "aggregates": 1,
    }
    bulk = reads["Resident"]
    assert bulk["ids_mode"] == "digest" and bulk["truncated"] and "ids" not in bulk
    assert bulk["count"] == 1500 and bulk["clear_fields"] == ["id", "idNumber"]
    small = build(reads=log, max_listed_ids=1).reads["Payment"]
    assert small["ids_mode"] == "digest" and "ids" not in small
    assert build(reads=log).index_rows()[:3] == [
        ("Payment", None, "listed"), ("Payment", "p1", "row"), ("Payment", "p2", "row")]


def test_body_is_canonical_json_and_round_trips() -> None:
    purposeful = Principal("li", "civil_affairs", None, "330108001000", "核对低保", "apikey:k1")
    entry = AuditEntry.build(purposeful, document="{ regions { code } }", outcome="partial",
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


RULES = """
[roles.discipline_inspector]
[roles.civil_affairs]
[roles.public]

[purpose.discipline_inspector]
required = true
pattern = "^(案|JW)[-0-9A-Z]+$"
hint = "give the case number, e.g. 案-2024-017"

[purpose.civil_affairs]
fields = ["Resident.idNumber", "Subsidy.*"]
"""


def test_purpose_rules_require_and_check_a_purpose() -> None:
    rules = purpose_rules(tomllib.loads(RULES), "policy.toml")
    refusal = rules.check(INSPECTOR)
    assert refusal is not None and "X-Huitong-Purpose" in refusal and "案-2024-017" in refusal
    with_case = Principal("wang.jw", "discipline_inspector", purpose="案-2024-017")
    assert rules.check(with_case) is None
    vague = Principal("wang.jw", "discipline_inspector", purpose="just looking")
    assert "not of the required form" in (rules.check(vague) or "")

    clerk = Principal("li", "civil_affairs")
    assert rules.check(clerk, [("Resident", "name"), ("Payment", "idNumber")]) is None
    assert "Resident.idNumber" in (rules.check(clerk, [("Resident", "idNumber")]) or "")
    assert "Subsidy.amount" in (rules.check(clerk, [("Subsidy", "amount")]) or "")
    stated = Principal("li", "civil_affairs", purpose="低保复核 2025-03")
    assert rules.check(stated, [("Resident", "idNumber")]) is None
    assert rules.check(Principal("anonymous", "public")) is None
    too_long = Principal("li", "civil_affairs", purpose="x" * 201)
    assert "printable" in (rules.check(too_long) or "")


@pytest.mark.parametrize(("table", "message"), [
    ("[purpose.nobody]\nrequired = true", "purpose.nobody: no such role"),
    ("[purpose.public]\nrequired = 1", "purpose.public.required"),
    ("[purpose.public]\nmust = true", "purpose.public.must: unknown key"),
    ("[purpose.public]\nfields = [\"Resident.salary\"]", "Resident has no field 'salary'"),
    ("[purpose.public]\nfields = [\"Person.name\"]", "unknown entity 'Person'"),
    ("[purpose.public]\nrequired = true\npattern = \"(\"", "not a valid regular expression"),
    ("[purpose.public]\nhint = \"x\"", "expected required = true or a list of fields"),
])
def test_bad_purpose_tables_are_named(table: str, message: str) -> None:
    raw = tomllib.loads("[roles.public]\n" + table)
    with pytest.raises(PurposeRuleError, match=message):
        purpose_rules(raw, "policy.toml")


def test_purpose_tables_live_beside_a_real_policy() -> None:
    raw = tomllib.loads(DEMO_POLICY.read_text(encoding="utf-8") + RULES.split("[roles.public]")[1])
    assert parse_policy(raw, "policy.toml").role("discipline_inspector") is not None
    assert purpose_rules(raw).rules["civil_affairs"].fields


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
