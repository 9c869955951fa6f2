"""Dynamic mode: three discovery tools through which every operation of the profile stays reachable.

Search ranks operations with BM25 over their name, title, keywords, toolset and
description, after mapping everyday words and phrases to Capillary's ("voucher" →
coupon, "bill" → transaction, "sign up" → register, "give back" → reverse), so that a
request in plain language finds the right operation. On top of BM25: a bonus when a
request contains one of an operation's keyword phrases, and light priors — questions
lean to reads and requests to act lean to changes, the core support toolsets are
slightly preferred, and batch operations need a request that speaks of many.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .catalog import Operation
from .results import text_result

if TYPE_CHECKING:
    from .runtime import Runtime

DISCOVERY_TOOLS: list[dict[str, Any]] = [
    {
        "name": "search_operations",
        "title": "Find a Capillary operation",
        "description": "Finds the operations for a request in plain words (e.g. 'give her points to her husband', "
        "'is this voucher still valid'). Returns names, toolsets and one-line descriptions, best first.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What you want to do, in everyday words"},
                "toolset": {"type": "string", "description": "Only this toolset, e.g. points"},
                "effect": {"type": "string", "enum": ["read", "write", "destructive"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "describe_operation",
        "title": "Describe a Capillary operation",
        "description": "Shows an operation's full input schema, effect and notes. Call before call_operation.",
        "inputSchema": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Operation name from search_operations"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "call_operation",
        "title": "Run a Capillary operation",
        "description": "Runs an operation by name with its arguments, validated and confirmed exactly like the "
        "direct tool. Changes ask the user first; pass confirmation_token only from a confirmation_required result.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "arguments": {"type": "object", "description": "As describe_operation shows"},
                "confirmation_token": {"type": "string"},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True},
    },
]

# ---------------------------------------------------------------------------------------------
# Vocabulary. Requests use everyday words; operations use Capillary's. Three maps bridge them:
#   SAME      words that mean exactly a Capillary word: replaced on both sides (operations and requests);
#   PHRASES   multi-word expressions ("sign up", "pay with", "opt out"), read before single words;
#   SYNONYMS  query-side hints: an everyday word also looks for these Capillary words, at a lower weight
#             (HINTS: weaker still, for words that only lean one way).
# ---------------------------------------------------------------------------------------------

SAME: dict[str, str] = {
    "voucher": "coupon", "evoucher": "coupon", "couponcode": "coupon",
    "shopper": "customer", "buyer": "customer", "consumer": "customer", "patron": "customer", "guest": "customer",
    "customers": "customer", "shoppers": "customer",
    "bill": "transaction", "invoice": "transaction", "purchase": "transaction", "txn": "transaction",
    "tag": "label", "tagged": "label", "tagging": "label",
    "phone": "mobile", "cell": "mobile", "cellphone": "mobile", "mob": "mobile", "msisdn": "mobile",
    "mail": "email", "emailid": "email",
    "enroll": "enrol", "enrolment": "enrol", "enrollment": "enrol", "enrolled": "enrol", "enrolling": "enrol",
    "programme": "program", "programmes": "program", "catalogue": "catalog",
    "redemption": "redeem", "redemptions": "redeem",
    "expiry": "expire", "expiration": "expire", "expiries": "expire", "lapse": "expire", "lapsing": "expire",
    "registration": "register", "signup": "register", "onboard": "register",
    "subscription": "subscribe", "subscriptions": "subscribe",
    "referral": "refer", "referrals": "refer", "referred": "refer", "referring": "refer", "referrer": "refer",
    "cancelled": "cancel", "canceled": "cancel", "cancellation": "cancel",
    "verification": "verify", "validation": "validate", "transferable": "transferrable",
    "login": "login", "logon": "login", "signin": "login", "logout": "logout", "signout": "logout",
    "passcode": "otp", "otps": "otp", "2fa": "otp",
    "photo": "image", "picture": "image", "pic": "image", "avatar": "image", "selfie": "image",
    "enquiry": "lead", "inquiry": "lead", "enquiries": "lead", "inquiries": "lead", "prospect": "lead",
    "questionnaire": "survey", "poll": "survey", "nps": "survey",
    "pts": "point", "miles": "point",
    "spent": "spend", "bought": "buy", "gave": "give", "given": "give", "sent": "send", "got": "get",
    "used": "use", "using": "use", "labelled": "label", "labeled": "label", "labelling": "label",
    "children": "child", "kids": "child", "kid": "child", "wives": "wife",
}  # fmt: skip

PHRASES: dict[str, tuple[str, ...]] = {
    "sign up": ("register",), "signed up": ("register",), "join loyalty": ("register",), "new member": ("register",),
    "new customer": ("register",), "create account": ("register",), "open account": ("register",),
    "sign in": ("login",), "log in": ("login",), "log into": ("login",), "sign into": ("login",), "logged in": ("login",), "log out": ("logout",),
    "sign out": ("logout",), "logged out": ("logout",),
    "look up": ("lookup",), "pull up": ("lookup",), "who is": ("lookup", "search"),
    "opt out": ("subscribe", "unsubscribe"), "opted out": ("subscribe", "unsubscribe"), "opt in": ("subscribe",),
    "opted in": ("subscribe",), "do not disturb": ("subscribe", "dnd"), "stop sending": ("unsubscribe", "subscribe"),
    "stop messages": ("unsubscribe",), "stop sms": ("unsubscribe",), "stop email": ("unsubscribe",),
    "one time password": ("otp",), "one time code": ("otp",), "verification code": ("otp",),
    "login code": ("otp",), "sms code": ("otp",), "security code": ("otp",), "otp code": ("otp",),
    "promo code": ("coupon",), "discount code": ("coupon",), "coupon code": ("coupon",), "gift code": ("coupon",),
    "offer code": ("coupon",), "referral code": ("refer",), "invite code": ("refer",), "refer code": ("refer",),
    "pay with": ("redeem",), "pay using": ("redeem",), "cash in": ("redeem",), "use up": ("redeem",),
    "give back": ("reverse", "reactivate"), "put back": ("reverse", "reactivate"), "credit back": ("reverse",),
    "go back": ("reverse",), "usable again": ("reactivate",), "use again": ("reactivate",),
    "went through": ("history",), "go through": ("history",), "gone through": ("history",),
    "how many points": ("balance",), "new number": ("change", "identifier"), "new mobile": ("change", "identifier"),
    "new email": ("change", "identifier"), "new phone": ("change", "identifier"), "send email": ("communication",), "points left": ("balance",),
    "points balance": ("balance",), "running out": ("expire",), "about to expire": ("expire",),
    "valid until": ("expire",), "valid till": ("expire",), "end date": ("expire",),
    "not yet": ("pending",), "on hold": ("pending",), "still valid": ("redeemable",), "still good": ("redeemable",),
    "still work": ("redeemable",), "can be used": ("redeemable",), "can use": ("redeemable",),
    "walked in": ("walkin", "footfall"), "walk in": ("walkin", "footfall"), "came in": ("walkin",),
    "check in": ("walkin",), "checked in": ("walkin",),
    "mark as": ("label", "status"), "top up": ("add",), "what happened": ("history", "event"),
    "profile picture": ("image",), "profile pic": ("image",), "date of birth": ("update",),
    "double points": ("promotion", "bonus"), "bonus points": ("promotion", "bonus"),
    "points bill": ("earn",), "points purchase": ("earn",), "points order": ("earn",),
    "email the": ("communication", "send"), "email her": ("communication", "send"), "email him": ("communication", "send"),
    "email them": ("communication", "send"), "email customer": ("communication", "send"),
    "add email": ("change", "identifier"), "add mobile": ("change", "identifier"), "close account": ("status",),
    "not used": ("unused",), "hasnt used": ("unused",), "havent used": ("unused",), "not redeemed": ("unused",),
    "hand over": ("transfer",), "pass on": ("transfer",), "in exchange for": ("redeem", "reward"),
    "exchange points": ("redeem", "reward"), "swap points": ("redeem", "reward"),
    "buy one get one": ("promotion", "cart"), "set up": ("create",), "setup": ("create",), "bogo": ("promotion", "cart"),
    "api key": ("client", "integration"), "api keys": ("client", "integration"),
    "membership number": ("id", "lookup"), "member number": ("id", "lookup"), "loyalty number": ("id", "lookup"),
    "customer number": ("id", "lookup"), "mark as used": ("redeem",), "mark used": ("redeem",),
    "user id": ("id",), "customer id": ("id",), "member id": ("id",),
}  # fmt: skip
# Changing an identifier: the identifier is the object of the verb ("update the email", "change his number").
PHRASES.update(
    {
        f"{verb} {thing}": ("change", "identifier")
        for verb in ("update", "change", "edit", "correct", "fix", "replace", "modify")
        for thing in ("email", "mobile", "phone", "number")
    }
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    # people
    "member": ("customer",), "user": ("customer",), "client": ("customer",), "person": ("customer",),
    "profile": ("customer", "detail"), "account": ("customer",), "cardholder": ("customer", "card"),
    "loyalist": ("customer",), "people": ("customer",), "someone": ("customer",), "somebody": ("customer",),
    # relatives: points usually move to them; their family group is only a leaning (see HINTS)
    "husband": ("transfer",), "wife": ("transfer",), "spouse": ("transfer",), "son": ("transfer",),
    "daughter": ("transfer",), "child": ("transfer",), "mother": ("transfer",), "mom": ("transfer",),
    "mum": ("transfer",), "father": ("transfer",), "dad": ("transfer",), "brother": ("transfer",),
    "sister": ("transfer",), "sibling": ("transfer",), "relative": ("transfer",), "parent": ("family",),
    "household": ("family", "group"), "family": ("group", "household"), "pool": ("group", "family"),
    "pooled": ("group", "pool"), "friend": ("refer", "transfer"), "colleague": ("transfer",),
    # points
    "credit": ("point",), "credits": ("point",), "star": ("point",), "coin": ("point",), "coins": ("point",),
    "balance": ("point", "balance"), "wallet": ("point", "coupon", "reward"), "earn": ("earn", "point"),
    "earned": ("earn",), "awarded": ("earn", "issue"), "accrued": ("earn",), "credited": ("earn",),
    "collected": ("earn",),
    "spend": ("redeem",), "use": ("redeem",), "burn": ("redeem",), "pay": ("redeem",), "apply": ("redeem",),
    "claim": ("redeem", "claim"), "consume": ("redeem",), "deduct": ("redeem",), "cash": ("redeem",),
    "give": ("transfer", "issue"), "send": ("transfer", "issue"), "share": ("transfer",), "move": ("transfer",),
    "gift": ("transfer", "reward", "issue"), "donate": ("transfer",), "pass": ("transfer",),
    "undo": ("reverse", "reactivate"), "revert": ("reverse",), "rollback": ("reverse",), "refund": ("reverse", "return"),
    "refunded": ("reverse", "return"), "restore": ("reactivate", "reverse"), "reinstate": ("reactivate",),
    "returned": ("return", "reverse"), "reuse": ("reactivate",), "unredeem": ("reactivate", "reverse"),
    "pending": ("promised", "pending"), "promised": ("pending",), "delayed": ("promised", "pending"),
    "expire": ("expire", "schedule"), "expiring": ("expire", "schedule"), "lapsing": ("expire",),
    # coupons
    "code": ("coupon", "otp", "refer"), "codes": ("coupon",), "promo": ("coupon", "promotion"),
    "discount": ("coupon", "promotion"), "offer": ("coupon", "promotion", "series"), "deal": ("coupon", "promotion"),
    "coupon": ("coupon",), "campaign": ("series", "promotion"), "birthday": ("coupon", "issue"),
    "anniversary": ("coupon", "issue"), "apology": ("goodwill", "issue"), "compensation": ("goodwill",),
    "compensate": ("goodwill",), "sorry": ("goodwill",), "valid": ("redeemable", "valid"), "usable": ("redeemable",),
    "working": ("redeemable",), "works": ("redeemable",), "legit": ("valid", "validate"),
    "genuine": ("valid", "validate"), "unused": ("coupon", "basic"), "import": ("upload",), "csv": ("upload",),
    # transactions
    "order": ("transaction",), "orders": ("transaction",), "sale": ("transaction",), "sales": ("transaction",),
    "receipt": ("transaction", "detail"), "basket": ("transaction", "cart"), "checkout": ("transaction",),
    "shopping": ("transaction",), "shopped": ("transaction",), "buy": ("transaction",), "visit": ("transaction",),
    "return": ("return", "transaction"), "exchange": ("return",), "delivered": ("delivery", "update"),
    "shipped": ("delivery", "update"), "dispatched": ("delivery", "update"), "delivery": ("delivery",),
    # tiers
    "level": ("tier",), "grade": ("tier",), "rank": ("tier",), "slab": ("tier",), "gold": ("tier",),
    "silver": ("tier",), "platinum": ("tier",), "bronze": ("tier",), "diamond": ("tier",),
    "upgrade": ("tier",), "downgrade": ("tier",), "membership": ("tier", "card"),
    # history and reading
    "history": ("history", "log", "ledger"), "log": ("history", "log"), "past": ("history",),
    "previous": ("history",), "timeline": ("history", "event"), "trail": ("history", "log"), "audit": ("log",),
    "statement": ("ledger",), "activity": ("event", "history"), "happened": ("event", "history"),
    "recent": ("history", "activity"), "recently": ("history", "activity"),
    "find": ("lookup", "search"), "search": ("search",), "locate": ("lookup",), "fetch": ("get",),
    "retrieve": ("get",), "show": ("get", "list"), "view": ("get", "list"), "see": ("get", "list"),
    "display": ("get",), "details": ("detail",), "info": ("detail",), "information": ("detail",),
    "number": ("mobile", "id"), "id": ("id",), "identifier": ("identifier",),
    # account changes
    "sign": ("register",), "join": ("register", "join"), "enrol": ("register",), "new": ("register", "create"),
    "edit": ("update",), "change": ("update",), "modify": ("update",), "fix": ("update",), "correct": ("update",),
    "amend": ("update",), "rename": ("update",), "changed": ("change",),
    "suspend": ("status",), "block": ("status", "suspend"), "ban": ("status", "suspend"), "freeze": ("status", "suspend"),
    "fraud": ("status", "suspend"), "blacklist": ("status",), "deactivate": ("status",), "disable": ("status",),
    "unblock": ("status",), "reactivate": ("reactivate", "status"), "delete": ("delete", "status"),
    "close": ("delete", "status"), "blocked": ("status",), "suspended": ("status",), "banned": ("status",),
    "unsubscribe": ("subscribe",), "unsubscribed": ("subscribe",), "spam": ("subscribe",),
    "marketing": ("subscribe", "bulk"), "promotional": ("subscribe", "bulk"), "newsletter": ("subscribe", "email"),
    "dnd": ("subscribe", "consent"), "consent": ("consent", "subscribe"), "messages": ("subscribe", "message"),
    "notifications": ("subscribe",), "merge": ("merge",), "duplicate": ("merge",),
    # labels
    "label": ("label",), "untag": ("label",), "flag": ("label",), "segment": ("label",), "vip": ("label", "tier"),
    "category": ("label",), "categorise": ("label",), "categorize": ("label",), "group": ("group",),
    # otp
    "otp": ("otp",), "pin": ("otp",), "verify": ("validate", "otp"), "confirm": ("validate",),
    "check": ("check", "validate"), "authenticate": ("login", "validate"),
    # cards, stores, staff
    "card": ("card",),
    "shop": ("store",), "outlet": ("store",), "branch": ("store",), "mall": ("store",), "location": ("store",),
    "employee": ("staff",), "employees": ("staff",), "associate": ("staff",), "cashier": ("staff",),
    "salesperson": ("staff",), "agent": ("staff",), "team": ("staff",), "visitors": ("footfall",),
    "visitor": ("footfall",), "traffic": ("footfall",), "walkin": ("walkin",), "arrived": ("walkin", "sent"),
    # other areas
    "opportunity": ("lead",), "interested": ("lead",), "won": ("lead", "status"), "lost sale": ("lead",),
    "feedback": ("survey",), "rating": ("survey",), "review": ("survey",), "answers": ("response",),
    "answer": ("response",), "responses": ("response",), "invite": ("refer",), "invited": ("refer",),
    "catalog": ("reward", "catalog"), "merchandise": ("reward",), "perk": ("reward",), "perks": ("reward",),
    "benefit": ("reward",), "reward": ("reward",), "rewards": ("reward",), "bonus": ("promotion",),
    "multiplier": ("promotion",), "email": ("email",), "message": ("email", "communication"),
    "notify": ("notification", "email"), "webhook": ("webhook",), "callback": ("webhook",),
    "browse": ("event",), "browsed": ("event",), "clicked": ("event",), "viewed": ("event",),
    "suggest": ("recommendation",), "recommend": ("recommendation",), "recommendations": ("recommendation",),
    "password": ("password",), "forgot": ("reset", "password"), "forgotten": ("reset", "password"),
    "cant": ("redeemable", "transferrable", "check"), "cannot": ("redeemable", "transferrable", "check"),
    "unable": ("redeemable", "transferrable", "check"), "failed": ("redeemable", "transferrable", "check"),
    "failing": ("redeemable", "transferrable", "check"), "error": ("redeemable", "transferrable", "check"),
    "rejected": ("redeemable", "transferrable", "check"), "declined": ("redeemable", "transferrable", "check"),
    "invalid": ("redeemable", "valid", "check"),
    "worth": ("worth", "redeemable"), "value": ("worth",), "rupees": ("worth",), "money": ("worth",),
    "everything": ("detail", "full", "profile"), "address": ("update", "profile"), "city": ("profile",),
    "gender": ("profile",), "surname": ("name",), "dob": ("update", "profile"),
    "copy": ("detail",), "reprint": ("detail",), "assign": ("link", "issue"), "attach": ("link",), "arrive": ("sent",),
    "receive": ("sent",), "received": ("sent",), "receiving": ("sent",), "reach": ("sent",), "reached": ("sent",),
    "airline": ("partner",), "cobrand": ("partner",), "programs": ("program",),
}  # fmt: skip

# Weak leanings: a word that makes some operations a little likelier.
HINTS: dict[str, tuple[str, ...]] = {
    "why": ("history", "log", "ledger"), "when": ("expire", "history"), "who": ("lookup", "search"),
    "she": ("customer",), "he": ("customer",), "her": ("customer",), "his": ("customer",), "him": ("customer",),
    "they": ("customer",), "them": ("customer",), "hers": ("customer",), "still": ("redeemable",),
    "stop": ("unsubscribe", "status"), "never": ("history",), "missing": ("history", "claim"),
    "wrong": ("update", "history"), "status": ("status", "tier"), "many": ("count",), "today": ("redeemable",),
    "delete": ("remove", "untag"), "remove": ("untag",), "lost": ("card", "status"), "stolen": ("card", "status"), "go": ("sent",), "went": ("sent",),
    "active": ("status",), "inactive": ("status",), "all": ("list",), "every": ("list",), "exist": ("list",), "existing": ("list",), "available": ("list",),
    "husband": ("family",), "wife": ("family",), "spouse": ("family",), "son": ("family",), "daughter": ("family",),
    "child": ("family",), "mother": ("family",), "mom": ("family",), "mum": ("family",), "father": ("family",),
    "dad": ("family",), "brother": ("family",), "sister": ("family",), "sibling": ("family",), "relative": ("family",),
    "set": ("create",), "right": ("validate",), "entered": ("validate",), "typed": ("validate",), "matches": ("validate",),
}  # fmt: skip


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _word_set(
    """a an the to of for and or is are was were be been being am it its it's this that these those my our their your
    with from on in at by me i can could would should will shall may might must please pls plz do does did doing done
    how what whats when which whose who whom why you we us they them there here just so then than also very really
    about into onto out up over as if has have had having any some all get got let lets want wants wanted need needs
    needed like kindly hi hello hey ok okay thanks thank help tell know tried trying try s t d ll re ve m don didn
    doesn isn wasn hasn haven aren weren won wouldn couldn shouldn she he her his him hers itself myself yourself right
    not no yet still now today currently didnt cant wont dont doesnt isnt wasnt hasnt havent shes hes whats thats
    theres im ive lets another other others"""
)
_TOKEN = re.compile(r"[a-z0-9]+")
_IDENTIFIER = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_QUESTION = _word_set(
    "what whats which who whose why when where how is are was were did does do has have had show list view see "
    "display check find look lookup any"
)
_ACTION = _word_set(
    "give send add create make set update change edit remove delete transfer move issue register enrol enroll sign "
    "tag untag label apply redeem record upload import mark suspend block unblock cancel undo reverse refund link "
    "unlink assign reassign generate deactivate activate reactivate open close merge reset opt unsubscribe subscribe "
    "credit debit deduct award grant email notify save put burn spend use share gift process log start setup "
    "rename replace restore revoke disable enable extend top pay claim exchange verify validate confirm resend "
    "book upgrade downgrade approve reject flag hand pass donate"
)
_LEAD_IN = _word_set(
    "please pls plz kindly hi hello hey ok okay so and but also just quickly can could would will you i we need "
    "want wants to like id d help me us let lets go ahead customer member shopper she he they the this"
)
_TROUBLE = _word_set(
    """cant cannot couldnt unable didnt didn doesnt wont isnt wasnt hasnt havent never failed fails failing error
    wrong invalid rejected declined missing"""
)
_MANY = _word_set(
    """bulk batch many several multiple all everyone list lists csv file import mass customers members shoppers bills
    transactions purchases orders sales vouchers coupons cards hundreds thousands"""
)
_ASKER = _word_set("you u we i someone somebody anyone please pls plz")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<![\w-])\+?\d{10,13}\b")
CORE_TOOLSETS = frozenset({"customer", "points", "coupon", "transaction", "otp", "customer_labels"})


def _camel_split(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ").replace("'", "").lower()


def _stem(word: str) -> str:
    """A light English stemmer: plurals, -ed, -ing and a final -e, so that change/changes/changed/changing meet."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        word = _undouble(word[:-2])
    elif (word.endswith("es") and len(word) > 4 and word[-3] in "sxz") or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3 and not word.endswith("ee"):
        word = word[:-1]
    return word


