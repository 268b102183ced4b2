"""The key of internal ids: from DMP_SECRET or a 0600 file outside the data root."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dmp.errors import UserError
from dmp.privacy.secret import default_secret_file, load_secret

SECRET = "0123456789abcdef-secret"


def test_the_environment_variable_comes_first(tmp_path: Path) -> None:
    env = {"DMP_SECRET": f"  {SECRET}\n", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert load_secret(None, tmp_path / "home", env) == SECRET.encode()
    assert not (tmp_path / "cfg").exists()  # nothing generated


def test_a_missing_default_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    path = default_secret_file(env)
    assert path == tmp_path / "cfg" / "dmp" / "secret"
    first = load_secret(None, tmp_path / "home", env)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(None, tmp_path / "home", env) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary left


def test_a_configured_file_is_read_and_never_generated(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "dmp.key"
    with pytest.raises(UserError, match=r"dmp.key cannot be read .*privacy.secret_file"):
        load_secret(path, tmp_path / "home", {})
    assert not path.exists()
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    assert load_secret(path, tmp_path / "home", {}) == SECRET.encode()


def test_an_unreadable_secret_is_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(UserError) as raised:
        load_secret(folder, tmp_path / "home", {})
    assert "\n" not in str(raised.value) and "cannot be read" in str(raised.value)
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 20)
    with pytest.raises(UserError, match="cannot be read"):
        load_secret(binary, tmp_path / "home", {})


def test_a_secret_inside_the_data_root_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inside = home / "lake" / "secret"
    inside.parent.mkdir(parents=True)
    inside.write_text(SECRET)
    with pytest.raises(UserError, match="inside the data root"):
        load_secret(inside, home, {})
    env = {"XDG_CONFIG_HOME": str(home / "cfg")}
    with pytest.raises(UserError, match="inside the data root"):
        load_secret(None, home, env)
    assert not (home / "cfg").exists()


@pytest.mark.parametrize("secret", ["short", " " * 20, "x" * 15])
def test_short_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    path = tmp_path / "secret"
    path.write_text(secret)
    with pytest.raises(UserError, match="at least 16"):
        load_secret(path, tmp_path / "home", {})


def test_settings_read_the_configured_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmp.config import load_config

    path = tmp_path / "dmp.key"
    path.write_text(SECRET)
    monkeypatch.delenv("DMP_SECRET")
    settings = load_config(home=tmp_path / "home", environ={"DMP__PRIVACY__SECRET_FILE": str(path)})
    assert settings.privacy.secret_file == path
    assert settings.id_key() == SECRET.encode()
