"""Connected components: reference answers from SciPy on hundreds of random graphs, invariants.

The random graphs run as one disjoint union (each graph in its own id range) so that hundreds
of them cost a single Spark run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from dmp.caching import kept_rounds
from dmp.identity.components import NotConverged, connected_components

GRAPHS = 400
SEED = 20140317
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

Shape = Callable[[np.random.Generator], tuple[int, np.ndarray]]


def _random(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    n = int(rng.integers(1, 300))
    return n, rng.integers(0, n, size=(int(rng.integers(0, 2 * n + 1)), 2))


def _dense(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    n = int(rng.integers(2, 40))
    pairs = np.argwhere(np.triu(rng.random((n, n)) < rng.uniform(0.05, 0.5), 1))
    return n, pairs


def _tree(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    return _tree_of(rng, int(rng.integers(2, 300)))


def _tree_of(rng: np.random.Generator, n: int) -> tuple[int, np.ndarray]:
    """A random recursive tree: node i hangs from a random earlier node."""
    children = np.arange(1, n)
    return n, np.column_stack([children, rng.integers(0, children)])


def _two_halves_one_bridge(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Two big components (a tree plus extra edges each) joined by exactly one edge."""
    half = int(rng.integers(50, 150))
    parts = []
    for offset in (0, half):
        _, tree = _tree_of(rng, half)
        extra = rng.integers(0, half, size=(half // 2, 2))
        parts += [tree + offset, extra + offset]
    bridge = np.array([[rng.integers(0, half), rng.integers(half, 2 * half)]])
    return 2 * half, np.concatenate([*parts, bridge])


def _path(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """A long path: the worst case of label propagation when ids grow along it."""
    n = int(rng.integers(200, 700))
    return n, np.column_stack([np.arange(n - 1), np.arange(1, n)])


def _star(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    n = int(rng.integers(2, 300))
    centre = int(rng.integers(0, n))
    leaves = np.delete(np.arange(n), centre)
    return n, np.column_stack([np.full(n - 1, centre), leaves])


def _cycle(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    n = int(rng.integers(3, 300))
    return n, np.column_stack([np.arange(n), (np.arange(n) + 1) % n])


def _complete(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    n = int(rng.integers(2, 25))
    return n, np.argwhere(np.triu(np.ones((n, n), dtype=bool), 1))


def _low_high(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Edges only from low to high ids, which large-star leaves alone in the first round.

    A random bipartite graph, or a zigzag path low 0 - high 0 - low 1 - high 1 - ...
    """
    low = int(rng.integers(1, 150))
    high = np.arange(low, 2 * low)
    if rng.random() < 0.5:
        m = int(rng.integers(1, 3 * low + 1))
        return 2 * low, np.column_stack([rng.integers(0, low, m), rng.choice(high, m)])
    zig = np.column_stack([np.arange(low), high])
    zag = np.column_stack([np.arange(1, low), high[:-1]])
    return 2 * low, np.concatenate([zig, zag])


def _isolated(rng: np.random.Generator) -> tuple[int, np.ndarray]:
    return int(rng.integers(1, 50)), np.empty((0, 2), dtype=np.int64)


SHAPES: list[Shape] = [
    _random,
    _dense,
    _tree,
    _two_halves_one_bridge,
    _path,
    _star,
    _cycle,
    _complete,
    _low_high,
    _isolated,
]


@dataclass
class Graph:
    """One random graph placed in its own id range, with SciPy's answer."""

    label: str
    shape: str
    edges: np.ndarray  # (m, 2) global ids
    listed: np.ndarray  # ids passed in the `nodes` frame
    expected: pd.DataFrame  # node, component for every node that must come out


def _ids(rng: np.random.Generator, n: int, base: int, span: int, order: str) -> np.ndarray:
    """``n`` distinct ids in ``[base, base + span)``: ascending, descending or scattered."""
    if order == "scattered":
        offsets = rng.choice(span, size=n, replace=False)
    else:
        step = max(1, span // max(n, 1) // 2)
        offsets = np.arange(n, dtype=np.int64) * step
        offsets = offsets[::-1] if order == "descending" else offsets
    return (np.int64(base) + offsets.astype(np.int64)).astype(np.int64)


def _untidy(rng: np.random.Generator, n: int, edges: np.ndarray) -> np.ndarray:
    """Add what real edge lists have: duplicates, reversed pairs, self-loops, any order."""
    edges = edges.astype(np.int64).reshape(-1, 2)
    extras = [edges]
    if len(edges) and rng.random() < 0.5:
        extras.append(edges[rng.integers(0, len(edges), size=len(edges) // 3 + 1)])
    if len(edges) and rng.random() < 0.5:
        extras.append(edges[rng.integers(0, len(edges), size=len(edges) // 3 + 1)][:, ::-1])
    if rng.random() < 0.3:
        loops = rng.integers(0, n, size=int(rng.integers(1, 4)))
        extras.append(np.column_stack([loops, loops]))
    untidy = np.concatenate(extras)
    return untidy[rng.permutation(len(untidy))]


def _graph(index: int) -> Graph:
    rng = np.random.default_rng([SEED, index])
    shape = SHAPES[index % len(SHAPES)]
    n, local = shape(rng)
    local = _untidy(rng, n, local)
    order = ("ascending", "descending", "scattered")[int(rng.integers(0, 3))]
    order = "ascending" if shape is _low_high else order
    if index == 0:  # the very bottom of the long range
        base, span = LONG_MIN, 2**20
    elif index == 1:  # the very top, up to the largest long
        base, span = LONG_MAX - 2**20 + 1, 2**20
    else:  # disjoint ranges of 2**50 ids, half of them negative
        base, span = (index - GRAPHS // 2) * 2**52, 2**50
    ids = _ids(rng, n, base, span, order)
    matrix = coo_matrix((np.ones(len(local)), (local[:, 0], local[:, 1])), shape=(n, n))
    _, labels = scipy_components(matrix, directed=False)
    smallest = np.full(labels.max() + 1, LONG_MAX, dtype=np.int64)
    np.minimum.at(smallest, labels, ids)
    listing = rng.choice(["all", "some", "none"])
    listed = {"all": np.ones(n, bool), "some": rng.random(n) < 0.5, "none": np.zeros(n, bool)}
    listed_mask = listed[listing]
    present = listed_mask.copy()
    present[local.ravel()] = True
    expected = pd.DataFrame({"node": ids[present], "component": smallest[labels][present]})
    label = f"graph {index}: {shape.__name__} n={n} ids {order} from {base}, nodes {listing}"
    return Graph(label, shape.__name__, ids[local], ids[listed_mask], expected)


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    return [_graph(index) for index in range(GRAPHS)]


def _frames(spark, graphs: list[Graph]):
    """The disjoint union of ``graphs`` as Spark frames: (edges, nodes)."""
    edges = np.concatenate([g.edges for g in graphs])
    listed = np.concatenate([g.listed for g in graphs])
    return (
        spark.createDataFrame(pd.DataFrame(edges, columns=["src", "dst"]), "src long, dst long"),
        spark.createDataFrame(pd.DataFrame({"node": listed}), "node long"),
    )


@pytest.fixture(scope="module")
def answer(spark, graphs):
    """One Spark run over all graphs: (labels as pandas sorted by node, rounds)."""
    edges, nodes = _frames(spark, graphs)
    result = connected_components(edges, nodes)
    return result.frame.toPandas().sort_values("node", ignore_index=True), result.rounds


def test_matches_scipy_on_hundreds_of_random_graphs(graphs, answer) -> None:
    labels, _ = answer
    expected = pd.concat(
        [g.expected.assign(graph=i) for i, g in enumerate(graphs)], ignore_index=True
    )
    joined = expected.merge(labels, on="node", how="outer", suffixes=("", "_spark"))
    wrong = joined[joined["component"] != joined["component_spark"]]
    assert wrong.empty, "\n".join(
        [f"{len(wrong)} nodes differ from SciPy, in:"]
        + [graphs[int(i)].label for i in wrong["graph"].dropna().unique()[:10]]
        + [wrong.head(10).to_string()]
    )
    # The same partition, checked without relying on the label values: expected and found
    # labels pair up one to one.
    pairs = joined[["component", "component_spark"]].drop_duplicates()
    assert len(pairs) == joined["component"].nunique() == joined["component_spark"].nunique()


def test_every_node_comes_out_exactly_once(graphs, answer) -> None:
    labels, _ = answer
    expected_nodes = np.sort(np.concatenate([g.expected["node"].to_numpy() for g in graphs]))
    assert labels["node"].is_unique
    np.testing.assert_array_equal(labels["node"].to_numpy(), expected_nodes)
    assert (labels["component"] <= labels["node"]).all()


def test_idempotent_and_a_fixed_point_is_seen_in_one_round(spark, answer) -> None:
    labels, _ = answer
    as_edges = spark.createDataFrame(
        labels.rename(columns={"node": "src", "component": "dst"}), "src long, dst long"
    )
    again = connected_components(as_edges)
    relabelled = again.frame.toPandas().sort_values("node", ignore_index=True)
    pd.testing.assert_frame_equal(relabelled, labels)
    assert again.rounds == 1


def test_deterministic_whatever_the_partitioning_and_checkpoints(spark, graphs, answer) -> None:
    """Another run, differently partitioned and checkpointed, gives the same labels.

    It runs on half of the graphs, leaving out path-like ones (fewer rounds): components
    never cross graphs, so its answer is the full run's answer restricted to their nodes.
    """
    some = [g for g in graphs[: GRAPHS // 2] if g.shape not in ("_path", "_cycle", "_low_high")]
    edges, nodes = _frames(spark, some)
    shuffled = edges.repartition(7, F.rand(seed=3))
    again = connected_components(shuffled, nodes.repartition(3), checkpoint_every=3)
    found = again.frame.toPandas().sort_values("node", ignore_index=True)
    labels, _ = answer
    expected = labels[labels["node"].isin(found["node"])].reset_index(drop=True)
    assert len(found) == sum(len(g.expected) for g in some)
    pd.testing.assert_frame_equal(found, expected)


def test_a_path_of_1000_nodes_takes_logarithmically_many_rounds(spark) -> None:
    path = spark.range(999).select(F.col("id").alias("src"), (F.col("id") + 1).alias("dst"))
    result = connected_components(path)
    # Label propagation would need about 1000 rounds; large-star/small-star needs 11.
    assert result.rounds < 30, f"{result.rounds} rounds"
    assert result.frame.agg(F.count("*"), F.max("component")).first() == (1000, 0)


@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param([(0, 2), (1, 2), (1, 3)], id="round 1 changed by small-star only"),
        pytest.param([(0, 1), (1, 3), (3, 4)], id="round 1 changed by large-star only"),
    ],
)
def test_convergence_needs_both_steps_unchanged(spark, pairs) -> None:
    """Stopping when just one step changed nothing would label 3 (or 4) with 1 here.

    In a union of graphs one graph's changes keep the others going, so these run alone.
    """
    result = connected_components(spark.createDataFrame(pairs, "src long, dst long"))
    assert {row["component"] for row in result.frame.collect()} == {0}
    assert result.rounds == 3


def test_small_graph_with_negative_ids_loops_and_lone_nodes(spark) -> None:
    edges = spark.createDataFrame(
        [(3, -5), (-5, 3), (10, 3), (7, 7), (LONG_MAX, LONG_MIN), (4, 4), (4, 9)],
        "src long, dst long",
    )
    nodes = spark.createDataFrame([(9,), (100,), (-5,)], "node short")
    result = connected_components(edges, nodes)
    found = {row["node"]: row["component"] for row in result.frame.collect()}
    assert found == {
        -5: -5,
        3: -5,
        10: -5,
        7: 7,
        LONG_MAX: LONG_MIN,
        LONG_MIN: LONG_MIN,
        4: 4,
        9: 4,
        100: 100,
    }
    assert result.frame.schema.simpleString() == "struct<node:bigint,component:bigint>"


def test_no_edges_gives_lone_nodes_in_zero_rounds(spark) -> None:
    edges = spark.createDataFrame([], "src long, dst long")
    nodes = spark.createDataFrame([(2,), (1,), (2,)], "node long")
    result = connected_components(edges, nodes)
    assert sorted(map(tuple, result.frame.collect())) == [(1, 1), (2, 2)]
    assert result.rounds == 0


def test_too_few_rounds_raises_not_converged(spark) -> None:
    path = spark.range(99).select(F.col("id").alias("src"), (F.col("id") + 1).alias("dst"))
    with pytest.raises(NotConverged, match="did not converge in 2 rounds"):
        connected_components(path, max_rounds=2)


def test_null_endpoints_are_rejected(spark) -> None:
    edges = spark.createDataFrame([(1, 2), (3, None)], "src long, dst long")
    with pytest.raises(ValueError, match=r"1 row\(s\) with a null src or dst"):
        connected_components(edges)
    nodes = spark.createDataFrame([(None,)], "node long")
    with pytest.raises(ValueError, match="nodes has a null node"):
        connected_components(edges.dropna(), nodes)


def test_bad_columns_are_rejected(spark) -> None:
    with pytest.raises(ValueError, match="edges needs a column 'dst'"):
        connected_components(spark.createDataFrame([(1, 2)], "src long, target long"))
    with pytest.raises(TypeError, match=r"edges\.src must hold integer node ids, not string"):
        connected_components(spark.createDataFrame([("a", 2)], "src string, dst long"))
    with pytest.raises(ValueError, match="nodes needs a column 'node'"):
        connected_components(spark.createDataFrame([(1, 2)], "src long, dst long"), spark.range(3))
    with pytest.raises(ValueError, match="max_rounds must be at least 1"):
        connected_components(spark.createDataFrame([(1, 2)], "src long, dst long"), max_rounds=0)


def test_round_keeper_checkpoints_every_nth_state_and_releases_the_rest(spark, capsys) -> None:
    states = []
    with kept_rounds(checkpoint_every=2) as keeper:
        for _ in range(3):
            state, summary = keeper.keep(spark.range(5), F.sum("id").alias("total"))
            assert (summary["rows"], summary["total"]) == (5, 10)
            states.append(state)
        # The first was released once the second was kept; the second is a checkpoint (its
        # plan starts from the written RDD); the third is cached until the block ends.
        assert [s.is_cached for s in states] == [False, False, True]
        states[1].explain()
        assert "Scan ExistingRDD" in capsys.readouterr().out
    assert not states[2].is_cached
    with pytest.raises(ValueError, match="checkpoint_every must be at least 1"), kept_rounds(0):
        pass