def _undouble(stem: str) -> str:
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeioulsz":
        return stem[:-1]
    return stem


@lru_cache(maxsize=8192)
def _term(word: str) -> str:
    """A word's index term: everyday equivalents replaced, then stemmed."""
    same = SAME.get(word)
    if same is None:
        same = SAME.get(_stem(word), word)
    return _stem(same)


def _words(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(_camel_split(text)) if len(w) > 1 or w.isdigit()]


def tokens(text: str) -> list[str]:
    """Index terms of a text: camelCase and snake_case split, stop words dropped, equivalents replaced, stemmed."""
    return [_term(w) for w in _words(text) if w not in _STOP]


def _lookup(table: dict[str, tuple[str, ...]], word: str) -> tuple[str, ...]:
    found = table.get(word)
    if found is None:
        found = table.get(_stem(word), ())
    return found


_PHRASE_TERMS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _phrase_table() -> dict[tuple[str, ...], tuple[str, ...]]:
    if not _PHRASE_TERMS:
        for phrase, meaning in PHRASES.items():
            _PHRASE_TERMS[tuple(_term(w) for w in phrase.split())] = tuple(_term(w) for w in meaning)
    return _PHRASE_TERMS


def expand(query: str) -> dict[str, float]:
    """Weighted terms of a request: its own words (1.0), phrases (1.0), synonyms (0.6) and hints (0.3)."""
    words = _words(query)
    weights: dict[str, float] = {}

    def put(term: str, weight: float) -> None:
        if weight > weights.get(term, 0.0):
            weights[term] = weight

    stems = [_term(w) for w in words]
    kept = [t for w, t in zip(words, stems, strict=True) if w not in _STOP]
    table = _phrase_table()
    for sequence in (stems, kept):  # "sign up" needs its stop word; "send her an email" reads as "send email"
        for size in (4, 3, 2):
            for i in range(len(sequence) - size + 1):
                for term in table.get(tuple(sequence[i : i + size]), ()):
                    put(term, 1.0)
    start = _start(words)
    acts = start < len(words) and _is_action(words[start])
    for i, (word, term) in enumerate(zip(words, stems, strict=True)):
        # "send an OTP to confirm her email": the verb of a purpose clause is not the request
        scale = 0.5 if acts and i > start + 1 and words[i - 1] == "to" and _is_action(word) else 1.0
        if word not in _STOP:
            put(term, scale)
        for synonym in _lookup(SYNONYMS, word):
            put(_term(synonym), 0.6 * scale)
        for hint in _lookup(HINTS, word):
            put(_term(hint), 0.3 * scale)
    if _modal_question(words):  # "can she use 1000 points today": a check, not the act
        put("check", 0.6)
        put(_term("redeemable"), 0.3)
        put(_term("transferrable"), 0.3)
    if _EMAIL.search(query):  # a full identifier: look the customer up rather than search
        put("email", 1.0)
        put("lookup", 0.6)
    if _PHONE.search(query):
        put(_term("mobile"), 0.6)
        put("lookup", 0.6)
    return weights


