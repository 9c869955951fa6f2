"""Stateful sandbox operations, keyed by catalogue tool name. Everything else answers from its example."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from . import seed
from .state import Answer, Customer, Handler, SandboxRequest, SandboxState, v2_error, v11_error

log = logging.getLogger("cap_mcp.sandbox")

HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return register


def _ok(body: Any) -> Answer:
    return 200, body


def _not_found(what: str = "Customer not found for the given identifier") -> Answer:
    return v2_error(404, 816, what)


def _by_query(state: SandboxState, req: SandboxRequest) -> Customer | None:
    return state.find(req.query.get("identifierName"), req.query.get("identifierValue"))


def _by_path(state: SandboxState, req: SandboxRequest) -> Customer | None:
    raw = req.path_params.get("customerId") or req.path_params.get("userId")
    return state.find("id", raw)


def _otp_note(code: str) -> dict[str, str]:
    """Sandbox only: the code a real customer would receive by SMS or email, so a tester can use it."""
    return {"otp": code, "note": "sandbox only: this is the code the customer would receive"}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- customers -------------------------------------------------------------------------------


@handles("customer_lookup")
def customer_lookup(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    return _ok(state.customer_entity(c)) if c else _not_found()


@handles("customer_lookup_id")
def customer_lookup_id(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    return _ok({"entity": c.user_id, "warnings": []}) if c else _not_found()


@handles("customer_get")
def customer_get(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    return _ok(state.customer_entity(c)) if c else _not_found()


@handles("customer_loyalty_details", "customer_lookup_loyalty_details")
def loyalty_details(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req) or _by_query(state, req)
    if c is None:
        return _not_found()
    return _ok({"data": [c.program_details()], "warnings": [], "errors": []})


@handles("customer_points_balance", "customer_lookup_points_balance")
def points_balance(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req) or _by_query(state, req)
    if c is None:
        return _not_found()
    return _ok({"entityId": c.user_id, "entityType": "CUSTOMER", "programId": seed.PROGRAM_ID,
                "totalPoints": c.points, "mainPoints": c.points, "promisedPoints": 0.0,
                "promisedPointsBreakup": {"delayedAccrualPoints": 0.0, "externalTriggerBasedPoints": 0.0},
                "warnings": []})  # fmt: skip


@handles("customer_lookup_tier")
def lookup_tier(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    if c is None:
        return _not_found()
    details = c.program_details()
    tier = {"programId": seed.PROGRAM_ID, "currentTierName": details["currentSlab"],
            "currentTierSerialNumber": details["slabSNo"], "nextTierName": details["nextSlab"]}  # fmt: skip
    return _ok({"entityId": c.user_id, "entityType": "CUSTOMER", "programTiers": [tier], "warnings": []})


@handles("customer_points_expiry_schedule", "customer_lookup_points_expiry_schedule")
def points_expiry_schedule(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req) or _by_query(state, req)
    if c is None:
        return _not_found()
    # Sandbox rule: the whole balance expires at the end of the programme year (31 March).
    today = datetime.now(UTC).date()
    year_end = date(today.year + (today.month > 3), 3, 31).isoformat()
    schedules = [{"points": c.points, "expiryDate": year_end, "programId": seed.PROGRAM_ID,
                  "pointsType": "bill_regular", "expiryType": "fixed"}] if c.points > 0 else []  # fmt: skip
    return _ok({"id": c.user_id, "profiles": [], "loyaltyInfo": {"loyaltyType": "loyalty"}, "segments": {},
                "extendedFields": {}, "expirySchedules": schedules, "warnings": []})  # fmt: skip


@handles("customer_register")
def customer_register(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    profile = (body.get("profiles") or [{}])[0]
    identifiers = {
        str(i.get("type")): str(i.get("value"))
        for i in profile.get("identifiers") or []
        if i.get("type") in ("mobile", "email", "externalId", "cardnumber") and i.get("value")
    }
    if not identifiers:
        return v2_error(400, 8003, "At least one identifier (mobile, email, externalId) is required")
    for name, value in identifiers.items():
        existing = state.find(name, value)
        if existing is not None:
            return 200, {
                "createdId": existing.user_id,
                "warnings": [
                    {"status": False, "code": 8050, "message": f"Customer already exists with {name} {value}"}
                ],
            }
    user_id = state.new_user_id()
    state.customers[user_id] = Customer(
        user_id, str(profile.get("firstName", "")), str(profile.get("lastName", "")), identifiers, 0.0, 0.0, 0.0, 0.0,
        fields=dict(profile.get("fields") or {}),
    )  # fmt: skip
    state.ledger[user_id] = []
    return _ok({"createdId": user_id, "warnings": [], "sideEffects": []})


@handles("customer_update")
def customer_update(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    if c is None:
        return _not_found()
    profile = ((req.body or {}).get("profiles") or [{}])[0]
    c.first_name = str(profile.get("firstName", c.first_name))
    c.last_name = str(profile.get("lastName", c.last_name))
    c.fields.update(profile.get("fields") or {})
    return _ok({"createdId": c.user_id, "warnings": [], "sideEffects": []})


# --- OTP -------------------------------------------------------------------------------------


@handles("otp_generate")
def otp_generate(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    c = state.find(str(body.get("entityType", "")).lower(), str(body.get("entityValue", "")))
    if c is None:
        return v2_error(400, 602, "No customer with this mobile number or email")
    code = state.issue_otp(c.user_id, str(body.get("action", "GENERIC")))
    log.info("sandbox OTP issued for user %s (%s); the answer carries it", c.user_id, body.get("action"))
    return _ok({"createdId": 4410000 + len(state.otps), "warnings": [], "sandbox": _otp_note(code)})


@handles("otp_validate")
def otp_validate(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    c = state.find(str(body.get("entityType", "")).lower(), str(body.get("entityValue", "")))
    if c is None or not state.check_otp(c.user_id, str(body.get("action", "GENERIC")), body.get("code")):
        return v2_error(400, 605, "Invalid OTP: the code is wrong, expired or empty")
    return _ok({"entity": True, "warnings": []})


@handles("otp_get")
def otp_get(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    if c is None:
        return _not_found()
    scope = req.query.get("scope", "GENERIC").upper()
    stored = state.otps.get((c.user_id, scope))
    if stored is None:
        return v2_error(400, 604, f"No active {scope} code for this customer")
    return _ok({"orgId": seed.ORG_ID, "userId": c.user_id, "code": stored[0], "warnings": []})


# --- points ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transfer:
    source: Customer
    target: Customer
    amount: float


def _transfer_check(state: SandboxState, body: dict[str, Any]) -> _Transfer | Answer:
    amount = _number(body.get("pointsTobeTransferred"))
    if amount is None or amount <= 0:
        return v2_error(400, 801, "Points to transfer must be a positive number")
    source = state.find_in(body.get("fromCustomerIdentifier"))
    target = state.find_in(body.get("toCustomerIdentifier"))
    if source is None:
        return _not_found("Source customer not found")
    if target is None:
        return _not_found("Destination customer not found")
    if source.user_id == target.user_id:
        return v2_error(400, 418, "From and To customers are same")
    if source.status == "FRAUD":
        return v2_error(400, 415, "Source customer status is fraud; points cannot be transferred")
    if target.status == "FRAUD":
        return v2_error(400, 414, "Destination customer status is fraud; points cannot be transferred")
    if source.points < amount:
        return v2_error(400, 804, f"Insufficient current points: {source.points:g} available")
    return _Transfer(source, target, amount)


@handles("points_is_transferrable")
def points_is_transferrable(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    checked = _transfer_check(state, body)
    if not isinstance(checked, _Transfer):
        return checked
    source, target, amount = checked.source, checked.target, checked.amount
    item = {"pointsTobeTransferred": amount, "transferrable": True,
            "transferFrom": state.customer_entity(source, with_points=False),
            "transferTo": state.customer_entity(target, with_points=False)}  # fmt: skip
    answer: dict[str, Any] = {"data": [item], "warnings": [], "errors": []}
    if body.get("issueOtp") in (True, "true"):
        code = state.issue_otp(source.user_id, "POINTS")
        log.info("sandbox points-transfer OTP issued for user %s; the answer carries it", source.user_id)
        answer["sandbox"] = _otp_note(code)
    return _ok(answer)


@handles("points_transfer")
def points_transfer(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    checked = _transfer_check(state, body)
    if not isinstance(checked, _Transfer):
        return checked
    source, target, amount = checked.source, checked.target, checked.amount
    if not state.check_otp(source.user_id, "POINTS", body.get("code")):
        return v2_error(400, 808, "Validation code (OTP) is invalid; issue one with isTransferrable issueOtp=true")
    record = state.move_points(source, target, amount, str(body.get("notes", "")))
    item = {
        "pointsTransferDate": record["date"],
        "pointsTransferred": amount,
        "transferId": record["transferId"],
        "transferType": "DEDUCTION",
        "transferredFrom": {"userId": source.user_id, "firstName": source.first_name, "lastName": source.last_name},
        "transferredTo": {"userId": target.user_id, "firstName": target.first_name, "lastName": target.last_name},
        "notes": record["notes"],
        "programName": seed.PROGRAM_NAME,
    }
    return _ok({"data": [item], "warnings": [], "errors": []})


def _transfer_rows(state: SandboxState, user_id: int) -> list[dict[str, Any]]:
    rows = []
    for t in state.transfers:
        if user_id not in (t["fromUserId"], t["toUserId"]):
            continue
        other = state.customers[t["toUserId"] if t["fromUserId"] == user_id else t["fromUserId"]]
        rows.append({
            "fromEntityId": t["fromUserId"], "fromEntityType": "CUSTOMER",
            "toEntityId": t["toUserId"], "toEntityType": "CUSTOMER",
            "pointsTransferDate": t["date"], "pointsTransferred": t["points"], "transferId": t["transferId"],
            "transferType": "DEDUCTION" if t["fromUserId"] == user_id else "ADDITION",
            "transferredTo" if t["fromUserId"] == user_id else "transferredFrom": {
                "userId": other.user_id, "firstName": other.first_name, "lastName": other.last_name},
            "notes": t["notes"], "programName": seed.PROGRAM_NAME,
        })  # fmt: skip
    return rows


@handles("points_transfer_history")
def points_transfer_history(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    return _ok({"data": _transfer_rows(state, c.user_id), "warnings": [], "errors": []}) if c else _not_found()


@handles("customer_points_transfers")
def customer_points_transfers(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    return _ok({"data": _transfer_rows(state, c.user_id), "warnings": [], "errors": []}) if c else _not_found()


@handles("points_ledger_balance")
def points_ledger_balance(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    if c is None:
        return _not_found()
    balance = {"pointsCategory": "Main", "programName": seed.PROGRAM_NAME, "programId": seed.PROGRAM_ID,
               "closingBalance": f"{c.points:.3f}"}  # fmt: skip
    details = {"pageNumber": 0, "pageSize": 10, "totalEntries": 1, "pageCount": 1, "ledgerClosingBalance": [balance]}
    return _ok({"customerDetails": {"userId": c.user_id, "externalId": c.identifiers.get("externalId"),
                                    "entityType": "CUSTOMER"}, "ledgerDetails": details, "warnings": []})  # fmt: skip


@handles("points_ledger_info")
def points_ledger_info(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    if c is None:
        return _not_found()
    entries = [
        {"eventName": e["eventName"], "ledgerCreatedDate": e["date"], "netPointsOnEvent": f"{e['points']:.3f}",
         "entryDetails": [{"ledgerEntryType": e["ledgerEntryType"], "points": str(e["points"]), "pointsCategory": "Main",
                           "programName": seed.PROGRAM_NAME, "programId": seed.PROGRAM_ID}]}
        for e in reversed(state.ledger.get(c.user_id, []))
    ][:10]  # fmt: skip
    details = {"pageNumber": 0, "pageSize": 10, "totalEntries": len(state.ledger.get(c.user_id, [])), "pageCount": 1}
    return _ok({"customerDetails": {"userId": c.user_id, "entityType": "CUSTOMER"}, "ledgerDetails": details,
                "ledgerEntries": entries, "warnings": []})  # fmt: skip


def _v11_customer(state: SandboxState, source: dict[str, Any]) -> Customer | None:
    for key in ("mobile", "email", "external_id", "card_number", "user_id"):
        if source.get(key) not in (None, ""):
            return state.find(key, str(source[key]))
    return None


@handles("points_is_redeemable")
def points_is_redeemable(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _v11_customer(state, req.query)
    points = _number(req.query.get("points"))
    if c is None:
        return v11_error(816, "Unable to find customer in this organization")
    if points is None or points <= 0:
        return v11_error(801, "Points you are trying to redeem are invalid")
    if c.points < points:
        return v11_error(803, f"Redeem points more than available: {c.points:g} available")
    note = None
    if req.query.get("issue_otp") == "true":
        code = state.issue_otp(c.user_id, "REDEEM")
        log.info("sandbox redemption code issued for user %s; the answer carries it", c.user_id)
        note = _otp_note(code)
    redeemable = {"mobile": c.identifiers.get("mobile"), "points": str(int(points)), "is_redeemable": "true",
                  "points_redeem_value": points, "points_currency_ratio": "1",
                  "item_status": {"success": "true", "code": "800", "message": "Points can be redeemed"}}  # fmt: skip
    status = {"success": "true", "code": "200", "message": "SUCCESS"}
    answer = {"response": {"status": status, "points": {"redeemable": redeemable}}}
    return _ok({**answer, "sandbox": note} if note else answer)


@handles("points_issue_validation_code")
def points_issue_validation_code(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _v11_customer(state, req.query)
    if c is None:
        return v11_error(816, "Unable to find customer in this organization", "validation_code")
    code = state.issue_otp(c.user_id, "REDEEM")
    log.info("sandbox redemption code issued for user %s; the answer carries it", c.user_id)
    item = {
        "user_id": str(c.user_id),
        "mobile": c.identifiers.get("mobile"),
        "points": req.query.get("points"),
        "item_status": {"success": "true", "code": "200", "message": "Validation Code Issued by SMS/Email"},
    }
    status = {"success": "true", "code": "200", "message": "Operation Successful"}
    return _ok({"response": {"status": status, "validation_code": {"code": item}}, "sandbox": _otp_note(code)})


@handles("points_redeem")
def points_redeem(state: SandboxState, req: SandboxRequest) -> Answer:
    redeem = (((req.body or {}).get("root") or {}).get("redeem") or [{}])[0]
    c = _v11_customer(state, redeem.get("customer") or {})
    points = _number(redeem.get("points_redeemed"))
    if c is None:
        return v11_error(816, "Unable to find customer in this organization")
    if points is None or points <= 0:
        return v11_error(801, "Points you are trying to redeem are invalid")
    if c.points < points:
        return v11_error(803, f"Redeem points more than available: {c.points:g} available")
    if not state.check_otp(c.user_id, "REDEEM", redeem.get("validation_code")):
        return v11_error(808, "Unable to redeem. Validation code is invalid")
    redemption_id = state.redeem_points(c, points, redeem.get("transaction_number"), redeem.get("notes"))
    item = {"mobile": c.identifiers.get("mobile"), "user_id": str(c.user_id), "redemption_id": redemption_id,
            "points_redeemed": str(int(points)), "redeemed_value": points, "balance": c.points,
            "item_status": {"success": "true", "code": 800, "message": "Points Redeemed"}}  # fmt: skip
    status = {"success": "true", "code": 200, "message": "Success"}
    return _ok({"response": {"status": status, "responses": {"points": item}}})


@handles("points_reverse")
def points_reverse(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    redemption = state.redemptions.get(str(body.get("redemptionId")))
    if redemption is None:
        return v2_error(400, 902, "Redemption ID does not exist")
    c = state.find_in(body.get("identifier"))
    if c is None or c.user_id != redemption["userId"]:
        return v2_error(400, 904, "Invalid customer details passed")
    left = redemption["points"] - redemption["reversed"]
    amount = _number(body.get("pointsToBeReversed")) or left
    if left <= 0:
        return v2_error(400, 3802, "Points of this redemption were already reversed")
    if amount > left:
        return v2_error(400, 810, f"Mismatch in points: only {left:g} can be reversed")
    redemption["reversed"] += amount
    c.points += amount
    c.redeemed -= amount
    state.ledger[c.user_id].append(state._entry("RedemptionReversal", "CREDIT", amount))
    reversal_id = f"RV{sum(len(r['reversals']) for r in state.redemptions.values()) + 1}"
    redemption["reversals"].append({"id": reversal_id, "points": amount, "time": datetime.now(UTC).isoformat()})
    return _ok({"redemptionId": body.get("redemptionId"), "pointsToBeReversed": amount, "orgId": seed.ORG_ID,
                "customerId": c.user_id, "pointsReversed": amount, "reversalId": reversal_id,
                "warnings": []})  # fmt: skip


# --- coupons ---------------------------------------------------------------------------------


@handles("coupon_series_create")
def coupon_series_create(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body if isinstance(req.body, dict) else {}
    series: dict[str, Any] = body["CouponSeriesV2"] if isinstance(body.get("CouponSeriesV2"), dict) else body
    series_id = max(state.series) + 1
    state.series[series_id] = {
        "id": series_id, "orgId": seed.ORG_ID, "description": series.get("description", ""),
        "discountCode": series.get("discountCode") or f"SERIES{series_id}",
        "discountType": series.get("discountType", "ABS"), "discountValue": series.get("discountValue", 0),
        "validTillDate": series.get("validTillDate") or "2030-12-31T00:00:00Z", "numIssued": 0, "numRedeemed": 0,
        "maxVouchersPerUser": series.get("maxVouchersPerUser", -1),
    }  # fmt: skip
    return _ok({**state.series[series_id], "warnings": []})


@handles("coupon_series_get")
def coupon_series_get(state: SandboxState, req: SandboxRequest) -> Answer:
    ids = [i for i in req.query.get("ids", "").split(",") if i.strip()]
    found = [state.series[int(i)] for i in ids if i.strip().isdigit() and int(i) in state.series]
    if not found:
        return v2_error(404, 400, "Coupon series not found")
    return _ok({"entity": found, "warnings": []})


@handles("coupon_issue")
def coupon_issue(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    series = state.series.get(int(_number(body.get("seriesId")) or 0))
    c = state.find_in(body.get("customer"))
    if series is None:
        return v2_error(400, 400, "Invalid coupon series id")
    if c is None:
        return _not_found()
    if state.series_expired(series):
        return v2_error(400, 712, "Coupon series has expired")
    coupon = state.issue_coupon(series["id"], c)
    view = state.coupon_view(coupon)
    return _ok({**view, "customer": {"id": c.user_id, "profiles": [c.profile()]}, "warnings": []})


def _coupon_customer(state: SandboxState, source: dict[str, Any]) -> Customer | None:
    for key in ("id", "mobile", "email", "externalId"):
        if source.get(key) not in (None, ""):
            return state.find(key, str(source[key]))
    return None


@handles("coupon_is_redeemable")
def coupon_is_redeemable(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _coupon_customer(state, req.query)
    rows = []
    for code in [x.strip() for x in req.query.get("code", "").split(",") if x.strip()]:
        problem = state.coupon_problem(code, c)
        rows.append(
            {
                "code": code,
                "isRedeemable": problem is None,
                "errorCode": problem[0] if problem else None,
                "errorMessage": problem[1] if problem else "",
            }
        )
    if not rows:
        return v2_error(400, 400, "code is required")
    failed = next((r for r in rows if not r["isRedeemable"]), None)
    status = {
        "status": failed is None,
        "code": 700 if failed is None else failed["errorCode"],
        "message": "Coupon isRedeem successful" if failed is None else failed["errorMessage"],
    }
    body: dict[str, Any] = {"redemption": rows, "redemptionStatus": status, "warnings": []}
    if failed is not None:
        body["errors"] = [{"status": False, "code": failed["errorCode"], "message": failed["errorMessage"]}]
        return 400, body
    return _ok(body)


def _redeem(state: SandboxState, req: SandboxRequest) -> Answer:
    body = req.body or {}
    c = _coupon_customer(state, body.get("user") or {})
    if c is None:
        return _not_found()
    requests = body.get("redemptionRequestList") or []
    codes = [str(r.get("code")) for r in requests if isinstance(r, dict) and r.get("code")]
    if not codes:
        return v2_error(400, 400, "redemptionRequestList needs coupon codes")
    for code in codes:  # all or nothing, like a single redemption request
        problem = state.coupon_problem(code, c)
        if problem is not None:
            return v2_error(400, problem[0], problem[1])
    redeemed = []
    for code in codes:
        coupon = state.coupons[code.upper()]
        redemption_id = state.redeem_coupon(c, code, body.get("transactionNumber"), _number(body.get("billAmount")))
        redeemed.append(
            {
                "id": redemption_id,
                "code": coupon["code"],
                "seriesCode": coupon["seriesId"],
                "couponValue": state.series[coupon["seriesId"]]["discountValue"],
                "warnings": [],
            }
        )
    status = {"status": True, "code": 700, "message": "Coupon processing successful"}
    return _ok({"redemption": redeemed, "redemptionStatus": status,
                "customer": {"id": c.user_id, "profiles": [c.profile()]}, "warnings": []})  # fmt: skip


HANDLERS["coupon_redeem"] = _redeem
HANDLERS["coupon_redeem_bulk"] = _redeem


@handles("coupon_reactivate")
def coupon_reactivate(state: SandboxState, req: SandboxRequest) -> Answer:
    ids = (req.body or {}).get("redemptionIds") or []
    for raw in ids:
        if state.active_coupon_redemption(int(_number(raw) or 0)) is None:
            return v2_error(400, 400, f"Redemption id {raw} not found")
    for raw in ids:
        state.reactivate_coupon(int(_number(raw) or 0))
    return _ok({"warnings": [], "errors": [], "success": True})


@handles("coupon_get")
def coupon_get(state: SandboxState, req: SandboxRequest) -> Answer:
    users = {int(x) for x in req.query.get("issuedToIds", "").split(",") if x.strip().isdigit()}
    codes = {x.strip().upper() for x in req.query.get("couponCodes", "").split(",") if x.strip()}
    ids = {int(x) for x in req.query.get("couponIds", "").split(",") if x.strip().isdigit()}
    rows = [state.coupon_view(c) for c in state.coupons.values()
            if c["userId"] in users or c["code"].upper() in codes or c["id"] in ids]  # fmt: skip
    return _ok({"data": rows, "warnings": [], "errors": []})


@handles("customer_coupons")
def customer_coupons(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    if c is None:
        return _not_found()
    rows = [state.coupon_view(x) for x in state.coupons.values() if x["userId"] == c.user_id]
    return _ok({"entity": rows, "warnings": [], "errors": [], "success": True})


@handles("customer_coupons_basic")
def customer_coupons_basic(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _coupon_customer(state, req.query)
    if c is None:
        return _not_found()
    rows = [state.coupon_view(x) for x in state.coupons.values() if x["userId"] == c.user_id]
    customer = {"firstname": c.first_name, "lastname": c.last_name, "mobile": c.identifiers.get("mobile"),
                "id": c.user_id, "coupons": rows}  # fmt: skip
    return _ok({"entity": {"pagination": {"limit": "100", "offset": "0", "total": len(rows)}, "customers": [customer]},
                "warnings": [], "errors": [], "success": True})  # fmt: skip


# --- transactions ----------------------------------------------------------------------------


@handles("transaction_add")
def transaction_add(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_query(state, req)
    if c is None:
        return v2_error(400, 611, "Customer not found")
    body = req.body or {}
    if not body.get("billNumber"):
        return v2_error(400, 601, "Bill number is required")
    record = state.add_transaction(c, body)
    effect = {"entityType": "USER", "awardedPoints": record["points"], "type": "points"}
    return _ok({"createdId": record["id"], "warnings": [], "errors": [], "sideEffects": [effect],
                "customerInfo": {"firstName": c.first_name, "lastName": c.last_name}})  # fmt: skip


@handles("transaction_get")
def transaction_get(state: SandboxState, req: SandboxRequest) -> Answer:
    t = state.transactions.get(int(_number(req.path_params.get("id")) or 0))
    if t is None:
        return v2_error(404, 625, "Transaction not found")
    return _ok({"id": t["id"], "customerId": t["userId"], "type": t["type"],
                "billDetails": {"amount": t["amount"], "billNumber": t["number"], "billingTime": t["date"]},
                "lineItems": [{"details": item} for item in t["lineItems"]], "paymentModes": t["paymentModes"],
                "pointsEarned": t["points"], "warnings": []})  # fmt: skip


# --- labels ----------------------------------------------------------------------------------


@handles("customer_labels_list")
def labels_list(state: SandboxState, req: SandboxRequest) -> Answer:
    rows = [{**label, "orgId": seed.ORG_ID, "active": True} for label in state.labels.values()]
    return _ok({"data": rows, "warnings": [], "errors": []})


@handles("customer_labels_create")
def labels_create(state: SandboxState, req: SandboxRequest) -> Answer:
    for label in (req.body or {}).get("orgLabels") or []:
        name = str(label.get("name"))
        if name not in state.labels:
            state.labels[name] = {"id": 8 + len(state.labels), "name": name, "description": label.get("description")}
    return _ok({"entity": seed.ORG_ID, "warnings": []})


@handles("customer_labels_tag")
def labels_tag(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    if c is None:
        return _not_found()
    body = req.body or {}
    for item in body.get("add") or []:
        if item.get("labelName") not in state.labels:
            return v2_error(400, 400, f"Label {item.get('labelName')} does not exist; create it first")
        c.labels.add(item["labelName"])
    for item in body.get("remove") or []:
        c.labels.discard(item.get("labelName"))
    return _ok({"entity": c.user_id, "warnings": []})


@handles("customer_labels_of_customer")
def labels_of_customer(state: SandboxState, req: SandboxRequest) -> Answer:
    c = _by_path(state, req)
    if c is None:
        return _not_found()
    rows = [{"labelId": state.labels[n]["id"], "labelName": n, "userId": c.user_id} for n in sorted(c.labels)]
    return _ok({"data": rows, "warnings": [], "errors": []})


@handles("customer_labels_search_customers")
def labels_search(state: SandboxState, req: SandboxRequest) -> Answer:
    prefix = req.query.get("q", "").lower()
    rows = [{"userId": c.user_id, "customerLabels": [{"labelName": n} for n in sorted(c.labels)]}
            for c in state.customers.values() if any(n.lower().startswith(prefix) for n in c.labels)]  # fmt: skip
    return _ok({"pagination": {"limit": 10, "offset": 0, "total": len(rows)}, "data": rows, "warnings": [],
                "errors": []})  # fmt: skip
