"""Funnels against an independent brute-force answer, and the stage on a hand-made event log."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dmp.config import load_config
from dmp.driver import run_stage
from dmp.funnels.entry import FUNNELS, FunnelsRequest
from dmp.funnels.settings import FunnelSettings, FunnelSpec, FunnelStep
from dmp.funnels.transforms import funnel_events, funnel_progress, funnel_stats
from dmp.ingest.schema import EVENTS_SCHEMA
from dmp.lake import Lake

AS_OF = date(2026, 3, 31)
EVENTS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
SPEC = FunnelSpec(
    name="purchase",
    window_hours=48,
    steps=[FunnelStep(event=e) for e in EVENTS],
)


# --- an independent answer: every start tried, each chain walked greedily ------------------


def reference_progress(
    rows: list[tuple[str, datetime, str, str, str]], spec: FunnelSpec
) -> dict[str, tuple[int, list[datetime], str]]:
    """``person -> (level, step times, channel)`` by brute force over every step-1 event.

    A person's level is the longest chain over all starts; the chain reported is the latest
    start reaching that level, each step at the first later event of that step.
    """
    window = timedelta(hours=spec.window_hours)
    by_person: dict[str, list[tuple[datetime, str, int, str]]] = {}
    for person, when, message, channel, name in rows:
        for index, step in enumerate(spec.steps):
            if step.event == name:
                by_person.setdefault(person, []).append((when, message, index + 1, channel))
    answer = {}
    for person, hits in by_person.items():
        hits.sort(key=lambda h: (h[0], h[1], -h[2]))
        best: tuple[int, list[datetime], str] | None = None
        for position, (start, _, step, channel) in enumerate(hits):
            if step != 1:
                continue
            chain = [start]
            for when, _, later_step, _ in hits[position + 1 :]:
                if when > start + window:
                    break
                if later_step == len(chain) + 1:
                    chain.append(when)
            if best is None or len(chain) >= best[0]:
                best = (len(chain), chain, channel)
        if best is not None:
            answer[person] = best
    return answer


def random_rows(seed: int, people: int) -> list[tuple[str, datetime, str, str, str]]:
    """Events of random people: mostly in funnel order, with gaps, repeats and noise."""
    rng = random.Random(seed)
    origin = datetime(2026, 3, 20, tzinfo=UTC)
    rows = []
    for p in range(people):
        seconds = rng.sample(range(0, 10 * 86400), rng.randint(1, 14))  # distinct times
        for s in sorted(seconds):
            weights = [5, 3, 2, 2, 1]
            name = rng.choices([*EVENTS, "Products Searched"], weights)[0]
            channel = rng.choice(["web", "ios"])
            rows.append(
                (f"p{p:03d}", origin + timedelta(seconds=s), f"m{len(rows)}", channel, name)
            )
    return rows


def test_progress_matches_brute_force_on_random_people(spark) -> None:
    rows = random_rows(11, 300)
    frame = spark.createDataFrame(
        rows, "person_id string, event_time timestamp, message_id string, channel string, "
        "event_name string",
    )  # fmt: skip
    got = {
        r["person_id"]: (r["level"], list(r["step_times"]), r["channel"])
        for r in funnel_progress(funnel_events(frame, SPEC), SPEC).collect()
    }
    want = reference_progress(rows, SPEC)
    assert set(got) == set(want)
    levels = {level for level, _, _ in want.values()}
    assert levels == {1, 2, 3, 4}  # the data exercises every level
    for person, expected in want.items():
        level, times, channel = got[person]
        assert (level, [t.replace(tzinfo=UTC) for t in times], channel) == expected, person


def test_stats_match_an_independent_count(spark) -> None:
    rows = random_rows(12, 200)
    frame = spark.createDataFrame(
        rows, "person_id string, event_time timestamp, message_id string, channel string, "
        "event_name string",
    )  # fmt: skip
    segments = spark.createDataFrame(
        [("even", f"p{p:03d}") for p in range(0, 200, 2)], "segment string, person_id string"
    )
    progress = funnel_progress(funnel_events(frame, SPEC), SPEC)
    stats = funnel_stats(spark, progress, SPEC, AS_OF, segments).collect()
    got = {(r["dimension"], r["dimension_value"], r["step"]): r.asDict() for r in stats}

    want = reference_progress(rows, SPEC)
    splits: dict[tuple[str, str], list[str]] = {("all", "all"): list(want)}
    for person, (_, _, channel) in want.items():
        splits.setdefault(("channel", channel), []).append(person)
        if int(person[1:]) % 2 == 0:
            splits.setdefault(("segment", "even"), []).append(person)
    assert {(d, v) for d, v, _ in got} == set(splits)
    for (dimension, value), persons in splits.items():
        counts = [sum(1 for p in persons if want[p][0] >= k) for k in range(1, 5)]
        for k in range(1, 5):
            row = got[(dimension, value, k)]
            assert row["people"] == counts[k - 1]
            assert row["overall_conversion"] == pytest.approx(counts[k - 1] / counts[0])
            if k > 1:
                expected = counts[k - 1] / counts[k - 2] if counts[k - 2] else None
                assert row["step_conversion"] == pytest.approx(expected)
                gaps = [
                    (want[p][1][k - 1] - want[p][1][k - 2]).total_seconds()
                    for p in persons
                    if want[p][0] >= k
                ]
                median = statistics.median(gaps) if gaps else None
                assert row["median_seconds_from_previous"] == pytest.approx(median)
            else:
                assert row["step_conversion"] == 1.0
                assert row["median_seconds_from_previous"] is None
            assert row["dropped"] == (counts[k - 1] - counts[k] if k < 4 else None)


def test_one_event_never_counts_as_two_steps(spark) -> None:
    spec = FunnelSpec(
        name="double",
        steps=[FunnelStep(event="Product Viewed"), FunnelStep(event="Product Viewed")],
    )
    t = datetime(2026, 3, 30, 12, tzinfo=UTC)
    frame = spark.createDataFrame(
        [("a", t, "m1", "web", "Product Viewed"),
         ("b", t, "m2", "web", "Product Viewed"),
         ("b", t + timedelta(minutes=5), "m3", "web", "Product Viewed")],
        "person_id string, event_time timestamp, message_id string, channel string, "
        "event_name string",
    )  # fmt: skip
    levels = {
        r["person_id"]: r["level"]
        for r in funnel_progress(funnel_events(frame, spec), spec).collect()
    }
    assert levels == {"a": 1, "b": 2}


# --- the stage on a hand-made log --------------------------------------------------------


def _at(days_before: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(AS_OF - timedelta(days=days_before), time(hour, minute), tzinfo=UTC)


class Log:
    """Bronze rows and an identity map for hand-made people."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.people: set[str] = set()

    def event(
        self, user: str, when: datetime, name: str, channel: str = "web", **more: Any
    ) -> None:
        self.people.add(user)
        row: dict[str, Any] = {f.name: None for f in EVENTS_SCHEMA}
        row.update(source="first_party", message_id=f"m{len(self.rows)}", message_hash="h",
                   event_type="track", event_name=name, event_time=when, event_date=when.date(),
                   channel=channel, user_id=user, landing_date=when.date(), **more)  # fmt: skip
        self.rows.append(row)

    def write(self, lake: Lake) -> dict[str, str]:
        schema = EVENTS_SCHEMA.append(pa.field("ingested_at", pa.timestamp("us", tz="UTC")))
        end = datetime.combine(AS_OF + timedelta(days=1), time.min, tzinfo=UTC)
        table = pa.Table.from_pylist([{**r, "ingested_at": end} for r in self.rows], schema=schema)
        lake.write_arrow(table, "bronze/events", partition_by=["event_date"])
        people = sorted(self.people)
        ids = {u: f"P{i:016x}" for i, u in enumerate(people)}
        identity = pa.table({"id_type": ["user_id"] * len(people), "id_value": people,
                             "person_id": [ids[u] for u in people],
                             "link": ["user"] * len(people)})  # fmt: skip
        lake.write_arrow(identity, "silver/identity_map")
        return ids


