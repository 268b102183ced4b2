"""No person id reaches MLflow; builds trained on an erased person are flagged there."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from dmp.config import load_config
from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.models import LookalikeModel, ModelOptions, PUEstimator, fit_model
from dmp.lookalike.tracking import (
    TRAINED_ON_ERASED_TAG,
    _mlflow,
    anonymous_example,
    flag_builds_trained_on,
)


def _fitted() -> tuple[LookalikeModel, pd.DataFrame]:
    spec = FeatureSpec.build(["books", "toys"], ["p:sports"], 2)
    rng = np.random.default_rng(3)
    pool = pd.DataFrame(rng.normal(size=(60, len(spec.names))), columns=list(spec.names))
    pool["city_tier"] = rng.integers(1, 4, size=60)
    pool.insert(0, "person_id", [f"person-{i:04d}" for i in range(60)])
    spec = spec.fitted(pool)
    model = fit_model(
        "pu", spec, spec.matrix(pool.head(15)), spec.matrix(pool), pool["person_id"].tolist(),
        ModelOptions(centroids=2, bags=3, ratio=2.0, classifier="logistic", random_state=1),
    )  # fmt: skip
    return model, pool


def test_the_stored_model_and_its_example_name_no_one() -> None:
    model, pool = _fitted()
    estimator = model.estimator
    assert isinstance(estimator, PUEstimator) and estimator.in_bag_  # scored out-of-bag
    shared = model.without_people()
    assert b"person-" not in pickle.dumps(shared)
    example = anonymous_example(shared, pool)
    assert "person_id" not in example.columns and list(example.columns) == list(model.spec.names)
    assert example["city_tier"].dtype == pool["city_tier"].dtype
    real = {tuple(np.round(r, 9)) for r in pool[list(model.spec.names)].to_numpy(dtype=float)}
    assert not any(tuple(np.round(r, 9)) in real for r in example.to_numpy(dtype=float))
    # scores without memberships are the all-bag mean, the same for everyone
    frame = pool.drop(columns="person_id")
    assert np.allclose(shared.score_frame(frame), model.score(model.spec.matrix(frame)))


def test_builds_trained_on_an_erased_person_are_tagged(tmp_path: Path) -> None:
    settings = load_config(home=tmp_path, environ={})
    assert flag_builds_trained_on(settings, run_ids=["x"], seed_segments=[], note="r") == []
    mlflow = _mlflow(settings)
    with mlflow.start_run() as by_audience:
        pass
    with mlflow.start_run() as by_seed:
        mlflow.log_param("seed", "segment vips")
        mlflow.set_tag("dmp.as_of", "2026-03-02")
    with mlflow.start_run() as other:
        mlflow.log_param("seed", "segment vips")
        mlflow.set_tag("dmp.as_of", "2026-03-09")
    flagged = flag_builds_trained_on(
        settings, run_ids=[by_audience.info.run_id], seed_segments=[("vips", "2026-03-02")],
        note="request abc",
    )  # fmt: skip
    assert flagged == sorted([by_audience.info.run_id, by_seed.info.run_id])
    client = mlflow.tracking.MlflowClient()
    assert client.get_run(by_seed.info.run_id).data.tags[TRAINED_ON_ERASED_TAG] == "true"
    assert TRAINED_ON_ERASED_TAG not in client.get_run(other.info.run_id).data.tags
