"""`GET /export/{root}.{ndjson|csv|xlsx}` through the front door, on SQLite and PostgreSQL:
what the GraphQL list would give, masked as GraphQL masks it, in every format, resumable,
refused with stable codes, and audited once per export with its count and digests."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from typing import Any

import openpyxl
import pytest

import publishing.export
from auth.access.masking import mask_id_number, mask_name
from auth.model.ids import from_global_id
from tests.hub_harness import DemoHub

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAYMENTS = "{ payments(first: 0%s) { totalCount } }"


def headers(hub: DemoHub, role: str, region: str | None = None) -> dict[str, str]:
    return {} if role == "public" else {"Authorization": f"Bearer {hub.token(role, region)}"}


async def get(hub: DemoHub, path: str, role: str, region: str | None = None,
              **params: str) -> Any:
    return await hub.client.get(path, params=params, headers=headers(hub, role, region))


def csv_rows(body: bytes, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode(encoding))))


async def source_payments(hub: DemoHub, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Payee name and ID number in clear, read straight from the finance database."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    raw = [int(from_global_id(i)[1]) for i in ids]  # type: ignore[index]
    engine = create_async_engine(hub.source_urls["finance"])
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                sa.text("SELECT zfmx_id, skrmc, skrzjhm, skrzh FROM cw_zfmx"))
            wanted = set(raw)
            return {str(r[0]): {"name": r[1], "id_number": r[2], "account": r[3]}
                    for r in result.all() if r[0] in wanted}
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 400 rows, so that every export here streams several."""
    monkeypatch.setattr(publishing.export, "PAGE_SIZE", 400)


async def test_csv_is_the_list_masked_like_graphql(demo_hub: DemoHub) -> None:
    response = await get(demo_hub, "/export/payments.csv", "civil_affairs")
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.headers["content-type"].startswith("text/csv")
    rows = csv_rows(response.content)
    total = (await demo_hub.data(PAYMENTS % "", role="civil_affairs"))["payments"]["totalCount"]
    assert len(rows) == total > 1000
    assert list(rows[0]) == ["id", "regionCode", "paymentNo", "method", "payeeName",
                             "payeeKind", "payeeIdNumber", "amount", "purpose",
                             "functionCode", "economicCode", "paidAt", "status"]
    raw_ids = [int(from_global_id(r["id"])[1]) for r in rows]  # type: ignore[index]
    assert raw_ids == sorted(raw_ids) and len(set(raw_ids)) == len(raw_ids)
    clear = await source_payments(demo_hub, [r["id"] for r in rows])
    body = response.content.decode("utf-8-sig")
    for row in rows:
        truth = clear[from_global_id(row["id"])[1]]  # type: ignore[index]
        assert row["payeeName"] == mask_name(truth["name"])
        if truth["id_number"]:
            assert row["payeeIdNumber"] == mask_id_number(truth["id_number"])
            assert truth["id_number"] not in body
        if truth["account"]:
            assert truth["account"] not in body
        if len(truth["name"]) > 1 and row["payeeKind"] == "PERSON":
            assert f",{truth['name']}," not in body


async def test_formats_agree(demo_hub: DemoHub) -> None:
    params = {"fields": "paymentNo,amount,payeeName,paidAt", "amountMin": "5000.00",
              "paidFrom": "2024-01-01T00:00:00"}
    as_csv = csv_rows((await get(demo_hub, "/export/payments.csv", "civil_affairs",
                                 **params)).content)
    ndjson = await get(demo_hub, "/export/payments.ndjson", "civil_affairs", **params)
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    gb = await get(demo_hub, "/export/payments.csv", "civil_affairs", encoding="gb18030",
                   **params)
    assert not gb.content.startswith(b"\xef\xbb\xbf")
    as_gb = csv_rows(gb.content, "gb18030")
    xlsx = await get(demo_hub, "/export/payments.xlsx", "civil_affairs", **params)
    assert xlsx.status_code == 200, xlsx.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert cells[0] == ("id", "paymentNo", "amount", "payeeName", "paidAt")
    filtered = await demo_hub.data(
        PAYMENTS % ', filter: {amountMin: "5000.00", paidFrom: "2024-01-01T00:00:00"}',
        role="civil_affairs")
    assert len(lines) == len(as_csv) == len(as_gb) == len(cells) - 1 \
        == filtered["payments"]["totalCount"] > 0
    for line, row, gb_row, cell in zip(lines, as_csv, as_gb, cells[1:], strict=True):
        assert list(line) == ["id", "paymentNo", "amount", "payeeName", "paidAt"]
        assert line["id"] == row["id"] == gb_row["id"] == cell[0]
        assert line["amount"] == row["amount"] == gb_row["amount"] == f"{cell[2]:.2f}"
        assert float(line["amount"]) >= 5000
        assert line["payeeName"] == row["payeeName"] == gb_row["payeeName"] == cell[3]
        assert line["paidAt"] >= "2024-01-01"


