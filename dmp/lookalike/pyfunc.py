"""The MLflow pyfunc wrapper of a lookalike model (imports mlflow: load it lazily)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel


class LookalikePyfunc(PythonModel):
    """Scores flat feature rows (as ``dmp.lookalike.features.flat_features`` makes them)."""

    def load_context(self, context: Any) -> None:
        """Unpickle the fitted :class:`dmp.lookalike.models.LookalikeModel`."""
        self.model = pickle.loads(Path(context.artifacts["bundle"]).read_bytes())

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        """One score per input row; higher is more like the seed."""
        return pd.Series(self.model.score_frame(model_input), index=model_input.index)
