"""The conformance battery: GraphQL queries per role over Disclosure, Subsidy and Payment.

Each case is one query for one role; a case with `walk` follows that connection's cursors to
the end (or `pages` pages). Between them they use every list feature a connector must get
right: scope per role, masking, keyset pages and cursors, totalCount, each filter operator
(explicit nulls too), orders (with ties broken by id), relations into and out of the entity
(DataLoader IN lists, per-parent windows, per-parent counts), lookups by id and `node`, region
subtrees, spendingSummary groups (with public k-suppression), and errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resolvers.ids import to_global_id

DI, CA, FO, PUB = "discipline_inspector", "civil_affairs", "finance_officer", "public"
PAGE = "totalCount pageInfo { hasNextPage endCursor } edges { cursor }"
DISCLOSURE = "id regionCode domain title period body status publishedAt"
SUBSIDY = {
    DI: "id regionCode batchNo subsidyType period recipientName recipientIdNumber amount "
        "bankCard paidAt result published recipient { id name idNumber deceasedOn }",
    CA: "id regionCode batchNo subsidyType period recipientName recipientIdNumber amount "
        "paidAt result published recipient { name deceasedOn lowIncome }",
    FO: "id regionCode batchNo subsidyType period recipientName recipientIdNumber amount "
        "bankCard paidAt result published",
    PUB: "id regionCode batchNo subsidyType period recipientName recipientIdNumber amount "
         "paidAt",
}
PAYMENT = {
    DI: "id regionCode paymentNo method payeeName payeeKind payeeIdNumber payeeAccount amount "
        "purpose functionCode economicCode paidAt status budgetIndicator { id name } "
        "reimbursement { id claimNo } inspectionCases { id subject }",
    CA: "id regionCode paymentNo method payeeName payeeKind payeeIdNumber amount purpose "
        "functionCode economicCode paidAt status",
    FO: "id regionCode paymentNo method payeeName payeeKind payeeIdNumber payeeAccount amount "
        "purpose functionCode economicCode paidAt status budgetIndicator { id } "
        "reimbursement { id claimNo }",
}


@dataclass(frozen=True)
class Case:
    name: str
    role: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    walk: str | None = None  # the root connection whose cursors are followed
    pages: int = 40
    error: str | None = None  # the code every kind must answer with, if any
    nulls: tuple[str, ...] = ()  # fields null in every node of the walked list


def _list(root: str, fields: str, args: str = "") -> str:
    head = f"query($after: String) {{ {root}(after: $after{', ' + args if args else ''})"
    return f"{head} {{ {PAGE} nodes {{ {fields} }} }} }}"


def disclosure_cases() -> list[Case]:
    cases = [Case(f"disclosures-walk-{r}", r, _list("disclosures", DISCLOSURE, "first: 100"),
                  walk="disclosures") for r in (DI, CA, PUB)]
    cases += [
        Case("disclosures-filter-domain-order-period", CA, _list(
            "disclosures", DISCLOSURE,
            "first: 40, filter: {domain: FINANCE}, orderBy: [{period: DESC}]"),
            walk="disclosures", pages=4),
        Case("disclosures-filter-published-window", DI, _list(
            "disclosures", "id status publishedAt",
            'first: 50, filter: {status: PUBLISHED, publishedFrom: "2024-01-01T00:00:00+08:00",'
            ' publishedTo: "2024-06-30T15:59:59Z"}'), walk="disclosures"),
        Case("disclosures-public-community-period", PUB, _list(
            "disclosures", DISCLOSURE,
            'first: 10, filter: {regionCode: "330108001001", period: "2024Q2"}'),
            walk="disclosures"),
        Case("disclosures-filter-title", DI, _list(
            "disclosures", "id regionCode title",
            'first: 100, filter: {title: "2024年度预算安排公开"}'),
            walk="disclosures"),
        Case("disclosures-order-status-domain", CA, _list(
            "disclosures", "id status domain period",
            "first: 60, orderBy: [{status: ASC}, {domain: DESC}, {period: ASC}]"),
            walk="disclosures", pages=3),
        Case("disclosures-null-published", CA, _list(
            "disclosures", "id status publishedAt",
            "first: 40, filter: {publishedFrom: null, domain: AFFAIRS}"), walk="disclosures",
            nulls=("publishedAt",)),
        Case("disclosures-region-subtree", PUB, """{ region(code: "330108001000") {
            disclosures(first: 5, filter: {domain: PARTY}) { totalCount nodes { id title } }
            children { code disclosures(first: 2, orderBy: [{period: DESC}]) {
              totalCount nodes { id period } } } } }"""),
        Case("disclosures-bad-cursor", CA, _list("disclosures", "id", "first: 5"),
             {"after": "bm90LWEtY3Vyc29y"}, error="INVALID_CURSOR"),
    ]
    ids = ["1", "2", "700", "1400", "99999"]
    lookups = " ".join(f'd{i}: disclosure(id: "{to_global_id("Disclosure", i)}") {{ id title }} '
                       f'n{i}: node(id: "{to_global_id("Disclosure", i)}") {{ id }}'
                       for i in ids)
    cases += [Case(f"disclosure-lookups-{r}", r, f"{{ {lookups} }}") for r in (DI, CA, PUB)]
    return cases


def subsidy_cases() -> list[Case]:
    cases = [Case(f"subsidies-walk-{r}", r, _list("subsidies", SUBSIDY[r], "first: 100"),
                  walk="subsidies") for r in (DI, CA, FO, PUB)]
    cases += [
        Case("subsidies-filter-amount-result", CA, _list(
            "subsidies", SUBSIDY[CA],
            'first: 20, filter: {result: SUCCESS, amountMin: "200.00", amountMax: "800"}, '
            "orderBy: [{amount: DESC}, {paidAt: ASC}]"), walk="subsidies", pages=3),
        Case("subsidies-filter-published-paid-window", DI, _list(
            "subsidies", "id published paidAt amount",
            'first: 50, filter: {published: false, paidFrom: "2024-01-01T00:00:00", '
            'paidTo: "2024-12-31T23:59:59"}, orderBy: [{paidAt: DESC}]'), walk="subsidies"),
        Case("subsidies-public-period-order-batch", PUB, _list(
            "subsidies", SUBSIDY[PUB],
            'first: 30, filter: {period: "2024-03"}, orderBy: [{batchNo: ASC}, {amount: DESC}]'),
            walk="subsidies"),
        Case("subsidies-officer-order-period", FO, _list(
            "subsidies", SUBSIDY[FO], "first: 25, orderBy: [{period: DESC}, {batchNo: ASC}]"),
            walk="subsidies", pages=3),
        Case("residents-with-subsidies", CA, """{ residents(first: 40) { totalCount nodes {
            idNumber name subsidies(first: 3) { id amount period result } } } }"""),
        Case("residents-with-subsidies-inspector", DI, """{ residents(first: 60,
            filter: {lowIncome: true}) { nodes { id subsidies { id paidAt amount } } } }"""),
    ]
    lookups = " ".join(f's{i}: subsidy(id: "{to_global_id("Subsidy", i)}") {{ id amount }} '
                       f'n{i}: node(id: "{to_global_id("Subsidy", i)}") {{ id }}'
                       for i in ("1", "5", "640", "1300", "5000"))
    cases += [Case(f"subsidy-lookups-{r}", r, f"{{ {lookups} }}") for r in (DI, FO, PUB)]
    return cases


def payment_cases() -> list[Case]:
    cases = [Case(f"payments-walk-{r}", r, _list("payments", PAYMENT[r], "first: 250"),
                  walk="payments") for r in (DI, CA, FO)]
    bi = to_global_id("BudgetIndicator", "3")
    cases += [
        Case("payments-filter-window-amount-method", DI, _list(
            "payments", PAYMENT[DI],
            'first: 30, filter: {paidFrom: "2024-03-01T00:00:00", paidTo: "2024-09-30T23:59:59",'
            ' amountMin: "1000", method: TRANSFER}, orderBy: [{amount: DESC}]'),
            walk="payments", pages=3),
        Case("payments-filter-economic-status", CA, _list(
            "payments", PAYMENT[CA],
            'first: 50, filter: {economicCode: "30201", status: PAID}, '
            "orderBy: [{paidAt: DESC}]"), walk="payments"),
        Case("payments-officer-payee-indicator", FO, _list(
            "payments", PAYMENT[FO], f'first: 50, filter: {{budgetIndicatorId: "{bi}"}}, '
            "orderBy: [{paymentNo: ASC}]"), walk="payments"),
        Case("payments-null-indicator", DI, _list(
            "payments", "id paymentNo amount budgetIndicator { id }",
            "first: 100, filter: {budgetIndicatorId: null}"), walk="payments",
            nulls=("budgetIndicator",)),
        Case("payments-null-id-number-and-claim", DI, _list(
            "payments", "id payeeKind payeeIdNumber reimbursement { id }",
            "first: 100, filter: {payeeIdNumber: null, reimbursementId: null, method: TRANSFER},"
            " orderBy: [{amount: DESC}]"), walk="payments", pages=5,
            nulls=("payeeIdNumber", "reimbursement")),
        Case("payments-null-on-a-required-field", FO, _list(
            "payments", "id", "first: 5, filter: {method: null}"), error="BAD_USER_INPUT"),
        Case("payments-filter-utc-offsets", DI, _list(
            "payments", "id paidAt amount",
            'first: 100, filter: {paidFrom: "2024-06-01T00:00:00Z", '
            'paidTo: "2024-06-28T00:00:00-12:00"}, orderBy: [{paidAt: ASC}]'), walk="payments"),
        Case("payments-order-method", DI, _list(
            "payments", "id method amount", "first: 80, orderBy: [{method: ASC}, {amount: ASC}]"),
            walk="payments", pages=3),
        Case("payments-order-payee-name", FO, _list(
            "payments", "id payeeName", "first: 80, orderBy: [{payeeName: DESC}]"),
            walk="payments", pages=3),
        Case("payments-count-only", CA, """{ all: payments { totalCount }
            cash: payments(filter: {method: CASH}) { totalCount }
            none: payments(filter: {amountMin: "99999999"}) { totalCount nodes { id } } }"""),
        Case("payments-first-zero", DI, "{ payments(first: 0) { totalCount nodes { id } "
             "pageInfo { hasNextPage endCursor } } }"),
        Case("budget-indicators-with-payments", FO, """{ budgetIndicators(first: 30) { nodes {
            id payments(first: 4) { id amount paidAt } } } }"""),
        Case("reimbursements-with-payment", DI, """{ reimbursements(first: 40) { nodes {
            id payment { id paymentNo amount } } } }"""),
        Case("cases-with-payments", DI, """{ inspectionCases(first: 50) { nodes {
            id payments { id paymentNo payeeName amount } } } }"""),
        Case("region-subtree-payments", DI, """{ region(code: "330108000000") { children {
            code payments(first: 3, orderBy: [{amount: DESC}]) { totalCount
            nodes { id amount } } } } }"""),
    ]
    ids = ["1", "17", "1200", "2499", "2500", "77777"]
    lookups = " ".join(f'p{i}: payment(id: "{to_global_id("Payment", i)}") {{ id amount }} '
                       f'n{i}: node(id: "{to_global_id("Payment", i)}") {{ id }}' for i in ids)
    cases += [Case(f"payment-lookups-{r}", r, f"{{ {lookups} }}") for r in (DI, CA, FO)]
    return cases


def spending_cases() -> list[Case]:
    summary = "{{ spendingSummary(groupBy: [{dims}]{args}) {{ {keys} count totalAmount }} }}"
    keys = {"REGION": "regionCode", "CATEGORY": "category", "ECONOMIC_CODE": "economicCode",
            "FUNCTION_CODE": "functionCode", "MONTH": "month", "METHOD": "method"}
    cases = []
    for role in (DI, CA, FO, PUB):
        dims = [d for d in keys if role != PUB or d != "METHOD"]
        for dim in dims:
            cases.append(Case(f"spending-{dim.lower()}-{role}", role,
                              summary.format(dims=dim, args="", keys=keys[dim])))
        cases.append(Case(f"spending-region-village-month-{role}", role, summary.format(
            dims="REGION, MONTH", args=", regionLevel: VILLAGE", keys="regionCode month")))
        cases.append(Case(f"spending-filtered-{role}", role, summary.format(
            dims="REGION, CATEGORY", keys="regionCode category",
            args=', regionLevel: TOWNSHIP, filter: {economicCode: "30201"}')))
    return cases


def all_cases() -> list[Case]:
    return [*disclosure_cases(), *subsidy_cases(), *payment_cases(), *spending_cases()]
