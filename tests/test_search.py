"""Catalogue search: plain-language support requests find the right operation.

`search_cases.json` holds requests as a support agent, loyalty manager or chat user would type
them, each with the operation names that answer it (any of them in the top three counts).
`search_cases_support.json` and `search_cases_heldout.json` hold requests written the way a
support desk writes them (symptoms, typos, Hinglish, British and Indian usage, two-step needs),
each with the single best operation in `first`. The support file is the one the vocabulary is
tuned on; the held-out file is not looked at while tuning, so its floor here only guards
against regressions. `search_cases_merged.json`, in the same shape, holds requests for what the
v1.1 operations and `customer_overview` added (histories, notes, tickets, a customer's whole
picture) and requests where a v2 operation must still beat its v1.1 twin.
`search_cases_fresh.json`, in the same shape, holds support requests written by someone who had
not seen the vocabulary: it measures how far the tuning carries over to another person's words.
`search_cases_fresh2.json`, in the same shape, is a second such set by another writer, with a loyalty
manager's questions (`analytics`) among the support requests. `search_cases_fresh3.json` is a third,
measured once and never tuned on: held out like the held-out file, with a floor only against regressions.

Search runs over what discovery reaches: the catalogue and its composite tools.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from cap_mcp.catalog import Catalog, Operation
from cap_mcp.search import SearchIndex, expand, intent
from cap_mcp.server import build_server

HERE = Path(__file__).resolve().parent
CASES_FILE = HERE / "search_cases.json"
SUPPORT_FILE = HERE / "search_cases_support.json"
HELDOUT_FILE = HERE / "search_cases_heldout.json"
MERGED_FILE = HERE / "search_cases_merged.json"
V11_FILE = HERE / "search_cases_v11.json"
FRESH_FILE = HERE / "search_cases_fresh.json"
FRESH2_FILE = HERE / "search_cases_fresh2.json"
FRESH3_FILE = HERE / "search_cases_fresh3.json"
TOP = 3
MIN_HIT_RATE = 0.9
# file -> (minimum top-1 rate, minimum top-3 rate)
SUPPORT_FLOORS = {
    SUPPORT_FILE: (0.80, 0.92), HELDOUT_FILE: (0.0, 0.85), MERGED_FILE: (0.85, 0.92), FRESH_FILE: (0.78, 0.92),
    FRESH2_FILE: (0.73, 0.92), FRESH3_FILE: (0.0, 0.85),
}  # fmt: skip
KINDS = {"symptom", "typo", "shorthand", "hinglish", "british", "two_step", "plain"}
CORE = {"customer", "points", "coupon", "transaction", "otp", "customer_labels"}


def load_cases(path: Path = CASES_FILE) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def searchable(catalog: Catalog) -> tuple[Operation, ...]:
    """What discovery reaches with every toolset: the catalogue's operations and its composites."""
    return (*catalog, *catalog.composites.values())


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> SearchIndex:
    return SearchIndex(searchable(catalog))


def test_cases_are_well_formed(catalog: Catalog) -> None:
    cases = load_cases()
    assert len(cases) >= 100
    queries = [str(c["query"]).strip().lower() for c in cases]
    assert len(set(queries)) == len(queries), "duplicate requests"
    names = {op.name for op in searchable(catalog)}
    unknown = {name for c in cases for name in c["expected"] if name not in names}  # type: ignore[attr-defined]
    assert not unknown, f"expected names not in the catalogue: {sorted(unknown)}"
    toolsets = {catalog.get(c["expected"][0]).toolset for c in cases}  # type: ignore[index, union-attr]
    outside = [c for c in cases if catalog.get(c["expected"][0]).toolset not in CORE]  # type: ignore[index, union-attr]
    assert len(outside) >= 20 and len(toolsets) >= 15


def test_top3_hit_rate(index: SearchIndex) -> None:
    cases = load_cases()
    misses = []
    for case in cases:
        found = [op.name for op, _ in index.search(str(case["query"]), limit=TOP)]
        if not set(found) & set(case["expected"]):  # type: ignore[arg-type]
            misses.append(f"  {case['query']!r}: expected {case['expected']}, got {found}")
    rate = 1 - len(misses) / len(cases)
    print(f"\nsearch top-{TOP} hit rate: {rate:.1%} ({len(cases) - len(misses)}/{len(cases)})")
    if misses:
        print("misses:\n" + "\n".join(misses))
    assert rate >= MIN_HIT_RATE


