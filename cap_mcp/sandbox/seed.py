"""Deterministic seed data of the sandbox: whom to look up, with what points, tiers, coupons and bills."""

from __future__ import annotations

from typing import Any

PROGRAM_ID = 2001
PROGRAM_NAME = "Rewards Club"
ORG_ID = 50001
STORE = {"code": "central", "name": "Central Store", "type": "STORE"}
TILL_CODE = "central.till1"

# Tiers by lifetime points: Bronze below 1000, Silver below 2500, Gold from 2500.
TIERS = (("Bronze", 0), ("Silver", 1000), ("Gold", 2500))
# Earning rule: 1 point for every 10 of bill amount on a REGULAR transaction (rounded down);
# a RETURN takes back the points of the returned amount at the same rate.
POINTS_PER_CURRENCY = 0.1

CUSTOMERS: list[dict[str, Any]] = [
    {"userId": 5100001, "firstName": "Asha", "lastName": "Rao", "mobile": "919800000001",
     "email": "asha.rao@example.com", "externalId": "EXT-1001", "cardnumber": "CARD-1001",
     "points": 1200, "lifetimePoints": 1240, "redeemed": 40, "purchases": 18500.0, "status": "ACTIVE"},
    {"userId": 5100002, "firstName": "Ben", "lastName": "Okafor", "mobile": "919800000002",
     "email": "ben.okafor@example.com", "externalId": "EXT-1002", "cardnumber": "CARD-1002",
     "points": 340, "lifetimePoints": 700, "redeemed": 360, "purchases": 7000.0, "status": "ACTIVE"},
    {"userId": 5100003, "firstName": "Chen", "lastName": "Wei", "mobile": "919800000003",
     "email": "chen.wei@example.com", "externalId": "EXT-1003", "cardnumber": "CARD-1003",
     "points": 2600, "lifetimePoints": 2900, "redeemed": 300, "purchases": 29000.0, "status": "ACTIVE"},
    {"userId": 5100004, "firstName": "Dana", "lastName": "Ruiz", "mobile": "919800000004",
     "email": "dana.ruiz@example.com", "externalId": "EXT-1004", "cardnumber": "CARD-1004",
     "points": 0, "lifetimePoints": 0, "redeemed": 0, "purchases": 0.0, "status": "ACTIVE"},
    {"userId": 5100005, "firstName": "Elif", "lastName": "Kaya", "mobile": "919800000005",
     "email": "elif.kaya@example.com", "externalId": "EXT-1005", "cardnumber": "CARD-1005",
     "points": 560, "lifetimePoints": 1500, "redeemed": 940, "purchases": 15000.0, "status": "FRAUD"},
]  # fmt: skip

SERIES: list[dict[str, Any]] = [
    {"id": 3001, "description": "Welcome 10% off", "discountCode": "WELCOME10", "discountType": "PERC",
     "discountValue": 10.0, "validTillDate": "2027-03-31T00:00:00Z", "maxVouchersPerUser": 1},
    {"id": 3002, "description": "Birthday 200 off", "discountCode": "BDAY200", "discountType": "ABS",
     "discountValue": 200.0, "validTillDate": "2027-12-31T00:00:00Z", "maxVouchersPerUser": 1},
    {"id": 3003, "description": "Summer 2025 15% off", "discountCode": "SUMMER15", "discountType": "PERC",
     "discountValue": 15.0, "validTillDate": "2025-09-30T00:00:00Z", "maxVouchersPerUser": 1},
]  # fmt: skip

COUPONS: list[dict[str, Any]] = [
    {"id": 399000001, "code": "WELCOME-ASHA-01", "seriesId": 3001, "userId": 5100001, "redeemed": False},
    {"id": 399000002, "code": "BDAY-CHEN-01", "seriesId": 3002, "userId": 5100003, "redeemed": True},
    {"id": 399000003, "code": "SUMMER-BEN-01", "seriesId": 3003, "userId": 5100002, "redeemed": False},
]

TRANSACTIONS: list[dict[str, Any]] = [
    {"id": 7700001, "number": "BILL-1001", "userId": 5100001, "amount": 340.0, "date": "2026-11-01T12:00:00+05:30"},
    {"id": 7700002, "number": "BILL-1002", "userId": 5100003, "amount": 1250.0, "date": "2026-11-05T18:30:00+05:30"},
    {"id": 7700003, "number": "BILL-1003", "userId": 5100002, "amount": 480.0, "date": "2026-11-12T10:05:00+05:30"},
]

LABELS: list[dict[str, Any]] = [
    {"id": 8, "name": "Premium", "description": "Spends over 4000 a year", "users": [5100001, 5100003]},
    {"id": 9, "name": "Lapsed", "description": "No purchase in six months", "users": []},
]


def tier_for(lifetime_points: float) -> str:
    name = TIERS[0][0]
    for tier, threshold in TIERS:
        if lifetime_points >= threshold:
            name = tier
    return name


def seed_summary() -> dict[str, Any]:
    """What `cap-mcp sandbox --seed` prints: the people and things a new user can look up."""
    coupons_by_user: dict[int, list[str]] = {}
    for coupon in COUPONS:
        coupons_by_user.setdefault(coupon["userId"], []).append(coupon["code"])
    return {
        "program": {"id": PROGRAM_ID, "name": PROGRAM_NAME, "org_id": ORG_ID},
        "earning_rule": "1 point per 10 of bill amount on REGULAR transactions; RETURN takes them back",
        "tiers": {name: threshold for name, threshold in TIERS},
        "customers": [
            {
                "userId": c["userId"],
                "name": f"{c['firstName']} {c['lastName']}",
                "mobile": c["mobile"],
                "email": c["email"],
                "externalId": c["externalId"],
                "cardnumber": c["cardnumber"],
                "points": c["points"],
                "tier": tier_for(c["lifetimePoints"]),
                "status": c["status"],
                "coupons": coupons_by_user.get(c["userId"], []),
            }
            for c in CUSTOMERS
        ],
        "coupon_series": [{k: s[k] for k in ("id", "description", "discountCode", "validTillDate")} for s in SERIES],
        "transactions": [{k: t[k] for k in ("id", "number", "userId", "amount")} for t in TRANSACTIONS],
    }
