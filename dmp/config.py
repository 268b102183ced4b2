"""Strict configuration: conf/base.yaml + conf/<env>.yaml + an optional file + environment.

Every key is validated by a pydantic model with ``extra="forbid"``; a mistake is reported
as one line naming the file (or environment variable) and the dotted key that is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator

from dmp.errors import ConfigError
from dmp.funnels.settings import FunnelSettings
from dmp.identity.settings import IdentitySettings
from dmp.ingest.settings import IngestSettings
from dmp.lookalike.settings import LookalikeSettings
from dmp.pipeline.settings import PipelineSettings
from dmp.profiles.settings import ProductRuleSettings, ProfileSettings
from dmp.segments.settings import SegmentSettings
from dmp.spec import StrictModel, describe_validation_error, parse_yaml, read_text_file

__all__ = [
    "LakeSettings",
    "MlflowSettings",
    "Settings",
    "SparkSettings",
    "find_conf_dir",
    "load_config",
]

_ENV_PREFIX = "DMP__"
_VAR_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SparkSettings(StrictModel):
    """How dmp builds its Spark session when it starts the JVM itself."""

    master: str = "local[*]"
    app_name: str = "dmp"
    shuffle_partitions: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    """Shuffle partitions. ``auto``: one per ``partition_mb`` of the data the job reads (the
    bronze events table plus landing files not yet ingested), at least two per core; adaptive
    execution still merges small ones. A number fixes them."""
    partition_mb: int = Field(32, ge=1)
    """Compressed input per shuffle partition under ``shuffle_partitions: auto``."""

    @field_validator("shuffle_partitions", mode="before")
    @classmethod
    def _partitions(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise ValueError(f"should be a positive whole number or 'auto' (got {value!r})")

    driver_memory: str = Field("auto", pattern=r"^(auto|[1-9][0-9]*[kmgt])$")
    """JVM heap when dmp starts Spark itself (local mode: the whole Spark). ``auto``: 60% of
    the machine's memory, at least 1g and at most 64g."""
    ui_enabled: bool = False
    progress_seconds: float = Field(60.0, ge=0)
    """Log the Spark task progress of a running stage this often; 0 turns it off."""
    conf: dict[str, str] = Field(default_factory=dict)


class LakeSettings(StrictModel):
    """Delta lake storage options."""

    engine: Literal["delta-rs"] = "delta-rs"
    vacuum_retention_hours: int = Field(168, ge=0)
    """``dmp optimize`` keeps the files older versions need for this long (time travel)."""
    target_file_mb: int = Field(128, ge=1)
    """``dmp optimize`` compacts small files into files of about this size."""


class MlflowSettings(StrictModel):
    """MLflow tracking; the default is a SQLite store under ``<home>/mlflow``."""

    tracking_uri: str | None = None
    experiment: str = "dmp"


class QualitySettings(StrictModel):
    """Data-quality gate options (the rules themselves live in ``conf/gates.yaml``)."""

    data_docs: bool = True
    """Keep every gate's redacted GX result in a GX Data Docs site under
    ``reports/quality/gx-data-docs`` (linked from ``reports/index.html``)."""


class EvaluationSettings(StrictModel):
    """Scoring against a generated world's planted truth (an explicit choice, never implied)."""

    truth_dir: Path | None = None
    """Folder of the planted truth ``dmp generate`` writes (``truth``, relative to the data
    root, or absolute). When set, identity reports pairwise precision/recall, profiles their
    agreement with the planted persons, and lookalikes with ``--truth-product`` the future
    buyers found; unset (the default), nothing is scored. ``dmp demo`` sets it."""


class PrivacySettings(StrictModel):
    """Where the key of internal pseudonyms lives (see :mod:`dmp.privacy.secret`)."""

    secret_file: Path | None = None
    """File holding the secret of keyed internal ids, outside the data root. Unset: the
    environment variable ``DMP_SECRET``, else ``dmp/secret`` in the user's config folder
    (created with mode 0600 on first use)."""