def test_support_cases_are_well_formed(catalog: Catalog) -> None:
    support, heldout, merged = load_cases(SUPPORT_FILE), load_cases(HELDOUT_FILE), load_cases(MERGED_FILE)
    assert len(heldout) >= 60 and len(support) + len(heldout) >= 150 and len(merged) >= 40
    names = {op.name for op in searchable(catalog)}
    for case in support + heldout + merged:
        assert set(case) == {"query", "expected", "kind", "first"}, case
        assert case["first"] == case["expected"][0] and case["kind"] in KINDS, case
        assert set(case["expected"]) <= names, case
        assert len(set(case["expected"])) == len(case["expected"]), case
    queries = [c["query"].strip().lower() for c in load_cases() + load_cases(V11_FILE) + support + heldout + merged]
    assert len(set(queries)) == len(queries), "a request appears twice across the case files"
    firsts = {c["first"] for c in merged}  # the whole picture, the v1.1 histories, and v2 twins that must win
    assert {"customer_overview", "v11_customer_transactions", "v11_customer_redemptions"} <= firsts
    assert {"v11_customer_notes", "v11_customer_tickets", "transaction_add", "customer_lookup"} <= firsts
    for cases in (support, heldout):  # spread like a support desk's day: mostly the core toolsets
        core = [c for c in cases if catalog.get(c["first"]).toolset in CORE]  # type: ignore[union-attr]
        assert 0.75 <= len(core) / len(cases) < 1
        assert {c["kind"] for c in cases} == KINDS


def test_fresh_cases_are_well_formed(catalog: Catalog) -> None:
    fresh = load_cases(FRESH_FILE)
    assert len(fresh) >= 50
    names = {op.name for op in searchable(catalog)}
    for case in fresh:
        assert set(case) == {"query", "expected", "kind", "first"}, case
        assert case["first"] == case["expected"][0] and case["kind"] in KINDS | {"v11"}, case
        assert set(case["expected"]) <= names and len(set(case["expected"])) == len(case["expected"]), case
    others = [load_cases(path) for path in (CASES_FILE, V11_FILE, SUPPORT_FILE, HELDOUT_FILE, MERGED_FILE)]
    seen = {c["query"].strip().lower() for cases in others for c in cases}
    queries = [c["query"].strip().lower() for c in fresh]
    assert len(set(queries)) == len(queries) and not seen & set(queries), "a request appears twice"
    assert len({c["kind"] for c in fresh}) >= 6  # symptoms, typos, Hinglish, British usage, two steps...


@pytest.mark.parametrize("path", [FRESH2_FILE, FRESH3_FILE], ids=lambda p: p.stem)
def test_later_fresh_cases_are_well_formed(catalog: Catalog, path: Path) -> None:
    fresh2 = load_cases(path)
    assert len(fresh2) >= 50
    names = {op.name for op in searchable(catalog)}
    for case in fresh2:
        assert set(case) == {"query", "expected", "kind", "first"}, case
        assert case["first"] == case["expected"][0] and case["kind"] in KINDS | {"v11", "analytics"}, case
        assert set(case["expected"]) <= names and len(set(case["expected"])) == len(case["expected"]), case
    files = (CASES_FILE, V11_FILE, SUPPORT_FILE, HELDOUT_FILE, MERGED_FILE, FRESH_FILE, FRESH2_FILE)
    others = [load_cases(other) for other in files if other != path]
    seen = {c["query"].strip().lower() for cases in others for c in cases}
    queries = [c["query"].strip().lower() for c in fresh2]
    assert len(set(queries)) == len(queries) and not seen & set(queries), "a request appears twice"
    assert len({c["kind"] for c in fresh2}) >= 6


@pytest.mark.parametrize("path", list(SUPPORT_FLOORS), ids=lambda p: p.stem)
def test_support_requests_find_the_best_operation_first(index: SearchIndex, path: Path) -> None:
    cases = load_cases(path)
    top1 = top3 = 0
    misses = []
    for case in cases:
        found = [op.name for op, _ in index.search(case["query"], limit=TOP)]
        top1 += bool(found) and found[0] == case["first"]
        top3 += bool(set(found) & set(case["expected"]))
        if not found or found[0] != case["first"]:
            misses.append(f"  {case['query']!r}: best {case['first']}, got {found}")
    print(f"\n{path.stem}: top-1 {top1 / len(cases):.1%}, top-{TOP} {top3 / len(cases):.1%} of {len(cases)}")
    if path != HELDOUT_FILE and misses:  # the held-out file's misses are not shown: it is not tuned on
        print("not first:\n" + "\n".join(misses))
    min_top1, min_top3 = SUPPORT_FLOORS[path]
    assert top1 / len(cases) >= min_top1
    assert top3 / len(cases) >= min_top3


def test_search_is_fast(index: SearchIndex) -> None:
    files = (CASES_FILE, SUPPORT_FILE, HELDOUT_FILE, MERGED_FILE)
    queries = [str(c["query"]) for path in files for c in load_cases(path)]
    best = min(_timed(index, queries) for _ in range(3))
    assert best / len(queries) < 0.005, f"{best / len(queries) * 1000:.2f} ms per query"


def _timed(index: SearchIndex, queries: list[str]) -> float:
    start = time.process_time()  # CPU time: other work on the machine does not count
    for query in queries:
        index.search(query, limit=TOP)
    return time.process_time() - start


def test_toolset_and_effect_filters(index: SearchIndex) -> None:
    hits = index.search("give her points", toolset="coupon", limit=10)
    assert hits and all(op.toolset == "coupon" for op, _ in hits)
    assert hits[0][0].name == "coupon_issue"
    reads = index.search("points", effect="read", limit=20)
    assert reads and all(op.effect == "read" for op, _ in reads)
    both = index.search("voucher", toolset="coupon", effect="destructive", limit=20)
    assert both and all(op.toolset == "coupon" and op.effect == "destructive" for op, _ in both)
    assert index.search("voucher", toolset="no_such_toolset") == []
    assert len(index.search("points", limit=2)) == 2


