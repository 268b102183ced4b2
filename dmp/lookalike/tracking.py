"""MLflow tracking of lookalike builds: one run per build, a registered model per audience.

The embedded default store is SQLite under ``<home>/mlflow`` (an absolute URI, see
STACK-NOTES.md); ``mlflow.tracking_uri`` in the config or ``MLFLOW_TRACKING_URI`` points at
any tracking server. mlflow is imported only here, inside functions.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dmp.config import Settings
from dmp.errors import StageFailed
from dmp.faults import commit_point
from dmp.lookalike.models import LookalikeModel
from dmp.naming import check_name

_MODEL_FILE = "lookalike_model.pkl"


@dataclass(frozen=True)
class TrackedRun:
    """Where a build was logged."""

    run_id: str
    experiment_id: str
    model_name: str | None
    model_version: str | None
    ui_path: str


def tracking_uri(settings: Settings) -> str:
    """The configured tracking URI, else an absolute SQLite store under the data root."""
    configured = settings.mlflow.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.mlflow_dir / 'mlflow.db').absolute()}"


def _is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_tracking_server(settings: Settings, timeout_s: float = 5.0) -> None:
    """Fail fast, in one line, when the configured MLflow tracking server does not answer.

    Called before a lookalike build starts Spark, so a server that is down costs seconds and
    publishes nothing. A local store (the embedded SQLite default) needs no check.

    Raises:
        StageFailed: Nothing answers at the tracking URI.
    """
    uri = tracking_uri(settings)
    if not _is_server(uri):
        return
    parts = urllib.parse.urlsplit(uri)
    shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s):
            return
    except urllib.error.HTTPError:
        return  # the server answered (e.g. 401 behind auth): it is up
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StageFailed(
            f"MLflow tracking server {shown} is not reachable ({reason}): start it, or point "
            "mlflow.tracking_uri / MLFLOW_TRACKING_URI at a running server"
        ) from None


def _mlflow(settings: Settings) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    name = settings.mlflow.experiment
    if mlflow.get_experiment_by_name(name) is None:
        if _is_server(uri):
            # the server's artifact root (mlflow-artifacts:/ with --serve-artifacts): a path
            # on this machine would not be readable by other clients of the server
            mlflow.create_experiment(name)
        else:
            location = (settings.mlflow_dir / "artifacts").absolute().as_uri()
            mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)
    return mlflow


def model_name(audience: str) -> str:
    """Registered-model name of an audience: ``lookalike_<audience>``, the name unchanged.

    Audience names are checked by :func:`dmp.naming.check_name` (letters, digits, ``_``,
    ``-``), all of which MLflow accepts, so two audiences never share a model: the earlier
    mapping of ``-`` to ``_`` registered ``lal-vip`` and ``lal_vip`` as one model.

    Raises:
        UserError: ``audience`` is not a valid name.
    """
    return "lookalike_" + check_name(audience, "audience name")


def anonymous_example(model: LookalikeModel, like: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    """Input example of the model's features, made from no real person.

    Rows are the fitted feature means minus, at and plus one standard deviation, with the
    column types of ``like`` (flat feature rows) so the signature stays the same; columns
    that are not features (``person_id``) are left out.

    Args:
        model: The fitted model (its feature spec holds the means and scales).
        like: Flat feature rows whose column types the example copies.
        rows: Number of example rows (at most 3).
    """
    import numpy as np

    spec = model.spec
    names = list(spec.names)
    means = np.asarray(spec.means or [0.0] * len(names), dtype=np.float64)
    scales = np.asarray(spec.scales or [1.0] * len(names), dtype=np.float64)
    steps = np.array([0.0, -1.0, 1.0][: max(1, min(rows, 3))])
    values = means[None, :] + steps[:, None] * scales[None, :]
    frame = pd.DataFrame(values, columns=names)
    for name in names:
        if name in like.columns and pd.api.types.is_numeric_dtype(like[name].dtype):
            dtype = like[name].dtype
            if pd.api.types.is_bool_dtype(dtype):
                frame[name] = frame[name] > 0.5
            elif pd.api.types.is_integer_dtype(dtype):
                frame[name] = frame[name].round().clip(lower=0).astype(dtype)
            else:
                frame[name] = frame[name].astype(dtype)
    return frame


def log_build(
    settings: Settings,
    *,
    audience: str,
    model: LookalikeModel,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    artifacts: Mapping[str, Path],
    example: pd.DataFrame,
) -> TrackedRun:
    """Log one build: parameters, metrics, artifacts and the model with its signature.

    Args:
        settings: Configuration (tracking URI, experiment, data root).
        audience: Audience name (run name and registered model).
        model: The fitted model.
        params: Build parameters (method, seed, table versions, ...).
        metrics: Flat metrics (evaluation, guardrails, sizes).
        tags: Extra tags.
        artifacts: Files to attach (report, charts, tables, feature spec).
        example: A few flat feature rows: the model's input example and signature.
    """
    mlflow = _mlflow(settings)
    from mlflow.models import infer_signature

    from dmp.lookalike.pyfunc import LookalikePyfunc

    # Nothing that names a person goes to MLflow: no training-pool ids in the pickle, and an
    # input example made from the fitted feature means rather than real people's rows.
    shared = model.without_people()
    example = anonymous_example(shared, example)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch) / _MODEL_FILE
        bundle.write_bytes(pickle.dumps(shared))
        with mlflow.start_run(run_name=audience) as active:
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            mlflow.set_tags({"dmp.audience": audience, **tags})
            for name, path in artifacts.items():
                if path.is_dir():
                    mlflow.log_artifacts(str(path), artifact_path=name)
                else:
                    mlflow.log_artifact(str(path), artifact_path=name)
            signature = infer_signature(example, shared.score_frame(example))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=LookalikePyfunc(),
                artifacts={"bundle": str(bundle)},
                signature=signature,
                input_example=example,
            )
            run_id = active.info.run_id
            experiment_id = active.info.experiment_id
    registered_name = registered_version = None
    if settings.lookalike.register_model:
        registered_name = model_name(audience)
        commit_point("mlflow.register.before", registered_name)
        version = mlflow.register_model(info.model_uri, registered_name)
        registered_version = str(version.version)
        commit_point("mlflow.register.after", registered_name)
        client = mlflow.tracking.MlflowClient()
        client.set_registered_model_alias(registered_name, "current", registered_version)
        commit_point("mlflow.alias.after", registered_name)
    return TrackedRun(
        run_id=run_id,
        experiment_id=experiment_id,
        model_name=registered_name,
        model_version=registered_version,
        ui_path=f"#/experiments/{experiment_id}/runs/{run_id}",
    )


def load_current_model(settings: Settings, audience: str) -> Any:
    """The registered model of an audience at alias ``current``, as an MLflow pyfunc."""
    mlflow = _mlflow(settings)
    return mlflow.pyfunc.load_model(f"models:/{model_name(audience)}@current")


TRAINED_ON_ERASED_TAG = "dmp.trained_on_erased_person"


def tracking_exists(settings: Settings) -> bool:
    """Whether a tracking store is configured or the embedded one was ever created."""
    configured = settings.mlflow.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    return bool(configured) or (settings.mlflow_dir / "mlflow.db").exists()


def flag_builds_trained_on(
    settings: Settings,
    *,
    run_ids: Iterable[str],
    seed_segments: Iterable[tuple[str, str]],
    note: str,
) -> list[str]:
    """Tag the MLflow builds that may have been trained on an erased person.

    A build may have trained on a person of its universe (its audience rows name them) or
    of its seed segment on its as-of date. Each such run, and each registered model version
    logged from it, gets the tag ``dmp.trained_on_erased_person=true`` so the model can be
    retrained or retired; the pickled model itself holds no person id.

    Args:
        settings: Configuration (tracking store).
        run_ids: MLflow run ids of builds whose audiences held the person.
        seed_segments: ``(segment, as_of)`` the person belonged to.
        note: Written to the ``dmp.erasure`` tag (the erasure request id).

    Returns:
        The flagged run ids, sorted.
    """
    if not tracking_exists(settings):
        return []
    mlflow = _mlflow(settings)
    from mlflow.exceptions import MlflowException

    client = mlflow.tracking.MlflowClient()
    experiment = mlflow.get_experiment_by_name(settings.mlflow.experiment)
    flagged = set(run_ids)
    for segment, as_of in sorted(set(seed_segments)):
        if experiment is None:
            break
        found = client.search_runs(
            [experiment.experiment_id],
            filter_string=(
                f"params.seed = {_mlflow_literal('segment ' + segment)} "
                f"and tags.`dmp.as_of` = {_mlflow_literal(as_of)}"
            ),
        )
        flagged |= {r.info.run_id for r in found}
    tagged = []
    for run_id in sorted(flagged):
        try:
            client.set_tag(run_id, TRAINED_ON_ERASED_TAG, "true")
            client.set_tag(run_id, "dmp.erasure", note)
        except MlflowException:
            continue  # a run deleted from the store has no model to flag
        tagged.append(run_id)
        for version in client.search_model_versions(f"run_id = {_mlflow_literal(run_id)}"):
            client.set_model_version_tag(
                version.name, version.version, TRAINED_ON_ERASED_TAG, "true"
            )
    return tagged


def _mlflow_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