async def test_resume_after_any_row(demo_hub: DemoHub) -> None:
    full = [json.loads(x) for x in
            (await get(demo_hub, "/export/payments.ndjson", "finance_officer")).text.splitlines()]
    for k in (0, 1, len(full) // 2, len(full) - 1):
        tail = await get(demo_hub, "/export/payments.ndjson", "finance_officer",
                         after=full[k]["id"])
        assert [json.loads(x) for x in tail.text.splitlines()] == full[k + 1:]


async def test_hidden_fields_answer_like_absent_ones(demo_hub: DemoHub) -> None:
    async def answer(role: str, path: str, **params: str) -> tuple[int, str]:
        response = await get(demo_hub, path, role, **params)
        return response.status_code, response.text

    hidden = await answer("civil_affairs", "/export/payments.csv", fields="payeeAccount")
    absent = await answer("civil_affairs", "/export/payments.csv", fields="payeeAcount")
    assert hidden[0] == absent[0] == 400
    assert hidden[1].replace("payeeAccount", "X") == absent[1].replace("payeeAcount", "X")
    assert "UNKNOWN_FIELD" in hidden[1]
    # Masked fields cannot be filtered on; to the caller they are no filter at all.
    hidden = await answer("civil_affairs", "/export/payments.csv", payeeName="张三")
    absent = await answer("civil_affairs", "/export/payments.csv", payeeNom="张三")
    assert hidden[0] == absent[0] == 400
    assert hidden[1].replace("payeeName", "X") == absent[1].replace("payeeNom", "X")
    # A list the role cannot read answers like a list that does not exist.
    hidden = await answer("public", "/export/payments.csv")
    absent = await answer("public", "/export/paymants.csv")
    assert hidden[0] == absent[0] == 404
    assert hidden[1].replace("payments", "X") == absent[1].replace("paymants", "X")


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("/export/payments.pdf", {}, 404, "NOT_FOUND"),
    ("/export/payments.csv", {"amountMin": "12.345"}, 400, "BAD_USER_INPUT"),
    ("/export/payments.csv", {"paidFrom": "yesterday"}, 400, "BAD_USER_INPUT"),
    ("/export/payments.csv", {"method": "BITCOIN"}, 400, "BAD_USER_INPUT"),
    ("/export/payments.csv", {"regionCode": "33011"}, 400, "BAD_USER_INPUT"),
    ("/export/payments.csv", {"purpose": "\x00"}, 400, "UNKNOWN_PARAMETER"),
    ("/export/payments.csv", {"status": "PAID\x00"}, 400, "BAD_USER_INPUT"),
    ("/export/payments.csv", {"after": "not-a-cursor"}, 400, "INVALID_CURSOR"),
    ("/export/payments.csv", {"encoding": "latin-1"}, 400, "BAD_PARAMETER"),
    ("/export/payments.ndjson", {"encoding": "gb18030"}, 400, "BAD_PARAMETER"),
    ("/export/payments.csv", {"fields": "amount,amount"}, 400, "BAD_PARAMETER"),
])
async def test_bad_requests_have_stable_codes(demo_hub: DemoHub, path: str,
                                              params: dict[str, str], status: int,
                                              code: str) -> None:
    response = await get(demo_hub, path, "civil_affairs", **params)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert "Traceback" not in response.text


async def test_repeated_parameter_and_bad_credentials(demo_hub: DemoHub) -> None:
    response = await demo_hub.client.get(
        "/export/payments.csv?status=PAID&status=PENDING",
        headers=headers(demo_hub, "civil_affairs"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_PARAMETER"
    response = await demo_hub.client.get("/export/payments.csv",
                                         headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_one_audit_record_per_export(demo_hub: DemoHub) -> None:
    region = "330108001000"
    response = await get(demo_hub, "/export/subsidies.ndjson", "finance_officer", region,
                         fields="batchNo,amount", period="2024-03")
    assert response.status_code == 200
    sent = [json.loads(line) for line in response.text.splitlines()]
    store = demo_hub.app.state.hub.recorder.store
    record = (await store.query(subject="test-finance_officer", limit=1))[0].entry
    assert record.operation == "export subsidies.ndjson"
    export = record.extra["export"]
    digest = "sha256-" + base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert export == {"rows": len(sent), "bytes": len(response.content), "sha256": digest,
                      "completed": True, "stopped": None, "resume_after": sent[-1]["id"]}
    assert record.outcome == "ok"
    reads = record.reads["Subsidy"]
    assert reads["count"] == len(sent)
    ids = "".join(f"{from_global_id(row['id'])[1]}\n" for row in sent)  # type: ignore[index]
    assert reads["digest"] == hashlib.sha256(ids.encode()).hexdigest()
    assert record.variables["filters"] == {"period": "2024-03"}
