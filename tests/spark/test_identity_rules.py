"""Identity rules and stable person ids on small hand-made graphs with known answers."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime

import pytest
from pyspark.sql import functions as F

from dmp.caching import kept
from dmp.identity.graph import (
    blocked,
    event_identifiers,
    event_nodes,
    node_ids,
    star_edges,
    user_links,
    with_event_keys,
)
from dmp.identity.resolve import (
    CONTESTED,
    FREE,
    OWNED,
    SHARED,
    USER,
    attach_clusters,
    classify_nodes,
    free_graph,
    person_keys,
)
from dmp.identity.settings import IdentitySettings
from dmp.identity.stable_ids import MERGE, SPLIT, assign_person_ids

RULES = IdentitySettings(shared_threshold=3, dominance=0.8)
T = datetime(2026, 1, 1)
COLUMNS = (
    "source string, message_id string, event_time timestamp, user_id string, "
    "anonymous_id string, previous_id string, device_id string, advertising_id string, "
    "email_sha256 string, phone_sha256 string, partner_uid string"
)


def event(mid: str, **ids: str) -> tuple:
    names = ["user_id", "anonymous_id", "previous_id", "device_id", "advertising_id"]
    names += ["email_sha256", "phone_sha256", "partner_uid"]
    source = "mobi_beta" if "partner_uid" in ids else "first_party"
    return (source, mid, T, *(ids.get(n) for n in names))


def resolve(spark, rows: list[tuple]) -> dict[str, str]:
    """Run the resolution transforms with a tiny exact CC; identifier -> person key."""
    events = spark.createDataFrame(rows, COLUMNS)
    identifiers = event_identifiers(with_event_keys(events)).filter(
        ~blocked(F.col("id_value"), RULES)
    )
    with ExitStack() as stack:
        nodes = node_ids(identifiers)
        per_event = stack.enter_context(kept(event_nodes(identifiers, nodes)))
        classes = stack.enter_context(kept(classify_nodes(nodes, user_links(per_event), RULES)))
        shared = classes.filter(F.col("link") == SHARED).select("node")
        edges = stack.enter_context(kept(star_edges(per_event, shared)))
        clusters = _small_components(spark, free_graph(edges, classes), classes)
        attachments = attach_clusters(edges, classes, clusters, RULES)
        keys = person_keys(classes, clusters, attachments).join(nodes, "node")
        return {f"{r['id_type']}:{r['id_value']}": r["person_key"] for r in keys.collect()}


def _small_components(spark, edges, classes):
    """Union-find on the driver: fine for a ten-node test graph, independent of the CC code."""
    free = [r["node"] for r in classes.filter(F.col("link") == FREE).collect()]
    parent = {n: n for n in free}

    def find(n: int) -> int:
        while parent[n] != n:
            n = parent[n]
        return n

    for row in edges.collect():
        a, b = find(row["src"]), find(row["dst"])
        parent[max(a, b)] = min(a, b)
    return spark.createDataFrame([(n, find(n)) for n in free], "node long, component long")


def same(people: dict[str, str], *keys: str) -> bool:
    return len({people[k] for k in keys}) == 1


def test_logins_cookies_devices_and_emails_join_one_person(spark) -> None:
    people = resolve(
        spark,
        [
            event("1", anonymous_id="c1"),  # a visit before login
            event("2", anonymous_id="c1", user_id="alice"),  # login
            event("3", anonymous_id="c2", email_sha256="e" * 64),  # newsletter click
            event("4", user_id="alice", email_sha256="e" * 64),  # identify
            event("5", device_id="d1", advertising_id="a1", anonymous_id="i1"),  # app, logged out
            event("6", device_id="d1", user_id="alice"),  # app login
            event("7", user_id="bob", anonymous_id="c9"),
        ],
    )
    alice = ["user_id:alice", "anonymous_id:c1", "anonymous_id:c2", f"email_sha256:{'e' * 64}"]
    alice += ["device_id:d1", "advertising_id:a1", "anonymous_id:i1"]
    assert same(people, *alice)
    assert same(people, "user_id:bob", "anonymous_id:c9")
    assert people["user_id:alice"] != people["user_id:bob"]


def test_blocked_values_link_nothing(spark) -> None:
    people = resolve(
        spark,
        [
            event("1", user_id="alice", anonymous_id="undefined"),
            event("2", user_id="bob", anonymous_id="undefined"),
            event("3", user_id="carol", advertising_id="00000000-0000-0000-0000-000000000000"),
            event("4", user_id="dave", advertising_id="00000000-0000-0000-0000-000000000000"),
            event("5", user_id="0", anonymous_id="c5"),
        ],
    )
    assert "anonymous_id:undefined" not in people and "user_id:0" not in people
    assert len({people[f"user_id:{u}"] for u in ("alice", "bob", "carol", "dave")}) == 4
    assert people["anonymous_id:c5"].startswith("c")  # anonymous: its user id was a placeholder


def test_shared_and_contested_identifiers_never_merge_users(spark) -> None:
    rows = [event(f"p{i}", user_id=f"u{i}", anonymous_id="cafe") for i in range(5)]
    rows += [event("t1", user_id="mum", device_id="tablet")] * 1
    rows += [event(f"t{i}", user_id="dad", device_id="tablet") for i in range(2, 6)]
    people = resolve(spark, rows)
    assert len({people[f"user_id:u{i}"] for i in range(5)}) == 5
    assert people["anonymous_id:cafe"].startswith("s")  # shared: a person of its own
    assert people["user_id:mum"] != people["user_id:dad"]
    assert people["device_id:tablet"] == people["user_id:dad"]  # the main user gets it


def test_partner_ids_attach_through_two_identifier_rows_only(spark) -> None:
    people = resolve(
        spark,
        [
            event("1", user_id="alice", advertising_id="maid1"),
            event("2", advertising_id="maid1", partner_uid="beta-7"),  # two ids: a link
            event("3", partner_uid="beta-8"),  # one id: attaches to nobody
        ],
    )
    assert same(people, "user_id:alice", "partner_uid:mobi_beta:beta-7")
    assert people["partner_uid:mobi_beta:beta-8"] != people["user_id:alice"]


def test_a_cluster_linked_to_two_people_stays_apart(spark) -> None:
    people = resolve(
        spark,
        [
            event("1", user_id="alice", advertising_id="m1"),
            event("2", user_id="bob", advertising_id="m2"),
            event("3", advertising_id="m1", partner_uid="x"),
            event("4", advertising_id="m2", partner_uid="x"),
        ],
    )
    assert people["partner_uid:mobi_beta:x"] not in (
        people["user_id:alice"],
        people["user_id:bob"],
    )


def test_node_classes(spark) -> None:
    events = spark.createDataFrame(
        [
            event("1", user_id="alice", anonymous_id="c1"),
            event("2", anonymous_id="c2"),
            *[event(f"s{i}", user_id=f"u{i}", anonymous_id="pub") for i in range(4)],
            event("m1", user_id="u1", device_id="d"),
            event("m2", user_id="u2", device_id="d"),
        ],
        COLUMNS,
    )
    identifiers = event_identifiers(with_event_keys(events))
    nodes = node_ids(identifiers)
    classes = classify_nodes(nodes, user_links(event_nodes(identifiers, nodes)), RULES)
    found = {
        r["id_value"]: r["link"]
        for r in classes.join(nodes, ["node", "id_type"]).select("id_value", "link").collect()
    }
    assert found["alice"] == USER and found["c1"] == OWNED and found["c2"] == FREE
    assert found["pub"] == SHARED and found["d"] == CONTESTED


@pytest.fixture
def members(spark):
    """``"alice c1 | c9 c8"``: persons split by ``|``; the name alice is a user id."""

    def build(spec: str):
        rows = []
        for key, person in enumerate(spec.split("|")):
            for value in person.split():
                kind = "user_id" if value == "alice" else "anonymous_id"
                rows.append((kind, value, f"k{key}"))
        return spark.createDataFrame(rows, "id_type string, id_value string, person_key string")

    return build


def test_stable_ids_keep_grow_merge_and_split(spark, members) -> None:
    first, _ = assign_person_ids(members("alice c1 | c9 c8"), None, "-1")
    ids = {r["id_value"]: r["person_id"] for r in first.collect()}
    again, changes = assign_person_ids(members("c1 alice | c8 c9"), first, "0")
    assert {r["id_value"]: r["person_id"] for r in again.collect()} == ids  # same data, same ids
    assert changes.count() == 0

    grown, changes = assign_person_ids(members("alice c1 c9 c8 new"), first, "0")
    merged = {r["id_value"]: r["person_id"] for r in grown.collect()}
    assert set(merged.values()) == {ids["alice"]}  # the user's id wins the merge
    assert [(r["change"], r["from_person_id"], r["to_person_id"]) for r in changes.collect()] == [
        (MERGE, ids["c9"], ids["alice"])
    ]

    split, changes = assign_person_ids(members("alice c1 | c9 | c8"), first, "0")
    after = {r["id_value"]: r["person_id"] for r in split.collect()}
    assert after["alice"] == ids["alice"]
    assert {after["c9"], after["c8"]} & {ids["c9"]}  # one half keeps the old id
    assert after["c9"] != after["c8"]
    assert [r["change"] for r in changes.collect()] == [SPLIT]
