"""Sandbox answers for the v1.1 transaction and coupon calls: bills, returns, retro conversion, coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import seed
from .handlers import HANDLERS, handles
from .state import Answer, Customer, SandboxRequest, SandboxState
from .v11_common import (
    bill_row,
    coupon_by,
    customer_of,
    fail,
    item_status,
    loyalty,
    ok,
    person_of,
    record_of,
    series_info,
    v11_time,
)

# --- transactions ----------------------------------------------------------------------------


def _added(state: SandboxState, t: dict[str, Any], c: Customer | None, code: int, message: str) -> Answer:
    effects = [{"type": "points", "awarded_points": str(t["points"])}] if t["points"] > 0 else []
    row: dict[str, Any] = {
        "id": t["id"],
        "number": t["number"],
        "type": t["type"],
        "delivery_status": "DELIVERED",
        "side_effects": {"effect": effects},
        "source": "instore",
        "item_status": item_status(code, message),
    }
    if c is not None:
        row["customer"] = {**person_of(c), **loyalty(c), "source": "instore"}
    if t["points"] < 0 and c is not None:
        row.update(points_deducted=-t["points"], points_balance=int(c.points))
    return ok({"transactions": {"transaction": [row]}})


def _return_amount(record: dict[str, Any], original: dict[str, Any]) -> float:
    if record.get("amount") not in (None, ""):
        return float(record["amount"])
    items = ((record.get("line_items") or {}).get("line_item")) or []
    items = items if isinstance(items, list) else [items]
    if items:
        return sum(float(i.get("amount") or 0) for i in items if isinstance(i, dict))
    return float(original["amount"])  # a full return of the whole bill


def transaction_add(state: SandboxState, req: SandboxRequest) -> Answer:
    """POST /v1.1/transaction/add (and add_with_local_currency): bills, not-interested bills and returns."""
    record = record_of(req.body, "transaction")
    kind = str(record.get("type") or "").lower()
    number = str(record.get("number") or "").strip()
    if kind not in ("regular", "not_interested", "return", "not_interested_return", "mixed"):
        return fail(605, "Invalid transaction type", "transactions")
    if not number:
        return fail(602, "Transaction number is invalid", "transactions")
    try:
        amount = float(record.get("amount") or 0)
    except (TypeError, ValueError):
        return fail(601, "Transaction amount is invalid", "transactions")
    if kind == "not_interested":
        t = state.add_anonymous_transaction(number, amount, record.get("billing_time"))
        return _added(state, t, None, 600, "Transaction added successfully")
    c = customer_of(state, record.get("customer"))
    if c is None:
        return fail(611, "Customer not found", "transactions")
    bills = [t for t in state.transactions.values() if t["userId"] == c.user_id and t["type"] == "REGULAR"]
    items = ((record.get("line_items") or {}).get("line_item")) or []
    if kind == "regular":
        if any(t["number"] == number for t in bills):
            return fail(604, "Transaction number already exists", "transactions")
        body = {
            "type": "REGULAR",
            "billNumber": number,
            "billAmount": amount,
            "billingDate": record.get("billing_time"),
            "lineItemsV2": items if isinstance(items, list) else [items],
        }
        return _added(state, state.add_transaction(c, body), c, 600, "Transaction added successfully")
    parent = str(record.get("parent_bill_number") or number)
    original = next((t for t in bills if t["number"] == parent), None)
    if original is None:
        return fail(624, "Unable to process the return: no such bill was added for this customer", "transactions")
    body = {
        "type": "RETURN",
        "billNumber": number,
        "billAmount": _return_amount(record, original),
        "billingDate": record.get("billing_time"),
        "lineItemsV2": items if isinstance(items, list) else [items],
    }
    return _added(state, state.add_transaction(c, body), c, 600, "Transaction added successfully")


for _name in ("v11_transaction_add", "v11_transaction_return", "v11_transaction_add_local_currency"):
    HANDLERS[_name] = transaction_add


def transaction_update(state: SandboxState, req: SandboxRequest) -> Answer:
    """POST /v1.1/transaction/update: a retro conversion when new_type is given, else a field update."""
    record = record_of(req.body, "transaction")
    c = customer_of(state, record.get("customer"))
    if c is None:
        return fail(611, "Customer not found", "transactions")
    t = state.transactions.get(int(record["id"])) if str(record.get("id") or "").isdigit() else None
    if record.get("new_type"):
        if req.headers.get("x-cap-client-signature") in (None, ""):
            return fail(1629, "Client signature is required to perform this action", "transactions")
        if t is None:
            return fail(1628, "Transaction id is invalid", "transactions")
        if t["type"] != "NOT_INTERESTED":
            return fail(1627, "The transaction is already marked as retro", "transactions")
        old_id = t["id"]
        state.retro_transaction(t, c)
        answered = _added(
            state, t, c, 1630, "Transaction retrospectively marked REGULAR, Transaction added successfully"
        )
        answered[1]["response"]["transactions"]["transaction"][0].update(old_id=old_id, old_type="NOT_INTERESTED")
        return answered
    if t is None and record.get("number"):
        t = next(
            (
                x
                for x in reversed(state.transactions.values())
                if x["number"] == record["number"] and x["userId"] == c.user_id
            ),
            None,
        )
    if t is None or t["userId"] != c.user_id:
        return fail(667, "Unable to find the transaction for this customer", "transactions")
    fields = ((record.get("custom_fields") or {}).get("field")) or []
    t["customFields"] = [*t.get("customFields", []), *fields]
    row = {
        "id": str(t["id"]),
        "number": t["number"],
        "type": t["type"],
        "customer": person_of(c),
        "custom_fields": {"field": t["customFields"]},
        "item_status": item_status(600, "Transaction updated successfully"),
    }
    return ok({"transactions": {"transaction": row}}, "SUCCESS")


HANDLERS["v11_transaction_update"] = transaction_update
HANDLERS["v11_transaction_retro"] = transaction_update


@handles("v11_transaction_get")
def transaction_get(state: SandboxState, req: SandboxRequest) -> Answer:
    kind = req.query.get("type", "REGULAR").upper()
    found = [t for t in state.transactions.values() if kind == "ALL" or t["type"] == kind]
    if req.query.get("id"):
        found = [t for t in found if str(t["id"]) == req.query["id"]]
    if req.query.get("number"):
        found = [t for t in found if t["number"] == req.query["number"]]
    if not found:
        return fail(625, "Transaction number does not exist", "transactions")
    rows = []
    for t in found:
        c = state.customers.get(t["userId"]) if t["userId"] is not None else None
        person = (
            {"mobile": c.identifiers.get("mobile", ""), "first_name": c.first_name, "last_name": c.last_name}
            if c
            else {}
        )
        rows.append(
            {
                **bill_row(state, t),
                "customer": person,
                "billing_store": {"code": seed.STORE["code"], "name": seed.STORE["name"]},
                "billing_till": {"code": seed.TILL_CODE, "name": seed.TILL_CODE},
            }
        )
    return ok({"transactions": {"count": len(rows), "transaction": rows}})


# --- coupons ---------------------------------------------------------------------------------


@handles("v11_coupon_issue")
def coupon_issue(state: SandboxState, req: SandboxRequest) -> Answer:
    record = record_of(req.body, "coupon")
    series = state.series.get(int(record["series_id"])) if str(record.get("series_id") or "").isdigit() else None
    if series is None:
        return fail(707, "Coupon series id is invalid", "coupon")
    c = customer_of(state, record.get("customer"))
    if c is None:
        return fail(701, "Unable to find the customer", "coupon")
    if state.series_expired(series):
        return fail(712, "The coupon series has expired", "coupon")
    coupon = state.issue_coupon(series["id"], c)
    customer = {"mobile": c.identifiers.get("mobile", ""), "user_id": str(c.user_id)}
    body = {
        "code": coupon["code"],
        "valid_till": series_info(series)["valid_till"],
        "series_info": series_info(series),
        "customer": customer,
        "item_status": item_status(700, "Coupon processing successful"),
    }
    return ok({"coupon": body}, "SUCCESS")


@handles("v11_coupon_redeem")
def coupon_redeem(state: SandboxState, req: SandboxRequest) -> Answer:
    record = record_of(req.body, "coupon")
    c = customer_of(state, record.get("customer"))
    if c is None:
        return fail(701, "Unable to find the customer", "coupons")
    coupon = coupon_by(state, record.get("code"), record.get("id"))
    if coupon is None:
        return fail(719, "Coupon code does not exist", "coupons")
    problem = state.coupon_problem(coupon["code"], c)
    if problem is not None:
        return fail(problem[0], problem[1], "coupons")
    bill = (record.get("transaction") or [{}])[0] if isinstance(record.get("transaction"), list) else {}
    amount = float(bill["amount"]) if bill.get("amount") not in (None, "") else None
    redemption_id = state.redeem_coupon(c, coupon["code"], bill.get("number"), amount)
    series = state.series[coupon["seriesId"]]
    row = {
        "customer": {k: v for k, v in person_of(c).items() if k in ("mobile", "email", "external_id")},
        "redemptionId": str(redemption_id),
        "code": coupon["code"],
        "discount_code": series["discountCode"],
        "series_code": str(series["id"]),
        "is_absolute": "true" if series["discountType"] == "ABS" else "false",
        "coupon_value": str(series["discountValue"]),
        "transaction": {"amount": f"{amount or 0:.2f}", "number": bill.get("number") or ""},
        "item_status": item_status(700, "Coupon processing successful"),
    }
    return ok({"coupons": {"coupon": row}})


@handles("v11_coupon_get")
def coupon_get(state: SandboxState, req: SandboxRequest) -> Answer:
    codes = [x.strip() for x in req.query.get("code", "").split(",") if x.strip()]
    ids = [x.strip() for x in req.query.get("id", "").split(",") if x.strip()]
    found = [x for x in (coupon_by(state, code, None) for code in codes) if x is not None]
    found += [x for x in (coupon_by(state, None, i) for i in ids) if x is not None]
    if not found:
        return fail(719, "Coupon code does not exist", "coupons")
    rows = []
    for coupon in found:
        owner = state.customers[coupon["userId"]]
        used = next(
            (
                r
                for r in state.coupon_redemptions.values()
                if r["code"] == coupon["code"].upper() and r["reactivated"] is None
            ),
            None,
        )
        info = {"redeemed": "true" if coupon["redeemed"] else "false"}
        if used is not None:
            info.update(redeemed_on=v11_time(used["time"]), redeemed_at=seed.TILL_CODE)
        rows.append(
            {
                "code": coupon["code"],
                "id": str(coupon["id"]),
                "series_id": str(coupon["seriesId"]),
                "valid_till": series_info(state.series[coupon["seriesId"]])["valid_till"],
                "issued_on": v11_time(coupon["issuedOn"]),
                "customer": {
                    "user_id": str(owner.user_id),
                    "name": f"{owner.first_name} {owner.last_name}",
                    "mobile": owner.identifiers.get("mobile", ""),
                    "email": owner.identifiers.get("email", ""),
                },
                "redemption_info": info,
                "transaction": {"number": (used or {}).get("bill") or ""},
                "item_status": {"status": "true", "code": "700", "message": "Coupon processing successful"},
            }
        )
    return ok({"coupons": {"coupon": rows if len(rows) > 1 else rows[0]}}, "SUCCESS")


@handles("v11_coupon_is_redeemable")
def coupon_is_redeemable(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(701, "Unable to find the customer", "coupons")
    code = req.query.get("code", "")
    problem = state.coupon_problem(code, c)
    # As in the reference: the check itself succeeds; is_redeemable and the item's code give the answer.
    status = {
        "status": "true",
        "code": str(problem[0] if problem else 700),
        "message": problem[1] if problem else "Coupon can be redeemed",
    }
    row: dict[str, Any] = {
        "mobile": c.identifiers.get("mobile", ""),
        "code": code,
        "is_redeemable": "false" if problem else "true",
        "item_status": status,
    }
    coupon = state.coupons.get(code.upper())
    if req.query.get("details") in ("true", "extended") and coupon is not None:
        row["series_info"] = series_info(state.series[coupon["seriesId"]])
    return ok({"coupons": {"redeemable": row}}, "SUCCESS")


@handles("v11_coupon_resend")
def coupon_resend(state: SandboxState, req: SandboxRequest) -> Answer:
    coupon = coupon_by(state, req.query.get("code"), req.query.get("id"))
    if coupon is None:
        return fail(719, "Coupon code does not exist", "coupons")
    owner = state.customers[coupon["userId"]]
    state.messages.setdefault(owner.user_id, []).append(
        {
            "id": str(900 + sum(len(x) for x in state.messages.values()) + 1),
            "sender": "BRAND",
            "receiver": owner.identifiers.get("mobile", ""),
            "subject": f"Your coupon {coupon['code']}",
            "sent_time": v11_time(datetime.now().isoformat()),
            "status": "SENT",
        }
    )
    row = {"id": str(coupon["id"]), "code": coupon["code"], "item_status": item_status(700, "Coupon Resent")}
    return ok({"coupons": {"coupon": [row]}}, "SUCCESS")


@handles("v11_coupon_series")
def coupon_series(state: SandboxState, req: SandboxRequest) -> Answer:
    raw = req.query.get("id", "")
    series = state.series.get(int(raw)) if raw.isdigit() else None
    if series is None:
        return fail(707, "Coupon series id is invalid", "series")
    item = {
        **{k: v for k, v in series_info(series).items() if k != "valid_till"},
        "valid_till_date": series_info(series)["valid_till"],
        "max_vouchers_per_user": str(series["maxVouchersPerUser"]),
        "coupons": {"issued": str(series["numIssued"]), "redeemed": str(series["numRedeemed"])},
        "item_status": item_status(700, "Coupon series fetched successfully"),
    }
    return ok({"series": {"items": {"item": item}}})
