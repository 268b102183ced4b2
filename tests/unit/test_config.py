"""Config loading: overlays, environment, ${VAR} expansion and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmp.config import load_config
from dmp.errors import ConfigError


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "base.yaml").write_text(
        "home: ${DMP_HOME:-./data}\nspark:\n  shuffle_partitions: 8\n  app_name: dmp\n"
    )
    (folder / "local.yaml").write_text("spark:\n  shuffle_partitions: 4\n")
    (folder / "cluster.yaml").write_text("spark:\n  master: spark://h:7077\n")
    return folder


def test_overlays_apply_in_order(conf: Path, tmp_path: Path) -> None:
    settings = load_config(conf_dir=conf, environ={})
    assert settings.spark.shuffle_partitions == 4  # local overlay over base
    assert settings.home == (Path.cwd() / "data").absolute()
    extra = tmp_path / "mine.yaml"
    extra.write_text("spark:\n  app_name: mine\n")
    settings = load_config(extra, env="cluster", conf_dir=conf, environ={})
    assert settings.spark.master == "spark://h:7077"
    assert settings.spark.shuffle_partitions == 8  # cluster overlay does not set it
    assert settings.spark.app_name == "mine"


def test_environment_variables_win(conf: Path, tmp_path: Path) -> None:
    environ = {"DMP_HOME": str(tmp_path / "h"), "DMP__SPARK__SHUFFLE_PARTITIONS": "3"}
    settings = load_config(conf_dir=conf, environ=environ)
    assert settings.home == tmp_path / "h"
    assert settings.spark.shuffle_partitions == 3
    assert settings.lake_dir == tmp_path / "h" / "lake"
    assert load_config(conf_dir=conf, environ=environ, home=tmp_path / "x").home == tmp_path / "x"


def test_errors_name_the_file_and_key(conf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark:\n  shuffle_partitions: lots\n")
    wrong = r"bad\.yaml: spark\.shuffle_partitions: .*whole number or 'auto'"
    with pytest.raises(ConfigError, match=wrong):
        load_config(bad, conf_dir=conf, environ={})
    bad.write_text("spark:\n  shufle_partitions: 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: spark\.shufle_partitions: unknown key"):
        load_config(bad, conf_dir=conf, environ={})
    with pytest.raises(ConfigError, match="DMP__SPARK__SHUFFLE_PARTITIONS"):
        load_config(conf_dir=conf, environ={"DMP__SPARK__SHUFFLE_PARTITIONS": "zero"})
    with pytest.raises(ConfigError, match=r"overlay .*nope\.yaml does not exist"):
        load_config(conf_dir=conf, env="nope", environ={})
    bad.write_text("spark: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, conf_dir=conf, environ={})


def test_unset_variable_without_default_is_an_error(conf: Path) -> None:
    (conf / "local.yaml").write_text("mlflow:\n  tracking_uri: ${TRACKING}\n")
    with pytest.raises(ConfigError, match=r"local\.yaml: mlflow\.tracking_uri: .*TRACKING"):
        load_config(conf_dir=conf, environ={})
    settings = load_config(conf_dir=conf, environ={"TRACKING": "http://127.0.0.1:5000"})
    assert settings.mlflow.tracking_uri == "http://127.0.0.1:5000"


def test_project_conf_loads() -> None:
    settings = load_config(conf_dir=Path(__file__).parents[2] / "conf", environ={})
    assert settings.lake.engine == "delta-rs"
    assert settings.spark.ui_enabled is False


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def test_alias_explosion_is_refused_in_one_line(conf: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    with pytest.raises(ConfigError, match=r"bomb\.yaml: refused: more than 100,000") as caught:
        load_config(bomb, conf_dir=conf, environ={})
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="environment variable DMP__SPARK__APP_NAME: refused"):
        load_config(conf_dir=conf, environ={"DMP__SPARK__APP_NAME": BILLION_LAUGHS})


def test_small_aliases_and_recursive_aliases(conf: Path, tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("spark:\n  app_name: &n mine\nmlflow:\n  experiment: *n\n")
    assert load_config(extra, conf_dir=conf, environ={}).spark.app_name == "mine"
    extra.write_text("spark: &s\n  app_name: [*s]\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: refused: an alias refers"):
        load_config(extra, conf_dir=conf, environ={})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DMP__SPARK__SHUFFLE_PARTITIONS": "[unclosed"}, "SHUFFLE_PARTITIONS: not valid YAML"),
        ({"DMP__SPARK__APP_NAME": "{a: 1"}, "DMP__SPARK__APP_NAME: not valid YAML"),
        ({"DMP__SPARK": "4", "DMP__SPARK__APP_NAME": "x"}, "DMP__SPARK already sets"),
    ],
)
def test_malformed_environment_values_are_one_line_errors(
    conf: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(conf_dir=conf, environ=environ)
    assert "\n" not in str(caught.value)


def test_latin1_config_is_an_error_and_a_bom_is_accepted(conf: Path, tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_bytes("spark:\n  app_name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"mine\.yaml: YAML file is not UTF-8 text"):
        load_config(extra, conf_dir=conf, environ={})
    extra.write_bytes("\ufeffspark:\n  app_name: caf\u00e9\n".encode())
    assert load_config(extra, conf_dir=conf, environ={}).spark.app_name == "caf\u00e9"


def test_truth_scoring_is_off_unless_a_truth_folder_is_configured(
    conf: Path, tmp_path: Path
) -> None:
    from dmp.errors import UserError
    from dmp.lookalike.entry import LOOKALIKE, LookalikeRequest

    (tmp_path / "truth").mkdir()  # a folder alone switches nothing on
    plain = load_config(home=tmp_path, conf_dir=conf, environ={})
    assert plain.truth_dir is None
    with pytest.raises(UserError, match=r"--truth-product .* evaluation\.truth_dir"):
        LOOKALIKE.bind(plain, LookalikeRequest(name="x", segment="vip", truth_product="P1"))
    on = load_config(home=tmp_path, conf_dir=conf, environ={"DMP__EVALUATION__TRUTH_DIR": "truth"})
    assert on.truth_dir == tmp_path / "truth"
    assert plain.with_truth().truth_dir == tmp_path / "truth"
    with pytest.raises(UserError, match="is not a folder"):
        _ = plain.with_truth(tmp_path / "elsewhere").truth_dir
