"""The customer overview's parts: each read's answer cut down to essentials, fitted to a budget, and said in text.

Counts plus the first few items; long values are cut; when the answer is still too large, the last shown items
of the longest list go first, and `left_out` counts what is not shown (the tool that lists it all is named).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

BUDGET = 4_000  # characters of the structured result (and, separately, of its text)
SHOWN = {"coupons": 5, "points_events": 5, "expiring_points": 3}
SOON_DAYS = 90
TEXT_CUT = 80
# part -> the read that fills it. Order is the order of the answer.
PARTS = {
    "loyalty": "customer_loyalty_details",
    "expiring_points": "customer_points_expiry_schedule",
    "coupons": "customer_coupons",
    "points_events": "points_ledger_info",
}


def cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_CUT:
        return value[: TEXT_CUT - 1] + "…"
    return value


def number(value: Any) -> float | int | None:
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return int(parsed) if parsed.is_integer() else round(parsed, 3)


def customer(entity: dict[str, Any]) -> dict[str, Any]:
    profiles = entity.get("profiles") or [{}]
    profile = profiles[0] if isinstance(profiles[0], dict) else {}
    identifiers: dict[str, str] = {}
    for item in profile.get("identifiers") or []:
        if isinstance(item, dict) and item.get("type") and item.get("value") and len(identifiers) < 5:
            identifiers.setdefault(str(item["type"]), cut(str(item["value"])))
    name = " ".join(str(profile.get(k) or "") for k in ("firstName", "lastName")).strip()
    customer: dict[str, Any] = {"user_id": entity.get("id"), "name": cut(name) or None, "identifiers": identifiers}
    fraud = entity.get("fraudDetails")
    if isinstance(fraud, dict) and fraud.get("status"):
        customer["fraud_status"] = cut(str(fraud["status"]))
    loyalty = entity.get("loyaltyInfo")
    if isinstance(loyalty, dict):
        customer["loyalty_type"] = cut(loyalty.get("loyaltyType"))
        if loyalty.get("lifetimePurchases") is not None:
            customer["lifetime_purchases"] = number(loyalty.get("lifetimePurchases"))
    if profile.get("source"):
        customer["source"] = cut(str(profile["source"]))
    return customer


def loyalty(payload: Any) -> dict[str, Any]:
    programs = [p for p in (payload.get("data") if isinstance(payload, dict) else None) or [] if isinstance(p, dict)]
    if not programs:
        return {"programs": 0}
    first = programs[0]
    part: dict[str, Any] = {
        "programs": len(programs),
        "program_id": first.get("programId"),
        "program": cut(first.get("programTitle") or first.get("programName")),
        "points": number(first.get("loyaltyPoints")),
        "available_points": number(first.get("totalAvailablePoints")),
        "lifetime_points": number(first.get("lifetimePoints")),
        "redeemed": number(first.get("redeemed")),
        "expired": number(first.get("expired")),
        "tier": cut(first.get("currentSlab")) or None,
        "next_tier": cut(first.get("nextSlab")) or None,
        "tier_expiry": cut(first.get("slabExpiryDate")),
    }
    if len(programs) > 1:
        part["other_programs"] = "more programmes: customer_loyalty_details lists each"
    return {key: value for key, value in part.items() if value is not None}


def expiring(payload: Any, today: date) -> dict[str, Any]:
    rows = [r for r in (payload.get("expirySchedules") if isinstance(payload, dict) else None) or []
            if isinstance(r, dict)]  # fmt: skip
    rows.sort(key=lambda r: str(r.get("expiryDate", "")))
    soon_until = (today + timedelta(days=SOON_DAYS)).isoformat()
    total = sum(number(r.get("points")) or 0 for r in rows)
    soon = sum(number(r.get("points")) or 0 for r in rows if today.isoformat() <= str(r.get("expiryDate", ""))[:10]
               <= soon_until)  # fmt: skip
    shown = [{"date": cut(r.get("expiryDate")), "points": number(r.get("points")), "type": cut(r.get("pointsType"))}
             for r in rows[: SHOWN["expiring_points"]]]  # fmt: skip
    return {"total": number(total), f"within_{SOON_DAYS}_days": number(soon), "schedules": len(rows), "next": shown}


def _coupon_state(coupon: dict[str, Any], now: str) -> str:
    if coupon.get("isRedeemed") or coupon.get("redeemed") is True:
        return "redeemed"
    valid_till = str(coupon.get("validTill") or "")
    if coupon.get("expired") is True or (valid_till and valid_till[:10] < now[:10]):
        return "expired"
    return "active"


def coupons(payload: Any, now: str) -> dict[str, Any]:
    rows = [c for c in (payload.get("entity") if isinstance(payload, dict) else None) or [] if isinstance(c, dict)]
    states = [_coupon_state(c, now) for c in rows]
    active = [c for c, state in zip(rows, states, strict=True) if state == "active"]
    shown = [{"code": cut(c.get("code")), "description": cut(c.get("description") or c.get("seriesName")),
              "valid_till": cut(c.get("validTill")), "series_id": c.get("seriesId")}
             for c in active[: SHOWN["coupons"]]]  # fmt: skip
    return {"total": len(rows), "active": len(active), "redeemed": states.count("redeemed"),
            "expired": states.count("expired"), "active_shown": shown}  # fmt: skip


def events(payload: Any) -> dict[str, Any]:
    entries = [e for e in (payload.get("ledgerEntries") if isinstance(payload, dict) else None) or []
               if isinstance(e, dict)]  # fmt: skip
    details = payload.get("ledgerDetails") if isinstance(payload, dict) else None
    total = details.get("totalEntries") if isinstance(details, dict) else None
    shown = []
    for entry in entries[: SHOWN["points_events"]]:
        items = entry.get("entryDetails") or [{}]
        first = items[0] if isinstance(items[0], dict) else {}
        bill = entry.get("transactionDetails")
        bill = bill if isinstance(bill, dict) else {}
        event = {"date": cut(entry.get("ledgerCreatedDate")), "event": cut(entry.get("eventName")),
                 "type": cut(first.get("ledgerEntryType")), "points": number(entry.get("netPointsOnEvent"))}  # fmt: skip
        if bill.get("transactionNumber"):
            event["bill"] = cut(bill["transactionNumber"])
        shown.append({k: v for k, v in event.items() if v is not None})
    return {"total": total if isinstance(total, int) else len(entries), "latest": shown}


def fit(structured: dict[str, Any]) -> dict[str, int]:
    """Drop the last shown items of the longest list until the answer is within the budget; count what went."""
    left: dict[str, int] = {}
    lists = {"coupons": "active_shown", "points_events": "latest", "expiring_points": "next"}
    for part, key in lists.items():
        section = structured.get(part)
        if isinstance(section, dict) and isinstance(section.get(key), list):
            total = section.get("active") if part == "coupons" else section.get("total")
            if part == "expiring_points":
                total = section.get("schedules")
            hidden = (total or 0) - len(section[key])
            if hidden > 0:
                left[f"{part}.{key}"] = hidden
    while len(json.dumps(structured, ensure_ascii=False)) > BUDGET:
        candidates = [(len(structured[p][k]), p, k) for p, k in lists.items()
                      if isinstance(structured.get(p), dict) and structured[p].get(k)]  # fmt: skip
        if not candidates:
            break
        _, part, key = max(candidates)
        structured[part][key].pop()
        left[f"{part}.{key}"] = left.get(f"{part}.{key}", 0) + 1
    return left


def fit_text(text: str) -> str:
    if len(text) <= BUDGET:
        return text
    return text[: BUDGET - 60] + "\n… (cut to fit; structuredContent has the rest)"


def text(s: dict[str, Any]) -> str:
    c = s["customer"]
    ids = ", ".join(f"{k} {v}" for k, v in c.get("identifiers", {}).items())
    lines = [f"Customer overview: {c.get('name') or 'no name'} (user id {c.get('user_id')})" + (f" — {ids}" if ids else "")
             + (f"; fraud status {c['fraud_status']}" if c.get("fraud_status") else "") + "."]  # fmt: skip
    more = {key.split(".")[0]: n for key, n in s.get("left_out", {}).items()}
    for name, label in (("loyalty", "Loyalty"), ("expiring_points", "Points expiring"), ("coupons", "Coupons"),
                        ("points_events", "Latest points events")):  # fmt: skip
        part = s.get(name)
        if not isinstance(part, dict):
            continue
        if "not_available" in part:
            lines.append(f"{label}: not available to you ({part['tool']}: {part['not_available']}).")
        elif part.get("failed"):
            status = f"HTTP {part['http_status']}" if part.get("http_status") else "no answer"
            hint = f" Next: {part['hint']}." if part.get("hint") else ""
            lines.append(f"{label}: COULD NOT BE READ — {part['tool']} failed ({status}): {part.get('message')}.{hint}")
        else:
            lines.append(f"{label}: {_summary(name, part)}" + (f" (+{more[name]} more: {PARTS[name]})"
                                                                  if more.get(name) else ""))  # fmt: skip
    return "\n".join(lines)


def _summary(name: str, part: dict[str, Any]) -> str:
    if name == "loyalty":
        if not part.get("programs"):
            return "no loyalty programme."
        tier = f"; tier {part.get('tier')}" + (f", next {part['next_tier']}" if part.get("next_tier") else ", top tier")
        return (f"{part.get('points')} points in {part.get('program') or part.get('program_id')} (lifetime "
                f"{part.get('lifetime_points')}, redeemed {part.get('redeemed')}, expired {part.get('expired')})"
                f"{tier}" + (f" until {part['tier_expiry']}" if part.get("tier_expiry") else "") + ".")  # fmt: skip
    if name == "expiring_points":
        nxt = ", ".join(f"{e['points']} on {e['date']}" for e in part["next"])
        return (f"{part['total']} points scheduled to expire, {part[f'within_{SOON_DAYS}_days']} within {SOON_DAYS} "
                f"days" + (f"; next: {nxt}" if nxt else "") + ".")  # fmt: skip
    if name == "coupons":
        shown = "; ".join(f"{c['code']} ({c.get('description')}, valid till {c.get('valid_till')})"
                          for c in part["active_shown"])  # fmt: skip
        return (f"{part['active']} active of {part['total']} ({part['redeemed']} redeemed, {part['expired']} expired)"
                + (f": {shown}" if shown else "") + ".")  # fmt: skip
    shown = "; ".join(f"{e.get('date')} {e.get('event')} {e.get('type', '')} {e.get('points')}"
                      + (f" bill {e['bill']}" if e.get("bill") else "") for e in part["latest"])  # fmt: skip
    return f"{len(part['latest'])} of {part['total']}" + (f": {shown}" if shown else "") + "."