class Settings(StrictModel):
    """The whole validated configuration of one dmp process."""

    home: Path
    conf_dir: Path | None = None
    spark: SparkSettings = SparkSettings()
    lake: LakeSettings = LakeSettings()
    mlflow: MlflowSettings = MlflowSettings()
    quality: QualitySettings = QualitySettings()
    ingest: IngestSettings = IngestSettings()
    identity: IdentitySettings = IdentitySettings()
    profiles: ProfileSettings = ProfileSettings()
    product_rules: ProductRuleSettings = ProductRuleSettings()
    segments: SegmentSettings = SegmentSettings()
    funnels: FunnelSettings = FunnelSettings()
    lookalike: LookalikeSettings = LookalikeSettings()
    pipeline: PipelineSettings = PipelineSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    privacy: PrivacySettings = PrivacySettings()

    def id_key(self) -> bytes:
        """The secret key of internal pseudonyms (HMAC-SHA256 of e-mail and phone ids).

        Raises:
            UserError: The secret is inside the data root, unreadable or too short.
        """
        from dmp.privacy.secret import load_secret

        return load_secret(self.privacy.secret_file, self.home)

    def with_truth(self, folder: Path = Path("truth")) -> Settings:
        """These settings with truth scoring on (``evaluation.truth_dir = folder``)."""
        return self.model_copy(update={"evaluation": EvaluationSettings(truth_dir=folder)})

    @property
    def truth_dir(self) -> Path | None:
        """The planted truth to score against, or None when truth scoring is off.

        Raises:
            UserError: ``evaluation.truth_dir`` is set but is not a folder.
        """
        folder = self.evaluation.truth_dir
        if folder is None:
            return None
        folder = folder if folder.is_absolute() else self.home / folder
        if not folder.is_dir():
            from dmp.errors import UserError

            raise UserError(
                f"evaluation.truth_dir {folder} is not a folder (unset it to skip scoring)"
            )
        return folder

    @property
    def landing_dir(self) -> Path:
        """Folder of raw files users drop in (first-party JSONL, partner CSV)."""
        return self.home / "landing"

    @property
    def lake_dir(self) -> Path:
        """Root of the Delta tables, ``<layer>/<name>`` below it."""
        return self.home / "lake"

    @property
    def mlflow_dir(self) -> Path:
        """Folder of the embedded MLflow store and artifacts."""
        return self.home / "mlflow"

    @property
    def exports_dir(self) -> Path:
        """Folder of audience files for channels."""
        return self.home / "exports"

    @property
    def reports_dir(self) -> Path:
        """Folder of data-quality and lift reports."""
        return self.home / "reports"

    @property
    def gates_file(self) -> Path:
        """Data-quality gate specs of every layer (``conf/gates.yaml``)."""
        return (self.conf_dir or Path("conf")) / "gates.yaml"

    @property
    def tags_file(self) -> Path:
        """Rule tags over profiles (``conf/tags.yaml``)."""
        return (self.conf_dir or Path("conf")) / "tags.yaml"

    @property
    def segments_file(self) -> Path:
        """Segment definitions (``conf/segments.yaml``)."""
        return (self.conf_dir or Path("conf")) / "segments.yaml"

    @property
    def channels_file(self) -> Path:
        """Activation channels (``conf/channels.yaml``)."""
        return (self.conf_dir or Path("conf")) / "channels.yaml"

    @property
    def partners_conf_dir(self) -> Path:
        """Folder of partner mapping files (``conf/partners``)."""
        return (self.conf_dir or Path("conf")) / "partners"

    @property
    def work_dir(self) -> Path:
        """Scratch space (Spark checkpoints, locks)."""
        return self.home / "work"