def _start(words: list[str]) -> int:
    """Index of the first word after lead-ins such as "please", "can you", "the customer wants to"."""
    start = 0
    while start < len(words) and words[start] in _LEAD_IN and words[start] not in _QUESTION:
        start += 1
    return start


def _is_action(word: str) -> bool:
    return word in _ACTION or _stem(word) in _ACTION


def _modal_question(words: list[str]) -> bool:
    return len(words) > 1 and words[0] in ("can", "could", "may") and words[1] not in _ASKER


def intent(query: str) -> str | None:
    """'read' for a question ("what tier is he", "did the transfer go through"), 'write' for a request to act."""
    words = _words(query)
    if _modal_question(words):
        return "read"
    start = _start(words)
    if start < len(words):
        if words[start] in _QUESTION:
            return "read"
        if _is_action(words[start]):
            return "write"
    if query.rstrip().endswith("?") or any(w in _TROUBLE for w in words):
        return "read"  # a question, or a problem to look into ("she can't use her voucher")
    return None


@dataclass(frozen=True)
class _Doc:
    op: Operation
    terms: dict[str, float]
    length: float
    phrases: tuple[tuple[str, ...], ...]
    bulk: bool


class SearchIndex:
    """BM25F-style ranking over weighted fields, plus everyday-phrase matches and light intent priors.

    Names, titles and keywords count more than descriptions; mentions of other operations in a
    description ("check first with coupon_is_redeemable") are not indexed, so an operation is not
    found for what it points to. Built once, with each term's per-operation BM25 weight precomputed,
    so that a search only walks the postings of the request's terms.
    """

    FIELDS: tuple[tuple[str, float], ...] = (
        ("name", 3.0), ("title", 3.0), ("keywords", 2.5), ("toolset", 1.0), ("description", 1.0), ("path", 0.5),
    )  # fmt: skip
    K1, B = 1.4, 0.6
    PHRASE_BONUS = 0.6
    INTENT_PRIOR = 1.15
    CORE_PRIOR = 1.08
    BULK_PRIOR = 0.85  # batch operations, unless the request speaks of many

    def __init__(self, operations: Iterable[Operation]) -> None:
        ops = list(operations)
        self._names = frozenset(op.name for op in ops)
        self.docs = [self._doc(op) for op in ops]
        self.avg = sum(d.length for d in self.docs) / max(len(self.docs), 1)
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.terms.keys())
        n = len(self.docs)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}
        k1, b = self.K1, self.B
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, doc in enumerate(self.docs):
            squash = k1 * (1 - b + b * doc.length / self.avg)
            for term, tf in doc.terms.items():
                self.postings.setdefault(term, []).append((i, self.idf[term] * tf * (k1 + 1) / (tf + squash)))

    def _doc(self, op: Operation) -> _Doc:
        fields = {
            "name": op.name,
            "title": op.title,
            "keywords": " ; ".join(op.keywords),
            "toolset": op.toolset,
            "description": _IDENTIFIER.sub(lambda m: " " if m.group() in self._names else m.group(), op.description),
            "path": re.sub(r"\{[^}]*\}", " ", op.path),
        }
        terms: dict[str, float] = {}
        for field_name, weight in self.FIELDS:
            for token in tokens(fields[field_name]):
                terms[token] = terms.get(token, 0.0) + weight
        phrases = tuple(p for p in (tuple(tokens(k)) for k in op.keywords) if len(p) > 1)
        bulk = "bulk" in op.name.split("_")
        return _Doc(op, terms, sum(terms.values()), phrases, bulk)

    def search(
        self, query: str, *, toolset: str | None = None, effect: str | None = None, limit: int = 5
    ) -> list[tuple[Operation, float]]:
        wanted = expand(query)
        leaning = intent(query)
        many = any(w in _MANY for w in _words(query))
        matched: dict[int, float] = {}
        for term, weight in wanted.items():
            for i, value in self.postings.get(term, ()):
                matched[i] = matched.get(i, 0.0) + weight * value
        scored = []
        for i, score in matched.items():
            doc = self.docs[i]
            if (toolset and doc.op.toolset != toolset) or (effect and doc.op.effect != effect) or score <= 0:
                continue
            for phrase in doc.phrases:
                if all(t in wanted for t in phrase):
                    score += self.PHRASE_BONUS * sum(self.idf.get(t, 0.0) * min(1.0, wanted[t]) for t in phrase)
            if leaning is not None and (doc.op.effect == "read") == (leaning == "read"):
                score *= self.INTENT_PRIOR
            if doc.op.toolset in CORE_TOOLSETS:
                score *= self.CORE_PRIOR
            if doc.bulk and not many:
                score *= self.BULK_PRIOR
            scored.append((doc.op, score))
        scored.sort(key=lambda item: (-item[1], item[0].name))
        return scored[:limit]


