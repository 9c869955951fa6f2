"""Sandbox answers for the v1.1 customer reads, notes, tickets and interactions, from the shared state.

The histories read what the v2 and points handlers change: a bill added through transaction_add,
points redeemed through points_redeem or a coupon redeemed through coupon_redeem show up in
v11_customer_transactions and v11_customer_redemptions. Notes, tickets and the messages the brand
sent exist only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import seed
from .handlers import HANDLERS, handles
from .state import Answer, SandboxRequest, SandboxState
from .v11_common import (
    bill_row,
    coupon_row,
    customer_of,
    fail,
    in_range,
    item_status,
    loyalty,
    ok,
    person_of,
    record_of,
    v11_time,
    window,
)

# --- customer --------------------------------------------------------------------------------


@handles("v11_customer_get")
def customer_get(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier", "customers")
    coupons = [coupon_row(state, x) for x in state.coupons.values() if x["userId"] == c.user_id]
    customer = {
        **person_of(c),
        **loyalty(c),
        "fraud_details": {"status": "CONFIRMED" if c.status == "FRAUD" else "NONE"},
        "coupons": coupons,
        "notes": list(state.notes.get(c.user_id, [])),
        "item_status": {**item_status(1000, "Customer successfully retrieved"), "warnings": []},
    }
    return ok({"customers": {"customer": customer}})


@handles("v11_customer_transactions")
def customer_transactions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    bills = [t for t in state.transactions.values() if t["userId"] == c.user_id]
    bills = [t for t in bills if in_range(v11_time(t["date"]), req)]
    if req.query.get("number"):
        bills = [t for t in bills if t["number"] == req.query["number"]]
    if req.query.get("transaction_id"):
        bills = [t for t in bills if str(t["id"]) == req.query["transaction_id"]]
    key = "id" if req.query.get("sort") == "trans_id" else "date"
    bills.sort(
        key=lambda t: (v11_time(t[key]) if key == "date" else t["id"], t["id"]),
        reverse=req.query.get("order", "desc") != "asc",
    )
    shown = window(bills, req)
    customer = {
        **person_of(c),
        **loyalty(c),
        "count": len(bills),
        "rows": str(len(shown)),
        "transactions": {"transaction": [bill_row(state, t) for t in shown]},
        "item_status": {**item_status(1052, "Transactions fetched successfully"), "warnings": {"warning": []}},
    }
    return ok({"customer": customer})


def _points_redemption(rid: str, r: dict[str, Any]) -> dict[str, Any]:
    reversals = [
        {"reversal_id": x["id"], "points_reversed": x["points"], "reversal_time": v11_time(x["time"])}
        for x in r["reversals"]
    ]
    return {
        "id": rid,
        "program_id": seed.PROGRAM_ID,
        "points_redeemed": r["points"],
        "transaction_number": r["bill"] or "",
        "redeemed_time": v11_time(r["time"]),
        "redeemed_at": seed.TILL_CODE,
        "notes": r["notes"] or "",
        "reversals": reversals,
    }


def _coupon_redemption(state: SandboxState, rid: int, r: dict[str, Any]) -> dict[str, Any]:
    coupon = state.coupons[r["code"]]
    series = state.series[coupon["seriesId"]]
    row = {
        "id": str(rid),
        "code": coupon["code"],
        "series_id": str(series["id"]),
        "description": series["description"],
        "discount_code": series["discountCode"],
        "discount_type": series["discountType"],
        "transaction_number": r["bill"] or "",
        "redeemed_time": v11_time(r["time"]),
        "redeemed_at": seed.TILL_CODE,
    }
    if r["reactivated"]:
        row["reactivated_time"] = v11_time(r["reactivated"])  # undone with coupon_reactivate
    return row


@handles("v11_customer_redemptions")
def customer_redemptions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    kind = req.query.get("type", "BOTH").upper()
    points = [_points_redemption(rid, r) for rid, r in state.redemptions.items() if r["userId"] == c.user_id]
    coupons = [
        _coupon_redemption(state, rid, r) for rid, r in state.coupon_redemptions.items() if r["userId"] == c.user_id
    ]
    points = [p for p in points if in_range(p["redeemed_time"], req)] if kind != "COUPONS" else []
    coupons = [x for x in coupons if in_range(x["redeemed_time"], req)] if kind != "POINTS" else []
    points.sort(key=lambda p: p["redeemed_time"], reverse=True)
    coupons.sort(key=lambda x: x["redeemed_time"], reverse=True)
    points, coupons = window(points, req), window(coupons, req)
    customer = {
        **{k: v for k, v in person_of(c).items() if k != "user_id"},
        "rows": str(len(points) + len(coupons)),
        "coupons_count": str(len(coupons)),
        "points_count": str(len(points)),
        "redemptions": {"coupons": {"coupon": coupons}, "points": {"point": points}},
        "item_status": item_status(200, "Redemptions fetched"),
    }
    if req.query.get("user_id") == "true":
        customer["user_id"] = str(c.user_id)
    return ok({"customer": customer}, "SUCCESS")


@handles("v11_customer_coupons")
def customer_coupons(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier", "customers")
    coupons = [x for x in state.coupons.values() if x["userId"] == c.user_id]
    wanted = req.query.get("status")
    if wanted is not None:

        def status_of(x: dict[str, Any]) -> set[str]:
            expired = state.series_expired(state.series[x["seriesId"]])
            return {"redeemed" if x["redeemed"] else "unredeemed", "expired" if expired else "active"}

        coupons = [x for x in coupons if wanted in status_of(x)]
    if req.query.get("series_id"):
        coupons = [x for x in coupons if str(x["seriesId"]) == req.query["series_id"]]
    rows = [coupon_row(state, x) for x in coupons][: int(req.query.get("limit") or 100)]
    customer = {
        "firstname": c.first_name,
        "lastname": c.last_name,
        "email": c.identifiers.get("email", ""),
        "mobile": c.identifiers.get("mobile", ""),
        "external_id": c.identifiers.get("externalId", ""),
        "id": str(c.user_id),
        "coupons": {"coupon": rows},
        "item_status": item_status(1000, "Issued coupons retrieved successfully"),
    }
    pagination = {"limit": req.query.get("limit") or "100", "offset": "0", "total": len(rows)}
    return ok({"pagination": pagination, "customers": {"customer": customer}}, "SUCCESS")


# --- notes and tickets -----------------------------------------------------------------------


def notes_write(state: SandboxState, req: SandboxRequest) -> Answer:
    """POST /v1.1/customer/notes: a note with an id changes that note, one without adds a note."""
    record = record_of(req.body, "customer")
    c = customer_of(state, record)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    given = (record.get("notes") or {}).get("note") or [{}]
    note = given[0] if isinstance(given, list) else given
    text = str(note.get("description") or "").strip()
    if not text:
        return fail(1037, "Unable to add/update customer notes: the description is empty")
    notes = state.notes.setdefault(c.user_id, [])
    if note.get("id") not in (None, ""):
        stored = next((n for n in notes if n["id"] == str(note["id"])), None)
        if stored is None:
            return fail(1037, f"Unable to update customer notes: no note {note['id']} for this customer")
        stored["description"] = text
        message = "Customer note updated successfully"
    else:
        stored = {
            "id": str(sum(len(x) for x in state.notes.values()) + 1),
            "description": text,
            "date": str(note.get("date") or v11_time(datetime.now().isoformat())),
        }
        notes.append(stored)
        message = "Customer note added/updated successfully"
    return ok(
        {"customer": {**person_of(c), "notes": {"note": [dict(stored)]}, "item_status": item_status(1000, message)}}
    )


HANDLERS["v11_customer_add_note"] = notes_write
HANDLERS["v11_customer_update_note"] = notes_write


@handles("v11_customer_notes")
def customer_notes(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    notes = [
        {"id": n["id"], "description": n["description"], "added_on": n["date"]} for n in state.notes.get(c.user_id, [])
    ]
    status = (
        item_status(1000, "Customer note retrieved successfully")
        if notes
        else item_status(1028, "No customer notes are available")
    )
    return ok({"customer": {**person_of(c), "notes": {"note": notes}, "item_status": status}}, "Operation Successful")


_TICKET_FIELDS = ("status", "priority", "department", "subject", "message", "reported_from", "type")


@handles("v11_customer_create_ticket")
def create_ticket(state: SandboxState, req: SandboxRequest) -> Answer:
    record = record_of(req.body, "customer")
    c = customer_of(state, record)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier", "customers")
    given = record.get("ticket") or [{}]
    ticket = given[0] if isinstance(given, list) else given
    if not str(ticket.get("subject") or "").strip():
        return fail(1303, "Ticket subject should not be empty", "customers")
    tickets = state.tickets.setdefault(c.user_id, [])
    if any(t["subject"] == ticket["subject"] for t in tickets):
        return fail(1301, "A ticket already exists with the same subject", "customers")
    stored = {k: str(ticket[k]) for k in _TICKET_FIELDS if ticket.get(k) not in (None, "")}
    stored.setdefault("status", "OPEN")
    stored["code"] = str(ticket.get("ticket_code") or f"TKT-{sum(len(x) for x in state.tickets.values()) + 1:04d}")
    stored["created_on"] = v11_time(datetime.now().isoformat())
    tickets.append(stored)
    person = {k: v for k, v in person_of(c).items() if k in ("email", "mobile", "external_id")}
    customer = {
        **person,
        "id": str(c.user_id),
        "ticket": dict(stored),
        "item_status": item_status(1300, "Ticket added successfully"),
    }
    return ok({"customers": {"customer": customer}}, "SUCCESS")


@handles("v11_customer_tickets")
def customer_tickets(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    tickets = list(state.tickets.get(c.user_id, []))
    for key in (*_TICKET_FIELDS, "code"):
        wanted = req.query.get("ticket_code" if key == "code" else key)
        if wanted is not None:
            tickets = [t for t in tickets if t.get(key, "").upper() == wanted.upper()]
    tickets = [t for t in tickets if in_range(t["created_on"], req)]
    customer = {
        **{k: v for k, v in person_of(c).items() if k != "user_id"},
        "id": str(c.user_id),
        "tickets": {"ticket": tickets},
        "item_status": item_status(1300, "Ticket retrieved successfully"),
    }
    return ok({"customer": customer}, "SUCCESS")


@handles("v11_customer_interactions")
def customer_interactions(state: SandboxState, req: SandboxRequest) -> Answer:
    c = customer_of(state, req.query)
    if c is None:
        return fail(1012, "Cannot find customer with the provided identifier")
    sent = [m for m in state.messages.get(c.user_id, []) if in_range(m["sent_time"], req)]
    interaction = [{"type": "sms", "count": str(len(sent)), "messages": {"message": sent}}] if sent else []
    networks = [{"name": "capillary", "interaction": interaction}]
    if req.query.get("network") not in (None, "capillary"):
        networks = []
    customer = {
        "id": str(c.user_id),
        "mobile": c.identifiers.get("mobile", ""),
        "email": c.identifiers.get("email", ""),
        "external_id": c.identifiers.get("externalId", ""),
        "interactions": {"network": networks},
    }
    return 200, {
        "response": {"status": {"success": "true", "response_code": "200", "message": "Success"}, "customer": customer}
    }