@pytest.mark.parametrize(
    ("query", "then"),
    [
        ("unsubscribe 9812345678 from sms", "customer_update_subscriptions"),
        ("tag +91 98123 45678 as VIP", "customer_labels_tag"),
        ("remove the VIP label from asha.k@example.com", "customer_labels_tag"),
    ],
)
def test_a_customer_named_by_mobile_or_email_is_looked_up_first(index: SearchIndex, query: str, then: str) -> None:
    """The operation takes a user id, the request gives a mobile or an email: the first call is the look-up."""
    names = [op.name for op, _ in index.search(query, limit=3)]
    assert names[0] == "customer_lookup_id" and then in names, names


def test_no_look_up_first_when_it_is_not_needed(index: SearchIndex) -> None:
    assert index.search("tag user id 5100001 as VIP", limit=1)[0][0].name == "customer_labels_tag"  # has the id
    assert index.search("pts balance for 9812312345", limit=1)[0][0].name == "customer_lookup_points_balance"
    assert index.search("tag her as VIP", limit=1)[0][0].name == "customer_labels_tag"  # nothing to look up by
    coupons = index.search("unsubscribe 9812345678 from sms", toolset="customer", effect="write", limit=1)
    assert coupons[0][0].name == "customer_update_subscriptions"  # the filters still hold


@pytest.mark.parametrize(
    ("query", "finder", "then"),
    [
        ("cancel the 450 points she spent last week, the parcel never arrived", "v11_customer_redemptions",
         "points_reverse"),
        ("the voucher she redeemed on the voided order should work again", "v11_customer_redemptions",
         "coupon_reactivate"),
        ("the kitchen enquiry from Mrs Rao is dead, close it as lost", "leads_search", "leads_update_status"),
        ("remove 9845011223 from the household group, she moved out", "user_group_get_by_member", "user_group_exit"),
        ("hand her the movie ticket reward from the rewards catalogue", "rewards_list_brand", "rewards_issue"),
        ("add TRAI consent for 9812233445, she is on DND", "otp_generate", "customer_trai_consent_add"),
        ("deactivate the footfall goal in target group 12", "target_loyalty_get_targets",
         "target_loyalty_deactivate_target"),
    ],
)  # fmt: skip
def test_an_id_the_request_does_not_give_is_found_first(index: SearchIndex, query: str, finder: str, then: str) -> None:
    """The change needs an id a support agent does not have (a redemption, a lead, a family group, a reward, the
    code an OTP gives): the first call is the one that finds it, and the change follows."""
    names = [op.name for op, _ in index.search(query, limit=3)]
    assert names[0] == finder and then in names, names
    assert index.first_call(then) is not None and index.first_call(then)[0] == finder  # type: ignore[index]


def test_no_finder_first_when_the_request_gives_the_id(index: SearchIndex) -> None:
    assert index.search("reverse redemption id 88123 for her", limit=1)[0][0].name == "points_reverse"
    assert index.search("take 9845011223 out of group 3021", limit=1)[0][0].name == "customer_lookup_id"  # then exit
    assert index.search("mark lead 4417 as won", limit=1)[0][0].name == "leads_update_status"
    assert index.search("what is the balance of 9845011223", limit=1)[0][0].name != "v11_customer_redemptions"


def test_long_words_are_not_spelt_and_emails_are_found_by_their_at(index: SearchIndex) -> None:
    assert index.spelling.correct("a" * 20_000) is None  # too long to be two edits from any word
    assert index.search("unsubscribe asha.k@example.com from emails", limit=1)[0][0].name == "customer_lookup_id"


def test_unknown_words_find_nothing(index: SearchIndex) -> None:
    assert index.search("zzqx wibble") == []
    assert index.search("the of and please") == []


def test_everyday_words_reach_capillary_terms() -> None:
    assert {"coupon", "transaction", "customer"} <= set(expand("voucher on the shopper's bill"))
    assert "register" in expand("she wants to sign up")
    assert "otp" in expand("send a one time password")
    assert expand("changed") == expand("changing") == expand("changes")
    assert intent("what tier is he") == "read"
    assert intent("can she use 1000 points today") == "read"
    assert intent("please tag her as VIP") == "write"
    assert intent("she can't use her voucher") == "read"


@pytest.mark.anyio
async def test_search_through_an_mcp_client(make_runtime) -> None:
    server = build_server(make_runtime(toolsets=("default",), dynamic=True))
    async with Client(server) as client:
        empty = await client.call_tool("search_operations", {"query": ""})
        assert empty.is_error and "needs 'query'" in empty.content[0].text
        found = await client.call_tool("search_operations", {"query": "is this voucher still valid", "limit": 3})
        assert not found.is_error
        assert found.content[0].text.startswith("coupon_is_redeemable ")
