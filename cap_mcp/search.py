"""Dynamic mode: three discovery tools through which every operation of the profile stays reachable.

Search ranks operations with BM25 over their name, title, description, keywords
and toolset, after mapping everyday words to Capillary's ("voucher" → coupon,
"bill" → transaction, "member" → customer), so that a request in plain language
finds the right operation.
"""

from __future__ import annotations

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
    "buy one get one": ("promotion", "cart"), "bogo": ("promotion", "cart"),
    "api key": ("client", "integration"), "api keys": ("client", "integration"),
    "membership number": ("id", "lookup"), "member number": ("id", "lookup"), "loyalty number": ("id", "lookup"),
    "customer number": ("id", "lookup"), "mark as used": ("redeem",), "mark used": ("redeem",),
    "user id": ("id",), "customer id": ("id",), "member id": ("id",),
}  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    # people
    "member": ("customer",), "user": ("customer",), "client": ("customer",), "person": ("customer",),
    "profile": ("customer", "detail"), "account": ("customer",), "cardholder": ("customer", "card"),
    "loyalist": ("customer",), "people": ("customer",), "someone": ("customer",), "somebody": ("customer",),
    "husband": ("transfer", "family"), "wife": ("transfer", "family"), "spouse": ("transfer", "family"),
    "son": ("family",), "daughter": ("family",), "child": ("family",), "mother": ("family",), "mom": ("family",),
    "mum": ("family",), "father": ("family",), "dad": ("family",), "brother": ("family", "transfer"),
    "sister": ("family", "transfer"), "sibling": ("family",), "relative": ("family",), "parent": ("family",),
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
    "recent": ("history",), "recently": ("history",),
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
    "invalid": ("redeemable", "valid", "check"), "worth": ("worth", "redeemable"), "value": ("worth",), "rupees": ("worth",), "money": ("worth",),
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
    "lost": ("card", "status"), "stolen": ("card", "status"), "go": ("sent",), "went": ("sent",),
    "right": ("validate",), "entered": ("validate",), "typed": ("validate",), "matches": ("validate",),
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
    theres im ive lets"""
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
    "book upgrade downgrade approve reject flag"
)
_LEAD_IN = _word_set(
    "please pls plz kindly hi hello hey ok okay so and but also just quickly can could would will you i we need "
    "want wants to like id d help me us let lets go ahead customer member shopper she he they the this"
)
_TROUBLE = _word_set(
    """cant cannot couldnt unable didnt didn doesnt wont isnt wasnt hasnt havent never failed fails failing error
    wrong invalid rejected declined missing"""
)
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


def expand(query: str) -> Counter[str]:
    """Weighted terms of a request: its own words (1.0), phrases (1.0), synonyms (0.6) and hints (0.3)."""
    words = _words(query)
    weights: Counter[str] = Counter()

    def put(term: str, weight: float) -> None:
        if weight > weights[term]:
            weights[term] = weight

    stems = [_term(w) for w in words]
    kept = [t for w, t in zip(words, stems, strict=True) if w not in _STOP]
    table = _phrase_table()
    for sequence in (stems, kept):  # "sign up" needs its stop word; "send her an email" reads as "send email"
        for size in (4, 3, 2):
            for i in range(len(sequence) - size + 1):
                for term in table.get(tuple(sequence[i : i + size]), ()):
                    put(term, 1.0)
    for word, term in zip(words, stems, strict=True):
        if word not in _STOP:
            put(term, 1.0)
        for synonym in _lookup(SYNONYMS, word):
            put(_term(synonym), 0.6)
        for hint in _lookup(HINTS, word):
            put(_term(hint), 0.3)
    return weights


def intent(query: str) -> str | None:
    """'read' for a question ("what tier is he", "did the transfer go through"), 'write' for a request to act."""
    words = _TOKEN.findall(query.lower().replace("'", ""))
    start = 0
    while start < len(words) and words[start] in _LEAD_IN and words[start] not in _QUESTION:
        start += 1
    if start < len(words):
        first = words[start]
        if first in _QUESTION:
            return "read"
        if first in _ACTION or _stem(first) in _ACTION:
            return "write"
    if query.rstrip().endswith("?") or any(w in _TROUBLE for w in words):
        return "read"  # a question, or a problem to look into ("she can't use her voucher")
    return None


@dataclass(frozen=True)
class _Doc:
    op: Operation
    terms: Counter[str]
    length: float
    phrases: tuple[tuple[str, ...], ...]


class SearchIndex:
    """BM25F-style ranking over weighted fields, plus everyday-phrase matches and light intent priors.

    Names, titles and keywords count more than descriptions; mentions of other operations in a
    description ("check first with coupon_is_redeemable") are not indexed, so an operation is not
    found for what it points to. Built once; a search scans a few hundred small term maps.
    """

    FIELDS: tuple[tuple[str, float], ...] = (
        ("name", 3.0), ("title", 3.0), ("keywords", 2.5), ("toolset", 1.0), ("description", 1.0), ("path", 0.5),
    )  # fmt: skip
    K1, B = 1.4, 0.6
    PHRASE_BONUS = 0.6
    INTENT_PRIOR = 1.15
    CORE_PRIOR = 1.08

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

    def _doc(self, op: Operation) -> _Doc:
        fields = {
            "name": op.name,
            "title": op.title,
            "keywords": " ; ".join(op.keywords),
            "toolset": op.toolset,
            "description": _IDENTIFIER.sub(lambda m: " " if m.group() in self._names else m.group(), op.description),
            "path": re.sub(r"\{[^}]*\}", " ", op.path),
        }
        terms: Counter[str] = Counter()
        for field_name, weight in self.FIELDS:
            for token in tokens(fields[field_name]):
                terms[token] += weight
        phrases = tuple(p for p in (tuple(tokens(k)) for k in op.keywords) if len(p) > 1)
        return _Doc(op, terms, sum(terms.values()), phrases)

    def search(
        self, query: str, *, toolset: str | None = None, effect: str | None = None, limit: int = 5
    ) -> list[tuple[Operation, float]]:
        wanted = expand(query)
        leaning = intent(query)
        k1, b = self.K1, self.B
        scored = []
        for doc in self.docs:
            if (toolset and doc.op.toolset != toolset) or (effect and doc.op.effect != effect):
                continue
            score = 0.0
            for term, weight in wanted.items():
                tf = doc.terms.get(term, 0)
                if tf:
                    norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc.length / self.avg))
                    score += weight * self.idf.get(term, 0.0) * norm
            if score <= 0:
                continue
            for phrase in doc.phrases:
                if all(t in wanted for t in phrase):
                    score += self.PHRASE_BONUS * sum(self.idf.get(t, 0.0) * min(1.0, wanted[t]) for t in phrase)
            if leaning is not None and (doc.op.effect == "read") == (leaning == "read"):
                score *= self.INTENT_PRIOR
            if doc.op.toolset in CORE_TOOLSETS:
                score *= self.CORE_PRIOR
            scored.append((doc.op, score))
        scored.sort(key=lambda item: (-item[1], item[0].name))
        return scored[:limit]


@lru_cache(maxsize=8)
def _index_for(operations: tuple[Operation, ...]) -> SearchIndex:
    return SearchIndex(operations)


def index_for(runtime: Runtime) -> SearchIndex:
    return _index_for(runtime.profile.operations)


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
    described = {
        "name": op.name,
        "toolset": op.toolset,
        "title": op.title,
        "description": op.description,
        "effect": op.effect,
        "confirmation": "asks the user first" if runtime.guard.guards(op) else "runs at once",
        "input_schema": tool.input_schema,
        "method": op.method,
        "path": op.path,
    }
    if op.notes:
        described["notes"] = op.notes
    if op.require_one_of:
        described["require_one_of"] = [list(group) for group in op.require_one_of]
    import json

    return text_result(json.dumps(described, ensure_ascii=False), structured=described)


def _first_sentence(text: str) -> str:
    head = text.split(". ")[0].strip()
    return head if head.endswith(".") else head + "."