def index_for(runtime: Runtime) -> SearchIndex:
    """The profile's index, built on first use and kept on the runtime."""
    index = runtime.search_index
    if not isinstance(index, SearchIndex):
        index = runtime.search_index = SearchIndex(runtime.profile.operations)
    return index


def search_operations(runtime: Runtime, arguments: dict[str, Any]) -> types.CallToolResult:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return text_result("search_operations needs 'query': what you want to do, in everyday words.", error=True)
    limit = arguments.get("limit", 5)
    limit = max(1, min(int(limit), 20)) if isinstance(limit, int) else 5
    hits = index_for(runtime).search(
        query, toolset=arguments.get("toolset"), effect=arguments.get("effect"), limit=limit
    )
    results = [
        {"name": op.name, "toolset": op.toolset, "effect": op.effect, "description": _first_sentence(op.description)}
        for op, _ in hits
    ]
    if not results:
        text = "No operation matches. Try other words, or a toolset such as customer, points, coupon, transaction."
    else:
        text = "\n".join(f"{r['name']} [{r['toolset']}, {r['effect']}]: {r['description']}" for r in results)
        text += "\nNext: describe_operation with the best name, then call_operation."
    return text_result(text, structured={"results": results})


def describe_operation(
    runtime: Runtime, arguments: dict[str, Any], tool_for: Callable[[Runtime, Operation], types.Tool]
) -> types.CallToolResult:
    name = arguments.get("name")
    op = runtime.profile.get(name) if isinstance(name, str) else None
    if op is None:
        return text_result(f"No operation named {name!r} in this server's profile; use search_operations.", error=True)
    tool = tool_for(runtime, op)
    described: dict[str, Any] = {
        "name": op.name,
        "toolset": op.toolset,
        "title": op.title,
        "description": op.description,
        "effect": op.effect,
        "confirmation": "asks the user first" if runtime.guard.may_guard(op) else "runs at once",
        "input_schema": tool.input_schema,
        "method": op.method,
        "path": op.path,
    }
    if op.notes:
        described["notes"] = op.notes
    if op.require_one_of:
        described["require_one_of"] = [list(group) for group in op.require_one_of]
    return text_result(json.dumps(described, ensure_ascii=False), structured=described)


def _first_sentence(text: str) -> str:
    head = text.split(". ")[0].strip()
    return head if head.endswith(".") else head + "."
