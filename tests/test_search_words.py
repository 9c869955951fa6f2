"""How search reads a request: the vocabulary file, Hinglish and shorthand, typos, symptoms, steps, intent."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client

from cap_mcp import vocabulary as vocabulary_module
from cap_mcp.catalog import VOCABULARY_FILE, Catalog, CatalogError, schema_dir, toolset_files
from cap_mcp.discovery import search_operations
from cap_mcp.search import SearchIndex, expand, intent
from cap_mcp.search_terms import language
from cap_mcp.server import build_server
from cap_mcp.spelling import Spelling, distance
from cap_mcp.vocabulary import load_vocabulary, parse_vocabulary


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> SearchIndex:
    return SearchIndex((*catalog, *catalog.composites.values()))  # what discovery reaches


def best(index: SearchIndex, query: str) -> str:
    return index.search(query, limit=1)[0][0].name


# ------------------------------------------------------------------ the vocabulary file


def test_the_vocabulary_ships_beside_the_catalogue_and_is_not_a_toolset() -> None:
    path = schema_dir() / VOCABULARY_FILE
    assert path.is_file()
    assert path not in toolset_files()
    vocab = load_vocabulary(path)
    assert vocab.same["voucher"] == "coupon"
    assert "redeemable" in vocab.synonyms["valid"]
    assert vocab.translations["kitne"] == ("how", "many")
    assert vocab.first_calls["userId"] == "customer_lookup_id"


def test_every_operation_named_in_the_vocabulary_exists(catalog: Catalog) -> None:
    vocab = load_vocabulary()
    named = {*vocab.first_calls.values(), *vocab.identifier_twins, *vocab.identifier_twins.values(), *vocab.usual}
    named |= {key for key in vocab.subjects if key not in catalog.toolsets}
    named |= {*vocab.version_twins, *(twin.twin for twin in vocab.version_twins.values())}
    assert named <= {op.name for op in catalog}
    for old, twin in vocab.version_twins.items():  # a v1.1 operation and the v2 one that does the same
        assert catalog.get(old).toolset.startswith("v11_"), old  # type: ignore[union-attr]
        assert not catalog.get(twin.twin).toolset.startswith("v11_"), twin  # type: ignore[union-attr]
    assert vocab.core_toolsets <= set(catalog.toolsets)


def test_the_vocabulary_loader_is_strict() -> None:
    document = json.loads((schema_dir() / VOCABULARY_FILE).read_text(encoding="utf-8"))
    assert parse_vocabulary(document).same == load_vocabulary().same
    broken = [
        ({**document, "synonym": {}}, "unknown key(s) synonym"),
        ({**document, "same": {"voucher": ["coupon"]}}, "same.voucher: must be a lower-case word"),
        ({**document, "phrases": {"sign up": []}}, "must list at least one word"),
        ({**document, "symptoms": [{"all": [["code"]]}]}, "needs 'all' and 'terms'"),
        ({**document, "symptoms": [{"all": [["code"]], "terms": ["x"], "intent": "maybe"}]}, "'read' or 'write'"),
        ({**document, "words": {**document["words"], "extra": []}}, "words must hold exactly the lists"),
        ({**document, "version_twins": {"v11_coupon_issue": "coupon_issue"}}, "version_twins.v11_coupon_issue"),
        ({**document, "version_twins": {"v11_coupon_issue": {"only": ["x"]}}}, "needs 'twin'"),
        ({**document, "version_twins": {"v11_coupon_issue": {"twin": "coupon_issue", "why": 1}}}, "nothing else"),
    ]
    for bad, message in broken:
        with pytest.raises(CatalogError, match=re.escape(message)):
            parse_vocabulary(bad)


def test_a_missing_or_broken_vocabulary_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"vocabulary\.json: cannot be read"):
        load_vocabulary(tmp_path / VOCABULARY_FILE)
    (tmp_path / VOCABULARY_FILE).write_text("{not json")
    with pytest.raises(CatalogError, match=r"vocabulary\.json: cannot be read"):
        load_vocabulary(tmp_path / VOCABULARY_FILE)


@pytest.mark.anyio
async def test_nothing_of_search_is_loaded_until_the_first_search(make_runtime) -> None:
    vocabulary_module.vocabulary.cache_clear()
    language.cache_clear()
    runtime = make_runtime(toolsets=("all",), dynamic=True)
    async with Client(build_server(runtime)) as client:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} == {"search_operations", "describe_operation", "call_operation"}
        assert vocabulary_module.vocabulary.cache_info().currsize == 0
        assert not runtime.search_indexes
        found = await client.call_tool("search_operations", {"query": "reedem her points", "limit": 2})
        assert found.content[0].text.startswith("points_is_redeemable ")  # the redemption needs its code first
    assert vocabulary_module.vocabulary.cache_info().currsize == 1
    assert [type(index) for index in runtime.search_indexes.values()] == [SearchIndex]


# ------------------------------------------------------------------ Hinglish, shorthand, British usage


def test_hinglish_and_shorthand_become_english() -> None:
    words = language().read("kitne pts bache hain cust ke").words
    assert words[:4] == ["how", "many", "point", "left"] or words[:4] == ["how", "many", "pts", "left"]
    assert "customer" in words
    assert "balanc" in expand("kitne points bache hain")
    assert {"chang", "identifier"} <= set(expand("customer ka mobile number change karna hai"))
    assert "revers" in expand("points wapas daalo")
    assert language().read("cheers, whilst at the till").words == ["at", "the", "till"]


@pytest.mark.parametrize(
    ("query", "leaning"),
    [
        ("uske points check karo", "read"),  # the verb before karo decides
        ("customer ka mobile number change karna hai", "write"),
        ("uska email badlo", "write"),
        ("tier kya hai uska", "read"),
        ("she transferred points but her husband didn't receive them", "read"),  # told, not asked
        ("she brought the dress back, log the return", "write"),  # the second clause asks
        ("she says she never got the sms", "write"),  # the fix is to send it again
        ("pls confirm if 9822011223 is linked to any account", "read"),
    ],
)
def test_intent_from_hinglish_clauses_and_symptoms(query: str, leaning: str) -> None:
    assert intent(query) == leaning


# ------------------------------------------------------------------ typos


def test_typos_of_catalogue_words_are_corrected(index: SearchIndex) -> None:
    fixes = {
        "reedem": "redeem", "tranfer": "transfer", "cupon": "coupon", "balence": "balance", "loyality": "loyalty",
        "recieve": "receive", "vouchar": "voucher", "transction": "transaction", "unsubscibe": "unsubscribe",
    }  # fmt: skip
    for typo, word in fixes.items():
        assert index.spelling.correct(typo) == (word, 1), typo
    redeem = [op.name for op, _ in index.search("reedem her points", limit=2)]
    assert redeem == ["points_is_redeemable", "points_redeem"]  # the check that gives the code, then the redemption
    assert best(index, "tranfer 300 pts to her husband") == "points_transfer"
    assert best(index, "cupon is not working at the till") == "coupon_is_redeemable"


def test_listed_misspellings_in_any_inflection_and_misspelt_question_words(index: SearchIndex) -> None:
    words = language()
    assert "change" in words.read("her email got chnaged", index.spelling).words  # "chnage" is listed
    assert words.read("whihc tier is she on", index.spelling).words[0] == "which"
    assert words.intent("whihc tier is she on", index.spelling) == "read"


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        ("shift Ravi to the Thane outlet from next week", "staff_user_transfer"),
        ("please show every bill she made this year", "v11_customer_transactions"),
        ("which labels is he tagged with", "customer_labels_of_customer"),
        ("the partner app needs API access", "integrations_create_client"),
        ("his referral code keeps getting rejected", "referral_validate_code"),
        ("he says the app won't accept his password", "user_auth_authorize"),
        ("he's stopped getting our newsletters, did he opt out?", "customer_subscriptions"),
        ("can you see what messages went to her last month", "v11_customer_interactions"),
    ],
)
def test_everyday_equivalences(index: SearchIndex, query: str, operation: str) -> None:
    assert best(index, query) == operation


def test_what_she_stopped_doing_is_told_not_ordered(index: SearchIndex) -> None:
    wanted, leaning = index.words.understand("she stopped getting emails from us, has she opted out", index.spelling)
    assert leaning == "read" and wanted["stop"] < 1.0
    assert "action" not in expand("new joiner at Powai, kindly action")  # says to act, not what to do


def test_ordinary_words_are_not_corrected_into_catalogue_words(index: SearchIndex) -> None:
    for word in ("charged", "misusing", "online", "monday", "shoes", "married", "sharma", "redeem", "kitne"):
        assert index.spelling.correct(word) is None, word
    assert index.spelling.correct("bus") is None  # too short to tell a typo from another word


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.data())
def test_a_corrected_word_is_always_a_close_target_word(index: SearchIndex, data: st.DataObject) -> None:
    targets = sorted(w for w in index.spelling.targets if len(w) >= 6 and w.isalpha())
    word = data.draw(st.sampled_from(targets))
    position = data.draw(st.integers(min_value=1, max_value=len(word) - 2))
    edit = data.draw(st.sampled_from(["delete", "swap", "double"]))
    typo = {
        "delete": word[:position] + word[position + 1 :],
        "swap": word[:position] + word[position + 1] + word[position] + word[position + 2 :],
        "double": word[:position] + word[position] + word[position:],
    }[edit]
    corrected = index.spelling.correct(typo)
    if index.spelling.is_known(typo):
        assert corrected is None  # a real word in its own right is left alone
    else:
        assert corrected is not None
        assert corrected[0] in index.spelling.targets
        assert distance(typo, corrected[0], 2) == corrected[1] <= 2
        assert index.spelling.correct(typo) == corrected  # deterministic


def test_spelling_breaks_ties_by_how_common_a_word_is() -> None:
    spelling = Spelling({"coupon": 9, "couple": 1}, known=(), stem=lambda w: w)
    assert spelling.correct("coupln") == ("coupon", 1)
    assert distance("reedem", "redeem", 1) == 1  # a swap of neighbours is one edit
    assert distance("abcdef", "uvwxyz", 2) == 3  # past the limit: limit + 1


# ------------------------------------------------------------------ symptoms, steps and first calls


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        ("the till says her code is invalid", "coupon_is_redeemable"),
        ("she says she never got the sms", "otp_generate"),
        ("points not showing for yesterday's bill", "transaction_earning"),
        ("bill nahi aaya", "transaction_add"),
        ("kitne points bache hain", "customer_lookup_points_balance"),
        ("what is customer 919800000001's id so I can update her", "customer_lookup_id"),
        ("get her user id then tag her as gold", "customer_lookup_id"),
        ("look her up first, then send her an otp", "customer_lookup"),
        ("take the 'do not call' label off her", "customer_labels_tag"),
    ],
)
def test_described_problems_and_first_steps(index: SearchIndex, query: str, operation: str) -> None:
    assert best(index, query) == operation


def test_identifier_twins_prefer_mobile_or_email_unless_a_user_id_is_given(index: SearchIndex) -> None:
    assert best(index, "update her date of birth") == "customer_update_by_identifier"
    assert best(index, "update the profile of user id 5512300") == "customer_update"


def rank(index: SearchIndex, query: str, name: str) -> int:
    names = [op.name for op, _ in index.search(query, limit=20)]
    return names.index(name) if name in names else len(names)


@pytest.mark.parametrize(
    ("query", "v2", "v11"),
    [
        ("record a purchase of 3,400 for her", "transaction_add", "v11_transaction_add"),
        ("redeem the coupon on bill 4471", "coupon_redeem", "v11_coupon_redeem"),
        ("issue a 500 rs voucher to her", "coupon_issue", "v11_coupon_issue"),
        ("is this vouchr still valid", "coupon_is_redeemable", "v11_coupon_is_redeemable"),
    ],
)
def test_a_v2_operation_beats_its_v11_twin(index: SearchIndex, query: str, v2: str, v11: str) -> None:
    assert rank(index, query, v2) < rank(index, query, v11)


@pytest.mark.parametrize(
    ("query", "v11", "v2"),
    [
        ("unsubscribe her email from bulk promotions using the v1.1 api", "v11_customer_update_subscription",
         "customer_update_subscriptions"),  # named
        ("how much more does she need to spend, the gap to renew her tier", "v11_customer_get", "customer_lookup"),
        ("subscription details of several customers", "v11_customer_subscriptions", "customer_subscriptions"),
    ],
)  # fmt: skip
def test_a_v11_twin_wins_when_asked_for_what_only_it_does(index: SearchIndex, query: str, v11: str, v2: str) -> None:
    assert rank(index, query, v11) < rank(index, query, v2)


def test_the_whole_picture_of_a_customer_is_the_overview(index: SearchIndex) -> None:
    whole = ("what's going on with this customer", "give me the full picture for her", "iska poora account dikhao")
    for query in whole:
        assert best(index, query) == "customer_overview", query
    assert best(index, "is she registered, 9812233445") == "customer_lookup"  # a look-up, not her whole picture


def test_dictated_text_and_recipients_are_not_the_request(index: SearchIndex) -> None:
    assert best(index, "add a note: called about missing points, promised a callback") == "v11_customer_add_note"
    assert "ledger" not in expand("add a note: called about missing points")
    assert "ledger" in expand("called about missing points")
    assert "memo" in expand("add a note") and "not" not in expand("add a note")  # a note is not the word "not"
    assert best(index, "isue a welcome voucher to the new member") == "coupon_issue"
    assert best(index, "register the new member") == "customer_register"


@pytest.mark.anyio
async def test_results_say_which_call_gives_a_needed_user_id(make_runtime) -> None:
    runtime = make_runtime(toolsets=("all",), dynamic=True)
    # no mobile or email to look up first: the tag comes first and says where its user id comes from
    result = search_operations(runtime, runtime.policy, {"query": "tag her as vip", "limit": 3})
    first = result.structured_content["results"][0]
    assert first["name"] == "customer_labels_tag" and first["first_call"] == "customer_lookup_id"
    assert "Needs userId from customer_lookup_id." in result.content[0].text.splitlines()[0]
    lookup = search_operations(runtime, runtime.policy, {"query": "find her by mobile 919845012345", "limit": 1})
    assert "first_call" not in lookup.structured_content["results"][0]
    only_points = make_runtime(toolsets=("customer_labels",), dynamic=True, discovery="selected")  # no look-up
    tagged = search_operations(only_points, only_points.policy, {"query": "tag her as vip", "limit": 1})
    assert "first_call" not in tagged.structured_content["results"][0]


def test_search_is_deterministic(index: SearchIndex) -> None:
    queries = [c["query"] for c in json.loads((Path(__file__).parent / "search_cases_support.json").read_text())]
    random.Random(7).shuffle(queries)
    fresh = SearchIndex([doc.op for doc in index.docs])
    first = {q: [op.name for op, _ in index.search(q)] for q in queries}
    again = {q: [op.name for op, _ in fresh.search(q)] for q in reversed(queries)}  # no state carried between
    assert first == again


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        ("a new cashier joins the Pune store next week and needs her own login", "staff_user_create"),
        ("please mark this member as a fraudster, he has been gaming returns", "v11_customer_update"),
        ("the till at counter 3 prints the wrong address, what is it set up as", "organization_source_get_till"),
        ("his membership card was pinched on the train, stop anyone using it", "card_loyalty_set_card_status"),
        ("has a complaint already been raised for her?", "v11_customer_tickets"),
        ("which loyalty programmes are live at the moment", "organization_source_get_programs"),
        ("which attributes are mandatory when someone enrols", "organization_source_get_custom_fields"),
        ("can two offers stack on a single item? what's the stacking rule", "cart_promotions_get_settings"),
        ("take 300 points off his bill", "points_is_redeemable"),  # the check that gives the code comes first
        (
            "my cousin signed up with her referral code last month and she still hasn't had the bonus",
            "customer_referrals",
        ),
        ("turn off the footfall goal for group 7, keep the others", "target_loyalty_get_targets"),  # then deactivate
        (
            "beti ko family group mein add karna hai, group pehle se bana hua hai, number 9811100022",
            "user_group_get_by_member",
        ),  # the group exists already ("pehle se bana hua"): find it, then add her
        ("label her as 'Diwali Shopper' but check the label already exists", "customer_labels_list"),
        ("extend the end date of the MONSOON offer to 31 July", "coupon_series_update"),
        ("she brought the shoes back today, bill 7781", "transaction_add"),  # goods brought back: a return
        ("how much has each person in the household chipped in so far", "user_group_points_contribution_history"),
        ("what does the payload of the tier upgrade event look like", "event_notifications_event_schema"),
        ("any alerts from the footfall sensor at the Pune store", "store_care_get_notes"),
        ("which gold members have not shopped since March", "v11_customer_search"),  # members by what they did
        ("list the lapsed members in Pune", "v11_customer_search"),
        ("she usually shops at the Bandra outlet, save that on her profile", "v11_customer_update_preferences"),
        ("the compensation points we promised him last month, were they ever approved", "customer_goodwill_requests"),
    ],
)
def test_everyday_ways_of_asking_for_staff_fraud_tills_cards_tickets_and_settings(
    index: SearchIndex, query: str, operation: str
) -> None:
    """A new employee's own login is a staff account; a fraudster is marked on the profile; what a till is set up
    as is its details; a stolen card that nobody should use is blocked; a complaint already raised is in her
    tickets; which programmes are live, which attributes are captured and the stacking rule are settings read;
    a friend who joined with her code but no bonus is her referrals; a goal switched off is a target; a group
    that exists already is found, not created; a label that may not exist is looked for first; an offer's end
    date is its series; promised compensation that was approved or not is a goodwill request; goods brought
    back are a return; what each member chipped in is their contribution; an event's payload is its schema;
    a device's alerts are its notes; the shop she usually shops at is a preference; members who have not shopped
    are found by a search on attributes."""
    assert best(index, query) == operation


def test_a_webhook_that_does_not_fire_is_looked_into_not_set_up(index: SearchIndex) -> None:
    found = index.search("our partner says the webhook isn't firing any more", limit=3)
    assert all(op.toolset == "event_notifications" and op.effect == "read" for op, _ in found), found