@pytest.fixture(scope="module")
def funnel_run(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home: Path = tmp_path_factory.mktemp("funnels")
    settings = load_config(home=home, environ={})
    spec = FunnelSpec(
        name="books",
        window_hours=24,
        steps=[
            FunnelStep(event="Product Viewed", properties={"category": "books"}),
            FunnelStep(event="Product Added", name="added"),
            FunnelStep(event="Order Completed", name="ordered"),
        ],
    )
    settings = settings.model_copy(
        update={"funnels": FunnelSettings(lookback_days=7, definitions=[spec])}
    )
    log = Log()
    log.event("buyer", _at(1, 9), "Product Viewed", category="books")
    log.event("buyer", _at(1, 9, 30), "Product Added")
    log.event("buyer", _at(1, 11, 30), "Order Completed")  # 30 min, then 2 h
    log.event("abandoner", _at(2, 8), "Product Viewed", channel="ios", category="books")
    log.event("abandoner", _at(2, 8, 10), "Product Added", channel="ios")  # no order
    log.event("slow", _at(3, 8), "Product Viewed", category="books")
    log.event("slow", _at(3, 9), "Product Added")
    log.event("slow", _at(1, 9), "Order Completed")  # two days later: outside the window
    log.event("toys", _at(1, 8), "Product Viewed", category="toys")  # filter: not step 1
    log.event("toys", _at(1, 8, 5), "Product Added")
    log.event("old", _at(9, 8), "Product Viewed", category="books")  # before the lookback
    log.event("old", _at(9, 9), "Product Added")
    log.event("browser", _at(0, 23, 59), "Product Viewed", category="books")
    log.event("late", _at(-1, 1), "Product Viewed", category="books")  # after as_of
    lake = Lake(settings.lake_dir)
    ids = log.write(lake)
    segments = pa.table({"segment": ["vips", "vips"], "person_id": [ids["buyer"], ids["slow"]],
                         "as_of": [AS_OF, AS_OF]})  # fmt: skip
    lake.write_arrow(segments, "gold/segments", partition_by=["as_of"])
    result = run_stage(FUNNELS, settings, FunnelsRequest(AS_OF), spark=spark)
    stats = {
        (r["dimension"], r["dimension_value"], r["step"]): r.asDict()
        for r in lake.read(spark, "gold/funnels").collect()
    }
    members = {
        (r["segment"], r["person_id"]) for r in lake.read(spark, "gold/funnel_segments").collect()
    }
    return {"result": result, "stats": stats, "members": members, "ids": ids, "home": home}


def test_stage_counts_people_per_step(funnel_run) -> None:
    stats = funnel_run["stats"]
    assert [stats[("all", "all", k)]["people"] for k in (1, 2, 3)] == [4, 3, 1]
    assert stats[("all", "all", 2)]["median_seconds_from_previous"] == 30 * 60  # 10, 30, 60 min
    assert stats[("all", "all", 3)]["median_seconds_from_previous"] == 2 * 3600
    assert stats[("all", "all", 3)]["overall_conversion"] == pytest.approx(0.25)
    assert stats[("all", "all", 3)]["step_conversion"] == pytest.approx(1 / 3)
    assert [stats[("channel", "ios", k)]["people"] for k in (1, 2, 3)] == [1, 1, 0]
    assert [stats[("channel", "web", k)]["people"] for k in (1, 2, 3)] == [3, 2, 1]
    assert [stats[("segment", "vips", k)]["people"] for k in (1, 2, 3)] == [2, 2, 1]
    assert stats[("all", "all", 1)]["step_name"] == "Product Viewed"
    assert stats[("all", "all", 2)]["step_name"] == "added"


def test_stage_writes_dropoff_segments(funnel_run) -> None:
    ids = funnel_run["ids"]
    assert funnel_run["members"] == {
        ("funnel_books_dropoff_1", ids["browser"]),
        ("funnel_books_dropoff_2", ids["abandoner"]),
        ("funnel_books_dropoff_2", ids["slow"]),
    }
    assert funnel_run["result"].dropoffs == {
        "funnel_books_dropoff_1": 1,
        "funnel_books_dropoff_2": 2,
    }


def test_stage_publishes_a_report(funnel_run) -> None:
    folder = funnel_run["home"] / "reports" / "funnels" / AS_OF.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == ["books.png", "index.html"]
    assert (folder / "books.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (folder / "index.html").read_text()
    assert "segment vips" in page and "channel ios" in page
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_report_renders_in_a_browser(funnel_run, browser, screenshots: Path) -> None:
    from tests.browser import check_reports

    checked = check_reports(browser, funnel_run["home"] / "reports", screenshots)
    page = Path("funnels") / AS_OF.isoformat() / "index.html"
    assert page in checked and checked[page].images == 1  # the books funnel chart