def find_conf_dir(explicit: Path | None = None) -> Path:
    """Locate the folder holding ``base.yaml``.

    Order: the explicit argument, ``$DMP_CONF_DIR``, ``./conf`` in the working directory,
    then the ``conf/`` folder of the source checkout this package was installed from.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    elif os.environ.get("DMP_CONF_DIR"):
        candidates.append(Path(os.environ["DMP_CONF_DIR"]))
    else:
        candidates += [Path.cwd() / "conf", Path(__file__).resolve().parent.parent / "conf"]
    for candidate in candidates:
        if (candidate / "base.yaml").is_file():
            return candidate
    raise ConfigError(
        f"no base.yaml found in {', '.join(str(c) for c in candidates)}; "
        "run from the project folder or set DMP_CONF_DIR"
    )


def load_config(
    config_file: Path | str | None = None,
    *,
    env: str | None = None,
    home: Path | str | None = None,
    conf_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load and validate the configuration.

    Args:
        config_file: Extra YAML overlay (``--config``); defaults to ``$DMP_CONFIG``.
        env: Environment overlay name (``conf/<env>.yaml``); defaults to ``$DMP_ENV`` or "local".
        home: Data root overriding everything else (``--home``).
        conf_dir: Folder with ``base.yaml``; see :func:`find_conf_dir`.
        environ: Environment variables to use instead of ``os.environ`` (for tests).

    Returns:
        The validated settings, with ``home`` made absolute.

    Raises:
        ConfigError: A file is missing or malformed, or a key is unknown or invalid.
    """
    environ = os.environ if environ is None else environ
    directory = find_conf_dir(conf_dir)
    env_name = env or environ.get("DMP_ENV") or "local"
    layers: list[tuple[str, dict[str, Any]]] = [
        (str(directory / "base.yaml"), _read_yaml(directory / "base.yaml", environ))
    ]
    env_file = directory / f"{env_name}.yaml"
    if env_file.is_file():
        layers.append((str(env_file), _read_yaml(env_file, environ)))
    elif env is not None or "DMP_ENV" in environ:
        raise ConfigError(f"environment overlay {env_file} does not exist (DMP_ENV={env_name})")
    extra = config_file if config_file is not None else environ.get("DMP_CONFIG")
    if extra:
        extra_path = Path(extra)
        if not extra_path.is_file():
            raise ConfigError(f"config file {extra_path} does not exist")
        layers.append((str(extra_path), _read_yaml(extra_path, environ)))
    layers.append(("environment", _environment_layer(environ)))
    if home is not None:
        layers.append(("--home", {"home": str(home)}))
    elif environ.get("DMP_HOME"):
        layers.append(("environment variable DMP_HOME", {"home": environ["DMP_HOME"]}))

    merged: dict[str, Any] = {}
    provenance: dict[tuple[str, ...], str] = {}
    for source, layer in layers:
        _merge(merged, layer, source, provenance, ())
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, provenance)) from None
    return settings.model_copy(
        update={"home": settings.home.expanduser().absolute(), "conf_dir": directory.absolute()}
    )


def _read_yaml(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    data = parse_yaml(read_text_file(path, "YAML file"), str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return _expand(data, str(path), (), environ)


def _expand(value: Any, source: str, key: tuple[str, ...], environ: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, source, (*key, str(k)), environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, source, key, environ) for v in value]
    if isinstance(value, str):
        return _expand_string(value, source, key, environ)
    return value


def _expand_string(text: str, source: str, key: tuple[str, ...], environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found is not None and found != "":
            return found
        if default is not None:
            return default
        raise ConfigError(
            f"{source}: {'.'.join(key)}: environment variable {name} is not set "
            f"(use ${{{name}:-default}} for a default)"
        )

    return _VAR_PATTERN.sub(replace, text)


def _environment_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(_ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(_ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        node = layer
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                clash = _ENV_PREFIX + "__".join(p.upper() for p in parts[: depth + 1])
                raise ConfigError(
                    f"environment variable {name}: {clash} already sets that key to a value; "
                    "unset one of them"
                )
            node = child
        source = f"environment variable {name}"
        node[parts[-1]] = parse_yaml(raw, source) if raw.strip() else raw
    return layer


def _merge(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    source: str,
    provenance: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
) -> None:
    for key, value in layer.items():
        path = (*prefix, str(key))
        if source == "environment":
            label = "environment variable " + _ENV_PREFIX + "__".join(p.upper() for p in path)
        else:
            label = source
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, source, provenance, path)
        else:
            target[key] = value
        provenance[path] = label
