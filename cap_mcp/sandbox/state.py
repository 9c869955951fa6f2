"""The sandbox's stateful core: customers, points, OTPs, coupons, transactions and labels, kept consistent.

Every handler runs without awaiting, so under one event loop each is atomic:
points never go negative, a transfer conserves points, a coupon redeems once.
Failures answer with Capillary's envelopes and error codes.
"""

from __future__ import annotations

import copy
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import seed

Answer = tuple[int, Any]
OTP_LIFETIME = 600.0


@dataclass
class SandboxRequest:
    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


def v2_error(status: int, code: int, message: str) -> Answer:
    return status, {"data": [], "warnings": [], "errors": [{"status": False, "code": code, "message": message}]}


def v11_error(code: int, message: str, entity: str = "points") -> Answer:
    return 200, {
        "response": {
            "status": {"success": "false", "code": 500, "message": "Request failed"},
            "responses": {entity: {"item_status": {"success": "false", "code": str(code), "message": message}}},
        }
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Customer:
    user_id: int
    first_name: str
    last_name: str
    identifiers: dict[str, str]
    points: float
    lifetime_points: float
    redeemed: float
    purchases: float
    status: str = "ACTIVE"
    labels: set[str] = field(default_factory=set)
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def tier(self) -> str:
        return seed.tier_for(self.lifetime_points)

    def profile(self) -> dict[str, Any]:
        identifiers = [{"type": k, "value": v} for k, v in self.identifiers.items()]
        channels = [
            {"type": k, "value": v, "primary": True, "verified": True, "meta": {}, "attributes": {}}
            for k, v in self.identifiers.items()
            if k in ("mobile", "email")
        ]
        return {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "fields": dict(self.fields),
            "identifiers": identifiers,
            "commChannels": channels,
            "source": "INSTORE",
            "userId": self.user_id,
            "accountId": "",
        }

    def program_details(self) -> dict[str, Any]:
        names = [name for name, _ in seed.TIERS]
        index = names.index(self.tier)
        nxt = names[index + 1] if index + 1 < len(names) else None
        return {
            "programId": seed.PROGRAM_ID,
            "programTitle": seed.PROGRAM_NAME,
            "loyaltyPoints": self.points,
            "totalAvailablePoints": self.points,
            "lifetimePoints": self.lifetime_points,
            "redeemed": self.redeemed,
            "expired": 0.0,
            "returned": 0.0,
            "adjusted": 0.0,
            "cumulativePurchases": self.purchases,
            "currentSlab": self.tier,
            "slabSNo": index + 1,
            "nextSlab": nxt or "",
            "nextSlabSerialNumber": index + 2 if nxt else -1,
            "loyaltyId": 8800000 + self.user_id % 1000,
        }


class SandboxState:
    def __init__(self, *, rng_seed: int = 7) -> None:
        self._rng = random.Random(rng_seed)
        self._ids = itertools.count(1)
        self.customers: dict[int, Customer] = {}
        self.series: dict[int, dict[str, Any]] = {}
        self.coupons: dict[str, dict[str, Any]] = {}
        self.transactions: dict[int, dict[str, Any]] = {}
        self.transfers: list[dict[str, Any]] = []
        self.ledger: dict[int, list[dict[str, Any]]] = {}
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.coupon_redemptions: dict[int, dict[str, Any]] = {}
        self.otps: dict[tuple[int, str], tuple[str, float]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        # v1.1 only: notes, support tickets and messages sent, per user id.
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.tickets: dict[int, list[dict[str, Any]]] = {}
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self._load_seed()

    # --- seed and lookups ---------------------------------------------------------------------

    def _load_seed(self) -> None:
        for c in seed.CUSTOMERS:
            ids = {k: c[k] for k in ("mobile", "email", "externalId", "cardnumber")}
            self.customers[c["userId"]] = Customer(
                c["userId"], c["firstName"], c["lastName"], ids, float(c["points"]), float(c["lifetimePoints"]),
                float(c["redeemed"]), c["purchases"], c["status"],
            )  # fmt: skip
            self.ledger[c["userId"]] = [self._entry("OpeningBalance", "OPENING_BALANCE", c["points"])]
        for s in seed.SERIES:
            self.series[s["id"]] = {**s, "orgId": seed.ORG_ID, "numIssued": 0, "numRedeemed": 0}
        for c in seed.COUPONS:
            self._store_coupon(c["code"], c["seriesId"], c["userId"], coupon_id=c["id"], redeemed=c["redeemed"])
        for t in seed.TRANSACTIONS:
            self.transactions[t["id"]] = {**t, "type": "REGULAR", "points": int(t["amount"] * seed.POINTS_PER_CURRENCY),
                                          "lineItems": [], "paymentModes": []}  # fmt: skip
        for label in seed.LABELS:
            self.labels[label["name"]] = {k: label[k] for k in ("id", "name", "description")}
            for user in label["users"]:
                self.customers[user].labels.add(label["name"])

    def _entry(self, event: str, kind: str, points: float, **extra: Any) -> dict[str, Any]:
        return {"eventName": event, "ledgerEntryType": kind, "points": points, "date": _now(), **extra}

    def find(self, name: str | None, value: str | None) -> Customer | None:
        if name is None or value is None:
            return None
        key = {"mobile": "mobile", "email": "email", "externalid": "externalId", "external_id": "externalId",
               "cardnumber": "cardnumber", "card_number": "cardnumber", "card": "cardnumber"}.get(name.lower())  # fmt: skip
        if name.lower() in ("id", "userid", "user_id"):
            try:
                return self.customers.get(int(value))
            except ValueError:
                return None
        if key is None:
            return None
        wanted = value.strip().lower()
        return next((c for c in self.customers.values() if c.identifiers.get(key, "").lower() == wanted), None)

    def find_in(self, identifier: Any) -> Customer | None:
        """From {type, value} (v2 points) or {mobile|email|external_id|id: value} (coupons, v1.1)."""
        if not isinstance(identifier, dict):
            return None
        if "type" in identifier:
            return self.find(str(identifier.get("type")), str(identifier.get("value")))
        for key in ("id", "userId", "mobile", "email", "externalId", "external_id", "cardnumber", "card_number"):
            if identifier.get(key) not in (None, ""):
                return self.find(key, str(identifier[key]))
        return None

    def customer_entity(self, c: Customer, *, with_points: bool = True) -> dict[str, Any]:
        entity: dict[str, Any] = {
            "id": c.user_id,
            "profiles": [c.profile()],
            "loyaltyInfo": {"loyaltyType": "loyalty", "lifetimePurchases": c.purchases},
            "segments": {},
            "extendedFields": {},
            "fraudDetails": {"status": "MARKED" if c.status == "FRAUD" else "NOT_FRAUD"},
            "warnings": [],
        }
        if with_points:
            entity["loyaltyProgramDetails"] = [c.program_details()]
        return entity

    # --- OTP ----------------------------------------------------------------------------------

    def issue_otp(self, user_id: int, scope: str) -> str:
        code = f"{self._rng.randrange(100000, 999999)}"
        self.otps[(user_id, scope.upper())] = (code, time.monotonic() + OTP_LIFETIME)
        return code

    def check_otp(self, user_id: int, scope: str, code: str | None, *, consume: bool = True) -> bool:
        stored = self.otps.get((user_id, scope.upper()))
        if stored is None or code is None or stored[0] != str(code) or time.monotonic() > stored[1]:
            return False
        if consume:
            del self.otps[(user_id, scope.upper())]
        return True

    # --- points -------------------------------------------------------------------------------

    def move_points(self, source: Customer, target: Customer, amount: float, notes: str) -> dict[str, Any]:
        source.points -= amount
        target.points += amount
        transfer_id = 9000 + len(self.transfers) + 1
        record = {
            "transferId": transfer_id, "fromUserId": source.user_id, "toUserId": target.user_id,
            "points": amount, "notes": notes, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }  # fmt: skip
        self.transfers.append(record)
        self.ledger[source.user_id].append(self._entry("PointsTransfer", "DEBIT", amount, transferId=transfer_id))
        self.ledger[target.user_id].append(self._entry("PointsTransfer", "CREDIT", amount, transferId=transfer_id))
        return record

    def redeem_points(self, c: Customer, amount: float, bill: str | None, notes: str | None = None) -> str:
        redemption_id = "".join(
            self._rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789") for _ in range(6)
        )
        c.points -= amount
        c.redeemed += amount
        self.redemptions[redemption_id] = {"userId": c.user_id, "points": amount, "reversed": 0.0, "bill": bill,
                                           "notes": notes, "time": _now(), "reversals": []}  # fmt: skip
        self.ledger[c.user_id].append(self._entry("PointsRedemption", "DEBIT", amount, redemptionId=redemption_id))
        return redemption_id

    # --- coupons ------------------------------------------------------------------------------

    def _store_coupon(
        self, code: str, series_id: int, user_id: int, *, coupon_id: int | None = None, redeemed: bool = False
    ) -> dict[str, Any]:
        coupon = {
            "id": coupon_id or 399000100 + len(self.coupons),
            "code": code,
            "seriesId": series_id,
            "userId": user_id,
            "redeemed": redeemed,
            "issuedOn": _now(),
        }
        self.coupons[code.upper()] = coupon
        self.series[series_id]["numIssued"] += 1
        if redeemed:
            self.series[series_id]["numRedeemed"] += 1
        return coupon

    def issue_coupon(self, series_id: int, c: Customer) -> dict[str, Any]:
        code = f"{self.series[series_id]['discountCode']}-{self._rng.randrange(10**5, 10**6)}"
        return self._store_coupon(code, series_id, c.user_id)

    def coupon_view(self, coupon: dict[str, Any]) -> dict[str, Any]:
        series = self.series[coupon["seriesId"]]
        return {
            "id": coupon["id"],
            "code": coupon["code"],
            "seriesId": series["id"],
            "description": series["description"],
            "discountCode": series["discountCode"],
            "discountType": series["discountType"],
            "discountValue": series["discountValue"],
            "validTill": series["validTillDate"],
            "issuedTo": coupon["userId"],
            "createdDate": coupon["issuedOn"],
            "redeemed": coupon["redeemed"],
            "isRedeemed": coupon["redeemed"],
            "redemptionsLeft": 0 if coupon["redeemed"] else 1,
            "expired": self.series_expired(series),
        }

    @staticmethod
    def series_expired(series: dict[str, Any]) -> bool:
        valid_till = datetime.fromisoformat(str(series["validTillDate"]).replace("Z", "+00:00"))
        return valid_till < datetime.now(UTC)

    def coupon_problem(self, code: str, c: Customer | None) -> tuple[int, str] | None:
        coupon = self.coupons.get(code.upper())
        if coupon is None:
            return 719, f"Coupon code {code} does not exist"
        if c is not None and coupon["userId"] != c.user_id:
            return 703, f"Coupon {code} is not issued to this customer"
        if coupon["redeemed"]:
            return 711, f"Coupon {code} is redeemed already"
        if self.series_expired(self.series[coupon["seriesId"]]):
            return 713, f"Coupon {code} has expired"
        return None

    def redeem_coupon(self, c: Customer, code: str, bill: str | None, amount: float | None) -> int:
        """Redeem a coupon that coupon_problem found usable; the redemption id undoes it (coupon_reactivate)."""
        coupon = self.coupons[code.upper()]
        coupon["redeemed"] = True
        self.series[coupon["seriesId"]]["numRedeemed"] += 1
        redemption_id = 66000100 + len(self.coupon_redemptions) + 1
        self.coupon_redemptions[redemption_id] = {"code": code.upper(), "userId": c.user_id, "bill": bill,
                                                  "amount": amount, "time": _now(), "reactivated": None}  # fmt: skip
        return redemption_id

    def reactivate_coupon(self, redemption_id: int) -> None:
        """Undo a coupon redemption: the coupon can be used again, the redemption stays in the history."""
        redemption = self.coupon_redemptions[redemption_id]
        redemption["reactivated"] = _now()
        coupon = self.coupons[redemption["code"]]
        coupon["redeemed"] = False
        self.series[coupon["seriesId"]]["numRedeemed"] -= 1

    def active_coupon_redemption(self, redemption_id: int) -> dict[str, Any] | None:
        redemption = self.coupon_redemptions.get(redemption_id)
        return redemption if redemption is not None and redemption["reactivated"] is None else None

    # --- transactions -------------------------------------------------------------------------

    def add_transaction(self, c: Customer, body: dict[str, Any]) -> dict[str, Any]:
        kind = str(body.get("type", "REGULAR")).upper()
        amount = float(body.get("billAmount") or 0)
        points = int(amount * seed.POINTS_PER_CURRENCY)
        transaction_id = 7700000 + len(self.transactions) + 1
        if kind == "RETURN":
            points = -min(points, int(c.points))
        c.points += points
        if points > 0:
            c.lifetime_points += points
            c.purchases += amount
        self.transactions[transaction_id] = {
            "id": transaction_id, "number": body.get("billNumber"), "userId": c.user_id, "amount": amount,
            "date": body.get("billingDate") or _now(), "type": kind, "points": points,
            "lineItems": copy.deepcopy(body.get("lineItemsV2") or []), "paymentModes": body.get("paymentModes") or [],
        }  # fmt: skip
        event = "ReturnBill" if kind == "RETURN" else "TransactionAdd"
        self.ledger[c.user_id].append(
            self._entry(event, "DEBIT" if points < 0 else "CREDIT", abs(points), transactionId=transaction_id)
        )
        return self.transactions[transaction_id]

    def add_anonymous_transaction(self, number: str, amount: float, date: str | None) -> dict[str, Any]:
        """A not-interested bill: no customer, no points, until a retro conversion gives it one."""
        transaction_id = 7700000 + len(self.transactions) + 1
        self.transactions[transaction_id] = {
            "id": transaction_id, "number": number, "userId": None, "amount": amount, "date": date or _now(),
            "type": "NOT_INTERESTED", "points": 0, "lineItems": [], "paymentModes": [],
        }  # fmt: skip
        return self.transactions[transaction_id]

    def retro_transaction(self, transaction: dict[str, Any], c: Customer) -> int:
        """Give an anonymous bill to a customer, who earns its points as if it had been theirs."""
        points = int(transaction["amount"] * seed.POINTS_PER_CURRENCY)
        transaction.update(userId=c.user_id, type="REGULAR", points=points)
        c.points += points
        c.lifetime_points += points
        c.purchases += transaction["amount"]
        self.ledger[c.user_id].append(
            self._entry("RetroTransaction", "CREDIT", points, transactionId=transaction["id"])
        )
        return points

    def total_points(self) -> float:
        return sum(c.points for c in self.customers.values())

    def new_user_id(self) -> int:
        return max(self.customers) + 1


Handler = Callable[[SandboxState, SandboxRequest], Answer]
