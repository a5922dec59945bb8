import os
import subprocess
import sys

import pytest

from smarketing.env import ConfigError, env_bool, env_int


def test_env_bool_fails_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigError, match="X_FLAG"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_FLAG", "Yes")
    assert env_bool("X_FLAG") is True


def test_env_int_fails_loudly(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ConfigError, match="not an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ConfigError, match="at least 5"):
        env_int("X_NUM", 10, minimum=5)


def _run_check(tmp_path, extra_env):
    drop = ("DATABASE_URL", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"SMARKETING_DATA_DIR": str(tmp_path), **extra_env})
    return subprocess.run(
        [sys.executable, "-m", "smarketing", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
    )


def test_check_deploy_is_clean_for_production_settings(tmp_path):
    result = _run_check(
        tmp_path,
        {
            "HTTPS": "true",
            "ALLOWED_HOSTS": "crm.example.com",
            "SECRET_KEY": "x" * 20 + "-production-secret-key-0123456789",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_key_is_generated_once_into_data_dir(tmp_path):
    result = _run_check(tmp_path, {})
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    first = key_file.read_text()
    _run_check(tmp_path, {})
    assert key_file.read_text() == first
    assert len(first) >= 50
    assert result.returncode in (0, 1)


def test_bad_database_url_is_refused(tmp_path):
    result = _run_check(tmp_path, {"DATABASE_URL": "mysql://root@127.0.0.1/test"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_environment_is_read_in_settings_only():
    """One settings module: no app reads an environment variable of its own (docs/configuration.md lists them)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    reads = re.compile(r"os\.environ\.get\(|os\.getenv\(|\benv_(?:str|int|bool|list)\(")
    allowed = {"settings.py", "env.py"}
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name not in allowed and "tests" not in path.parts and reads.search(path.read_text())
    ]
    assert offenders == []
