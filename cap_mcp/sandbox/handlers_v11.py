"""Stateful sandbox answers for the v1.1 companion operations, in v1.1's envelopes.

The histories are read from the same state the v2 and points handlers change: a bill added
through transaction_add, points redeemed through points_redeem or a coupon redeemed through
coupon_redeem show up in v11_customer_transactions and v11_customer_redemptions. Notes,
tickets and the messages the brand sent exist only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import seed
from .handlers import HANDLERS, handles
from .state import Answer, Customer, SandboxRequest, SandboxState

_IDENTIFIERS = ("id", "user_id", "mobile", "email", "external_id", "card_number")
_ALL_FAILED = {"success": "false", "code": 500, "message": "All requests have failed due to errors"}


def _ok(body: dict[str, Any], message: str = "Success") -> Answer:
    return 200, {"response": {"status": {"success": "true", "code": 200, "message": message}, **body}}


def _fail(code: int, message: str, entity: str = "customer") -> Answer:
    item = {"item_status": {"success": "false", "code": str(code), "message": message}}
    return 200, {"response": {"status": dict(_ALL_FAILED), entity: item}}


def _item(code: int, message: str) -> dict[str, str]:
    return {"success": "true", "code": str(code), "message": message}


def _first(value: Any) -> str | None:
    """A v1.1 identifier value; several comma-separated customers are answered with the first."""
    if value in (None, ""):
        return None
    return str(value).split(",")[0].strip()


def _customer(state: SandboxState, source: Any) -> Customer | None:
    if not isinstance(source, dict):
        return None
    card = source.get("card_details")
    if isinstance(card, dict) and card.get("card_number"):
        source = {**source, "card_number": card["card_number"]}
    for key in _IDENTIFIERS:
        value = _first(source.get(key))
        if value is not None:
            return state.find("id" if key == "user_id" else key, value)
    return None


def _record(body: Any, entity: str) -> dict[str, Any]:
    """The first item of a v1.1 body: {"root": {entity: [item]}} or {"root": {entity: item}}."""
    root = body.get("root") if isinstance(body, dict) else None
    items = root.get(entity) if isinstance(root, dict) else None
    if isinstance(items, list):
        items = items[0] if items else None
    return items if isinstance(items, dict) else {}


def _time(value: Any) -> str:
    """Capillary's v1.1 date-time: YYYY-MM-DD HH:MM:SS."""
    text = str(value or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


def _in_range(when: str, req: SandboxRequest) -> bool:
    start, end = req.query.get("start_date"), req.query.get("end_date")
    return (not start or when[: len(start)] >= start) and (not end or when[: len(end)] <= end)


def _window(rows: list[dict[str, Any]], req: SandboxRequest, default: int = 10) -> list[dict[str, Any]]:
    offset = int(req.query.get("offset") or 0)
    limit = int(req.query.get("limit") or default)
    return rows[offset : offset + limit]


def _person(c: Customer) -> dict[str, Any]:
    return {
        "user_id": str(c.user_id),
        "firstname": c.first_name,
        "lastname": c.last_name,
        "mobile": c.identifiers.get("mobile", ""),
        "email": c.identifiers.get("email", ""),
        "external_id": c.identifiers.get("externalId", ""),
    }


def _loyalty(c: Customer) -> dict[str, Any]:
    return {
        "lifetime_points": int(c.lifetime_points),
        "loyalty_points": int(c.points),
        "lifetime_purchases": c.purchases,
        "current_slab": c.tier,
        "type": "LOYALTY",
    }


# --- customer --------------------------------------------------------------------------------


@handles("v11_customer_get")
def customer_get(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier", "customers")
    coupons = [_coupon_row(state, x) for x in state.coupons.values() if x["userId"] == c.user_id]
    customer = {**_person(c), **_loyalty(c), "fraud_details": {"status": "CONFIRMED" if c.status == "FRAUD" else "NONE"},
                "coupons": coupons, "notes": list(state.notes.get(c.user_id, [])),
                "item_status": {**_item(1000, "Customer successfully retrieved"), "warnings": []}}  # fmt: skip
    return _ok({"customers": {"customer": customer}})


def _bill_points(state: SandboxState, t: dict[str, Any]) -> dict[str, Any]:
    redeemed = sum(r["points"] - r["reversed"] for r in state.redemptions.values() if r["bill"] == t["number"])
    points = t["points"]
    return {"issued": str(max(points, 0)), "redeemed": str(int(redeemed)), "returned": str(max(-points, 0)),
            "expired": "0", "program_id": str(seed.PROGRAM_ID)}  # fmt: skip


def _bill_row(state: SandboxState, t: dict[str, Any]) -> dict[str, Any]:
    coupons = [
        r["code"] for r in state.coupon_redemptions.values() if r["bill"] == t["number"] and not r["reactivated"]
    ]
    return {
        "id": str(t["id"]),
        "number": t["number"],
        "type": t["type"],
        "amount": str(t["amount"]),
        "billing_time": _time(t["date"]),
        "store": seed.STORE["name"],
        "store_code": seed.STORE["code"],
        "points": _bill_points(state, t),
        "coupons": coupons,
        "line_items": {"line_item": list(t["lineItems"])},
        "custom_fields": {"field": list(t.get("customFields", []))},
    }


@handles("v11_customer_transactions")
def customer_transactions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    bills = [t for t in state.transactions.values() if t["userId"] == c.user_id]
    bills = [t for t in bills if _in_range(_time(t["date"]), req)]
    if req.query.get("number"):
        bills = [t for t in bills if t["number"] == req.query["number"]]
    if req.query.get("transaction_id"):
        bills = [t for t in bills if str(t["id"]) == req.query["transaction_id"]]
    key = "id" if req.query.get("sort") == "trans_id" else "date"
    bills.sort(key=lambda t: (_time(t[key]) if key == "date" else t["id"], t["id"]),
               reverse=req.query.get("order", "desc") != "asc")  # fmt: skip
    shown = _window(bills, req)
    customer = {**_person(c), **_loyalty(c), "count": len(bills), "rows": str(len(shown)),
                "transactions": {"transaction": [_bill_row(state, t) for t in shown]},
                "item_status": {**_item(1052, "Transactions fetched successfully"), "warnings": {"warning": []}}}  # fmt: skip
    return _ok({"customer": customer})


def _points_redemption(rid: str, r: dict[str, Any]) -> dict[str, Any]:
    reversals = [{"reversal_id": x["id"], "points_reversed": x["points"], "reversal_time": _time(x["time"])}
                 for x in r["reversals"]]  # fmt: skip
    return {"id": rid, "program_id": seed.PROGRAM_ID, "points_redeemed": r["points"], "transaction_number": r["bill"] or "",
            "redeemed_time": _time(r["time"]), "redeemed_at": seed.TILL_CODE, "notes": r["notes"] or "",
            "reversals": reversals}  # fmt: skip


def _coupon_redemption(state: SandboxState, rid: int, r: dict[str, Any]) -> dict[str, Any]:
    coupon = state.coupons[r["code"]]
    series = state.series[coupon["seriesId"]]
    row = {"id": str(rid), "code": coupon["code"], "series_id": str(series["id"]), "description": series["description"],
           "discount_code": series["discountCode"], "discount_type": series["discountType"],
           "transaction_number": r["bill"] or "", "redeemed_time": _time(r["time"]), "redeemed_at": seed.TILL_CODE}  # fmt: skip
    if r["reactivated"]:
        row["reactivated_time"] = _time(r["reactivated"])  # undone with coupon_reactivate
    return row


@handles("v11_customer_redemptions")
def customer_redemptions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    kind = req.query.get("type", "BOTH").upper()
    points = [_points_redemption(rid, r) for rid, r in state.redemptions.items() if r["userId"] == c.user_id]
    coupons = [_coupon_redemption(state, rid, r) for rid, r in state.coupon_redemptions.items()
               if r["userId"] == c.user_id]  # fmt: skip
    points = [p for p in points if _in_range(p["redeemed_time"], req)] if kind != "COUPONS" else []
    coupons = [x for x in coupons if _in_range(x["redeemed_time"], req)] if kind != "POINTS" else []
    points.sort(key=lambda p: p["redeemed_time"], reverse=True)
    coupons.sort(key=lambda x: x["redeemed_time"], reverse=True)
    points, coupons = _window(points, req), _window(coupons, req)
    customer = {**{k: v for k, v in _person(c).items() if k != "user_id"}, "rows": str(len(points) + len(coupons)),
                "coupons_count": str(len(coupons)), "points_count": str(len(points)),
                "redemptions": {"coupons": {"coupon": coupons}, "points": {"point": points}},
                "item_status": _item(200, "Redemptions fetched")}  # fmt: skip
    if req.query.get("user_id") == "true":
        customer["user_id"] = str(c.user_id)
    return _ok({"customer": customer}, "SUCCESS")


def _coupon_row(state: SandboxState, coupon: dict[str, Any]) -> dict[str, Any]:
    series = state.series[coupon["seriesId"]]
    redemptions = [{"date": _time(r["time"]), "transaction_number": r["bill"] or "",
                    "redeemed_at": {"code": seed.STORE["code"], "name": seed.STORE["name"]}}
                   for r in state.coupon_redemptions.values()
                   if r["code"] == coupon["code"].upper() and r["reactivated"] is None]  # fmt: skip
    return {"id": str(coupon["id"]), "series_id": str(series["id"]), "code": coupon["code"],
            "description": series["description"], "created_date": _time(coupon["issuedOn"]),
            "valid_till": str(series["validTillDate"])[:10], "redeemed": "true" if coupon["redeemed"] else "false",
            "redemption_count": str(len(redemptions)), "redemptions": {"redemption": redemptions}}  # fmt: skip


@handles("v11_customer_coupons")
def customer_coupons(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier", "customers")
    coupons = [x for x in state.coupons.values() if x["userId"] == c.user_id]
    wanted = req.query.get("status")
    if wanted is not None:

        def status_of(x: dict[str, Any]) -> set[str]:
            expired = state.series_expired(state.series[x["seriesId"]])
            return {"redeemed" if x["redeemed"] else "unredeemed", "expired" if expired else "active"}

        coupons = [x for x in coupons if wanted in status_of(x)]
    if req.query.get("series_id"):
        coupons = [x for x in coupons if str(x["seriesId"]) == req.query["series_id"]]
    rows = [_coupon_row(state, x) for x in coupons][: int(req.query.get("limit") or 100)]
    customer = {"firstname": c.first_name, "lastname": c.last_name, "email": c.identifiers.get("email", ""),
                "mobile": c.identifiers.get("mobile", ""), "external_id": c.identifiers.get("externalId", ""),
                "id": str(c.user_id), "coupons": {"coupon": rows},
                "item_status": _item(1000, "Issued coupons retrieved successfully")}  # fmt: skip
    pagination = {"limit": req.query.get("limit") or "100", "offset": "0", "total": len(rows)}
    return _ok({"pagination": pagination, "customers": {"customer": customer}}, "SUCCESS")


# --- notes and tickets -----------------------------------------------------------------------


def notes_write(state: SandboxState, req: SandboxRequest) -> Answer:
    """POST /v1.1/customer/notes: a note with an id changes that note, one without adds a note."""
    record = _record(req.body, "customer")
    c = _customer(state, record)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    given = (record.get("notes") or {}).get("note") or [{}]
    note = given[0] if isinstance(given, list) else given
    text = str(note.get("description") or "").strip()
    if not text:
        return _fail(1037, "Unable to add/update customer notes: the description is empty")
    notes = state.notes.setdefault(c.user_id, [])
    if note.get("id") not in (None, ""):
        stored = next((n for n in notes if n["id"] == str(note["id"])), None)
        if stored is None:
            return _fail(1037, f"Unable to update customer notes: no note {note['id']} for this customer")
        stored["description"] = text
        message = "Customer note updated successfully"
    else:
        stored = {"id": str(sum(len(x) for x in state.notes.values()) + 1), "description": text,
                  "date": str(note.get("date") or _time(datetime.now().isoformat()))}  # fmt: skip
        notes.append(stored)
        message = "Customer note added/updated successfully"
    return _ok({"customer": {**_person(c), "notes": {"note": [dict(stored)]}, "item_status": _item(1000, message)}})


HANDLERS["v11_customer_add_note"] = notes_write
HANDLERS["v11_customer_update_note"] = notes_write


@handles("v11_customer_notes")
def customer_notes(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    notes = [
        {"id": n["id"], "description": n["description"], "added_on": n["date"]} for n in state.notes.get(c.user_id, [])
    ]
    status = (
        _item(1000, "Customer note retrieved successfully") if notes else _item(1028, "No customer notes are available")
    )
    return _ok({"customer": {**_person(c), "notes": {"note": notes}, "item_status": status}}, "Operation Successful")


_TICKET_FIELDS = ("status", "priority", "department", "subject", "message", "reported_from", "type")


@handles("v11_customer_create_ticket")
def create_ticket(state: SandboxState, req: SandboxRequest) -> Answer:
    record = _record(req.body, "customer")
    c = _customer(state, record)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier", "customers")
    given = record.get("ticket") or [{}]
    ticket = given[0] if isinstance(given, list) else given
    if not str(ticket.get("subject") or "").strip():
        return _fail(1303, "Ticket subject should not be empty", "customers")
    tickets = state.tickets.setdefault(c.user_id, [])
    if any(t["subject"] == ticket["subject"] for t in tickets):
        return _fail(1301, "A ticket already exists with the same subject", "customers")
    stored = {k: str(ticket[k]) for k in _TICKET_FIELDS if ticket.get(k) not in (None, "")}
    stored.setdefault("status", "OPEN")
    stored["code"] = str(ticket.get("ticket_code") or f"TKT-{sum(len(x) for x in state.tickets.values()) + 1:04d}")
    stored["created_on"] = _time(datetime.now().isoformat())
    tickets.append(stored)
    person = {k: v for k, v in _person(c).items() if k in ("email", "mobile", "external_id")}
    customer = {
        **person,
        "id": str(c.user_id),
        "ticket": dict(stored),
        "item_status": _item(1300, "Ticket added successfully"),
    }
    return _ok({"customers": {"customer": customer}}, "SUCCESS")


@handles("v11_customer_tickets")
def customer_tickets(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    tickets = list(state.tickets.get(c.user_id, []))
    for key in (*_TICKET_FIELDS, "code"):
        wanted = req.query.get("ticket_code" if key == "code" else key)
        if wanted is not None:
            tickets = [t for t in tickets if t.get(key, "").upper() == wanted.upper()]
    tickets = [t for t in tickets if _in_range(t["created_on"], req)]
    customer = {**{k: v for k, v in _person(c).items() if k != "user_id"}, "id": str(c.user_id),
                "tickets": {"ticket": tickets}, "item_status": _item(1300, "Ticket retrieved successfully")}  # fmt: skip
    return _ok({"customer": customer}, "SUCCESS")


@handles("v11_customer_interactions")
def customer_interactions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(1012, "Cannot find customer with the provided identifier")
    sent = [m for m in state.messages.get(c.user_id, []) if _in_range(m["sent_time"], req)]
    interaction = [{"type": "sms", "count": str(len(sent)), "messages": {"message": sent}}] if sent else []
    networks = [{"name": "capillary", "interaction": interaction}]
    if req.query.get("network") not in (None, "capillary"):
        networks = []
    customer = {"id": str(c.user_id), "mobile": c.identifiers.get("mobile", ""), "email": c.identifiers.get("email", ""),
                "external_id": c.identifiers.get("externalId", ""), "interactions": {"network": networks}}  # fmt: skip
    return 200, {"response": {"status": {"success": "true", "response_code": "200", "message": "Success"},
                              "customer": customer}}  # fmt: skip


# --- transactions ----------------------------------------------------------------------------


def _added(state: SandboxState, t: dict[str, Any], c: Customer | None, code: int, message: str) -> Answer:
    effects = [{"type": "points", "awarded_points": str(t["points"])}] if t["points"] > 0 else []
    row: dict[str, Any] = {"id": t["id"], "number": t["number"], "type": t["type"], "delivery_status": "DELIVERED",
                           "side_effects": {"effect": effects}, "source": "instore", "item_status": _item(code, message)}  # fmt: skip
    if c is not None:
        row["customer"] = {**_person(c), **_loyalty(c), "source": "instore"}
    if t["points"] < 0 and c is not None:
        row.update(points_deducted=-t["points"], points_balance=int(c.points))
    return _ok({"transactions": {"transaction": [row]}})


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
    record = _record(req.body, "transaction")
    kind = str(record.get("type") or "").lower()
    number = str(record.get("number") or "").strip()
    if kind not in ("regular", "not_interested", "return", "not_interested_return", "mixed"):
        return _fail(605, "Invalid transaction type", "transactions")
    if not number:
        return _fail(602, "Transaction number is invalid", "transactions")
    try:
        amount = float(record.get("amount") or 0)
    except (TypeError, ValueError):
        return _fail(601, "Transaction amount is invalid", "transactions")
    if kind == "not_interested":
        t = state.add_anonymous_transaction(number, amount, record.get("billing_time"))
        return _added(state, t, None, 600, "Transaction added successfully")
    c = _customer(state, record.get("customer"))
    if c is None:
        return _fail(611, "Customer not found", "transactions")
    bills = [t for t in state.transactions.values() if t["userId"] == c.user_id and t["type"] == "REGULAR"]
    items = ((record.get("line_items") or {}).get("line_item")) or []
    if kind == "regular":
        if any(t["number"] == number for t in bills):
            return _fail(604, "Transaction number already exists", "transactions")
        body = {"type": "REGULAR", "billNumber": number, "billAmount": amount, "billingDate": record.get("billing_time"),
                "lineItemsV2": items if isinstance(items, list) else [items]}  # fmt: skip
        return _added(state, state.add_transaction(c, body), c, 600, "Transaction added successfully")
    parent = str(record.get("parent_bill_number") or number)
    original = next((t for t in bills if t["number"] == parent), None)
    if original is None:
        return _fail(624, "Unable to process the return: no such bill was added for this customer", "transactions")
    body = {"type": "RETURN", "billNumber": number, "billAmount": _return_amount(record, original),
            "billingDate": record.get("billing_time"), "lineItemsV2": items if isinstance(items, list) else [items]}  # fmt: skip
    return _added(state, state.add_transaction(c, body), c, 600, "Transaction added successfully")


for _name in ("v11_transaction_add", "v11_transaction_return", "v11_transaction_add_local_currency"):
    HANDLERS[_name] = transaction_add


def transaction_update(state: SandboxState, req: SandboxRequest) -> Answer:
    """POST /v1.1/transaction/update: a retro conversion when new_type is given, else a field update."""
    record = _record(req.body, "transaction")
    c = _customer(state, record.get("customer"))
    if c is None:
        return _fail(611, "Customer not found", "transactions")
    t = state.transactions.get(int(record["id"])) if str(record.get("id") or "").isdigit() else None
    if record.get("new_type"):
        if req.headers.get("x-cap-client-signature") in (None, ""):
            return _fail(1629, "Client signature is required to perform this action", "transactions")
        if t is None:
            return _fail(1628, "Transaction id is invalid", "transactions")
        if t["type"] != "NOT_INTERESTED":
            return _fail(1627, "The transaction is already marked as retro", "transactions")
        old_id = t["id"]
        state.retro_transaction(t, c)
        answered = _added(
            state, t, c, 1630, "Transaction retrospectively marked REGULAR, Transaction added successfully"
        )
        answered[1]["response"]["transactions"]["transaction"][0].update(old_id=old_id, old_type="NOT_INTERESTED")
        return answered
    if t is None and record.get("number"):
        t = next((x for x in reversed(state.transactions.values())
                  if x["number"] == record["number"] and x["userId"] == c.user_id), None)  # fmt: skip
    if t is None or t["userId"] != c.user_id:
        return _fail(667, "Unable to find the transaction for this customer", "transactions")
    fields = ((record.get("custom_fields") or {}).get("field")) or []
    t["customFields"] = [*t.get("customFields", []), *fields]
    row = {"id": str(t["id"]), "number": t["number"], "type": t["type"], "customer": _person(c),
           "custom_fields": {"field": t["customFields"]}, "item_status": _item(600, "Transaction updated successfully")}  # fmt: skip
    return _ok({"transactions": {"transaction": row}}, "SUCCESS")


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
        return _fail(625, "Transaction number does not exist", "transactions")
    rows = []
    for t in found:
        c = state.customers.get(t["userId"]) if t["userId"] is not None else None
        person = (
            {"mobile": c.identifiers.get("mobile", ""), "first_name": c.first_name, "last_name": c.last_name}
            if c
            else {}
        )
        rows.append({**_bill_row(state, t), "customer": person,
                     "billing_store": {"code": seed.STORE["code"], "name": seed.STORE["name"]},
                     "billing_till": {"code": seed.TILL_CODE, "name": seed.TILL_CODE}})  # fmt: skip
    return _ok({"transactions": {"count": len(rows), "transaction": rows}})


# --- coupons ---------------------------------------------------------------------------------


def _series_info(series: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(series["id"]), "description": series["description"], "discount_code": series["discountCode"],
            "valid_till": str(series["validTillDate"])[:10], "discount_type": series["discountType"],
            "discount_value": str(series["discountValue"])}  # fmt: skip


@handles("v11_coupon_issue")
def coupon_issue(state: SandboxState, req: SandboxRequest) -> Answer:
    record = _record(req.body, "coupon")
    series = state.series.get(int(record["series_id"])) if str(record.get("series_id") or "").isdigit() else None
    if series is None:
        return _fail(707, "Coupon series id is invalid", "coupon")
    c = _customer(state, record.get("customer"))
    if c is None:
        return _fail(701, "Unable to find the customer", "coupon")
    if state.series_expired(series):
        return _fail(712, "The coupon series has expired", "coupon")
    coupon = state.issue_coupon(series["id"], c)
    customer = {"mobile": c.identifiers.get("mobile", ""), "user_id": str(c.user_id)}
    body = {"code": coupon["code"], "valid_till": _series_info(series)["valid_till"], "series_info": _series_info(series),
            "customer": customer, "item_status": _item(700, "Coupon processing successful")}  # fmt: skip
    return _ok({"coupon": body}, "SUCCESS")


def _coupon_by(state: SandboxState, code: Any, coupon_id: Any) -> dict[str, Any] | None:
    if code not in (None, ""):
        return state.coupons.get(str(code).upper())
    return next((x for x in state.coupons.values() if str(x["id"]) == str(coupon_id)), None)


@handles("v11_coupon_redeem")
def coupon_redeem(state: SandboxState, req: SandboxRequest) -> Answer:
    record = _record(req.body, "coupon")
    c = _customer(state, record.get("customer"))
    if c is None:
        return _fail(701, "Unable to find the customer", "coupons")
    coupon = _coupon_by(state, record.get("code"), record.get("id"))
    if coupon is None:
        return _fail(719, "Coupon code does not exist", "coupons")
    problem = state.coupon_problem(coupon["code"], c)
    if problem is not None:
        return _fail(problem[0], problem[1], "coupons")
    bill = (record.get("transaction") or [{}])[0] if isinstance(record.get("transaction"), list) else {}
    amount = float(bill["amount"]) if bill.get("amount") not in (None, "") else None
    redemption_id = state.redeem_coupon(c, coupon["code"], bill.get("number"), amount)
    series = state.series[coupon["seriesId"]]
    row = {"customer": {k: v for k, v in _person(c).items() if k in ("mobile", "email", "external_id")},
           "redemptionId": str(redemption_id), "code": coupon["code"], "discount_code": series["discountCode"],
           "series_code": str(series["id"]), "is_absolute": "true" if series["discountType"] == "ABS" else "false",
           "coupon_value": str(series["discountValue"]),
           "transaction": {"amount": f"{amount or 0:.2f}", "number": bill.get("number") or ""},
           "item_status": _item(700, "Coupon processing successful")}  # fmt: skip
    return _ok({"coupons": {"coupon": row}})


@handles("v11_coupon_get")
def coupon_get(state: SandboxState, req: SandboxRequest) -> Answer:
    codes = [x.strip() for x in req.query.get("code", "").split(",") if x.strip()]
    ids = [x.strip() for x in req.query.get("id", "").split(",") if x.strip()]
    found = [x for x in (_coupon_by(state, code, None) for code in codes) if x is not None]
    found += [x for x in (_coupon_by(state, None, i) for i in ids) if x is not None]
    if not found:
        return _fail(719, "Coupon code does not exist", "coupons")
    rows = []
    for coupon in found:
        owner = state.customers[coupon["userId"]]
        used = next((r for r in state.coupon_redemptions.values()
                     if r["code"] == coupon["code"].upper() and r["reactivated"] is None), None)  # fmt: skip
        info = {"redeemed": "true" if coupon["redeemed"] else "false"}
        if used is not None:
            info.update(redeemed_on=_time(used["time"]), redeemed_at=seed.TILL_CODE)
        rows.append({"code": coupon["code"], "id": str(coupon["id"]), "series_id": str(coupon["seriesId"]),
                     "valid_till": _series_info(state.series[coupon["seriesId"]])["valid_till"],
                     "issued_on": _time(coupon["issuedOn"]),
                     "customer": {"user_id": str(owner.user_id), "name": f"{owner.first_name} {owner.last_name}",
                                  "mobile": owner.identifiers.get("mobile", ""), "email": owner.identifiers.get("email", "")},
                     "redemption_info": info,
                     "transaction": {"number": (used or {}).get("bill") or ""},
                     "item_status": {"status": "true", "code": "700", "message": "Coupon processing successful"}})  # fmt: skip
    return _ok({"coupons": {"coupon": rows if len(rows) > 1 else rows[0]}}, "SUCCESS")


@handles("v11_coupon_is_redeemable")
def coupon_is_redeemable(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _customer(state, req.query)
    if c is None:
        return _fail(701, "Unable to find the customer", "coupons")
    code = req.query.get("code", "")
    problem = state.coupon_problem(code, c)
    # As in the reference: the check itself succeeds; is_redeemable and the item's code give the answer.
    status = {"status": "true", "code": str(problem[0] if problem else 700),
              "message": problem[1] if problem else "Coupon can be redeemed"}  # fmt: skip
    row: dict[str, Any] = {"mobile": c.identifiers.get("mobile", ""), "code": code,
                           "is_redeemable": "false" if problem else "true", "item_status": status}  # fmt: skip
    coupon = state.coupons.get(code.upper())
    if req.query.get("details") in ("true", "extended") and coupon is not None:
        row["series_info"] = _series_info(state.series[coupon["seriesId"]])
    return _ok({"coupons": {"redeemable": row}}, "SUCCESS")


@handles("v11_coupon_resend")
def coupon_resend(state: SandboxState, req: SandboxRequest) -> Answer:
    coupon = _coupon_by(state, req.query.get("code"), req.query.get("id"))
    if coupon is None:
        return _fail(719, "Coupon code does not exist", "coupons")
    owner = state.customers[coupon["userId"]]
    state.messages.setdefault(owner.user_id, []).append(
        {"id": str(900 + sum(len(x) for x in state.messages.values()) + 1), "sender": "BRAND",
         "receiver": owner.identifiers.get("mobile", ""), "subject": f"Your coupon {coupon['code']}",
         "sent_time": _time(datetime.now().isoformat()), "status": "SENT"}
    )  # fmt: skip
    row = {"id": str(coupon["id"]), "code": coupon["code"], "item_status": _item(700, "Coupon Resent")}
    return _ok({"coupons": {"coupon": [row]}}, "SUCCESS")


@handles("v11_coupon_series")
def coupon_series(state: SandboxState, req: SandboxRequest) -> Answer:
    raw = req.query.get("id", "")
    series = state.series.get(int(raw)) if raw.isdigit() else None
    if series is None:
        return _fail(707, "Coupon series id is invalid", "series")
    item = {**{k: v for k, v in _series_info(series).items() if k != "valid_till"},
            "valid_till_date": _series_info(series)["valid_till"], "max_vouchers_per_user": str(series["maxVouchersPerUser"]),
            "coupons": {"issued": str(series["numIssued"]), "redeemed": str(series["numRedeemed"])},
            "item_status": _item(700, "Coupon series fetched successfully")}  # fmt: skip
    return _ok({"series": {"items": {"item": item}}})
