"""What the v1.1 sandbox handlers share: v1.1 envelopes, finding the customer, and the rows the reads show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import seed
from .state import Answer, Customer, SandboxRequest, SandboxState

_IDENTIFIERS = ("id", "user_id", "mobile", "email", "external_id", "card_number")
_ALL_FAILED = {"success": "false", "code": 500, "message": "All requests have failed due to errors"}


def ok(body: dict[str, Any], message: str = "Success") -> Answer:
    return 200, {"response": {"status": {"success": "true", "code": 200, "message": message}, **body}}


def fail(code: int, message: str, entity: str = "customer") -> Answer:
    item = {"item_status": {"success": "false", "code": str(code), "message": message}}
    return 200, {"response": {"status": dict(_ALL_FAILED), entity: item}}


def item_status(code: int, message: str) -> dict[str, str]:
    return {"success": "true", "code": str(code), "message": message}


def _first(value: Any) -> str | None:
    """A v1.1 identifier value; several comma-separated customers are answered with the first."""
    if value in (None, ""):
        return None
    return str(value).split(",")[0].strip()


def customer_of(state: SandboxState, source: Any) -> Customer | None:
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


def record_of(body: Any, entity: str) -> dict[str, Any]:
    """The first item of a v1.1 body: {"root": {entity: [item]}} or {"root": {entity: item}}."""
    root = body.get("root") if isinstance(body, dict) else None
    items = root.get(entity) if isinstance(root, dict) else None
    if isinstance(items, list):
        items = items[0] if items else None
    return items if isinstance(items, dict) else {}


def v11_time(value: Any) -> str:
    """Capillary's v1.1 date-time: YYYY-MM-DD HH:MM:SS."""
    text = str(value or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


def in_range(when: str, req: SandboxRequest) -> bool:
    start, end = req.query.get("start_date"), req.query.get("end_date")
    return (not start or when[: len(start)] >= start) and (not end or when[: len(end)] <= end)


def window(rows: list[dict[str, Any]], req: SandboxRequest, default: int = 10) -> list[dict[str, Any]]:
    offset = int(req.query.get("offset") or 0)
    limit = int(req.query.get("limit") or default)
    return rows[offset : offset + limit]


def person_of(c: Customer) -> dict[str, Any]:
    return {
        "user_id": str(c.user_id),
        "firstname": c.first_name,
        "lastname": c.last_name,
        "mobile": c.identifiers.get("mobile", ""),
        "email": c.identifiers.get("email", ""),
        "external_id": c.identifiers.get("externalId", ""),
    }


def loyalty(c: Customer) -> dict[str, Any]:
    return {
        "lifetime_points": int(c.lifetime_points),
        "loyalty_points": int(c.points),
        "lifetime_purchases": c.purchases,
        "current_slab": c.tier,
        "type": "LOYALTY",
    }


def _bill_points(state: SandboxState, t: dict[str, Any]) -> dict[str, Any]:
    redeemed = sum(r["points"] - r["reversed"] for r in state.redemptions.values() if r["bill"] == t["number"])
    points = t["points"]
    return {
        "issued": str(max(points, 0)),
        "redeemed": str(int(redeemed)),
        "returned": str(max(-points, 0)),
        "expired": "0",
        "program_id": str(seed.PROGRAM_ID),
    }


def bill_row(state: SandboxState, t: dict[str, Any]) -> dict[str, Any]:
    coupons = [
        r["code"] for r in state.coupon_redemptions.values() if r["bill"] == t["number"] and not r["reactivated"]
    ]
    return {
        "id": str(t["id"]),
        "number": t["number"],
        "type": t["type"],
        "amount": str(t["amount"]),
        "billing_time": v11_time(t["date"]),
        "store": seed.STORE["name"],
        "store_code": seed.STORE["code"],
        "points": _bill_points(state, t),
        "coupons": coupons,
        "line_items": {"line_item": list(t["lineItems"])},
        "custom_fields": {"field": list(t.get("customFields", []))},
    }


def coupon_row(state: SandboxState, coupon: dict[str, Any]) -> dict[str, Any]:
    series = state.series[coupon["seriesId"]]
    redemptions = [
        {
            "date": v11_time(r["time"]),
            "transaction_number": r["bill"] or "",
            "redeemed_at": {"code": seed.STORE["code"], "name": seed.STORE["name"]},
        }
        for r in state.coupon_redemptions.values()
        if r["code"] == coupon["code"].upper() and r["reactivated"] is None
    ]
    return {
        "id": str(coupon["id"]),
        "series_id": str(series["id"]),
        "code": coupon["code"],
        "description": series["description"],
        "created_date": v11_time(coupon["issuedOn"]),
        "valid_till": str(series["validTillDate"])[:10],
        "redeemed": "true" if coupon["redeemed"] else "false",
        "redemption_count": str(len(redemptions)),
        "redemptions": {"redemption": redemptions},
    }


def series_info(series: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(series["id"]),
        "description": series["description"],
        "discount_code": series["discountCode"],
        "valid_till": str(series["validTillDate"])[:10],
        "discount_type": series["discountType"],
        "discount_value": str(series["discountValue"]),
    }


def coupon_by(state: SandboxState, code: Any, coupon_id: Any) -> dict[str, Any] | None:
    if code not in (None, ""):
        return state.coupons.get(str(code).upper())
    return next((x for x in state.coupons.values() if str(x["id"]) == str(coupon_id)), None)
