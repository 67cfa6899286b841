"""Local state (var/: the SQLite store, the development secrets) lives under ENGAGE_HOME, the checkout by
default, not under whatever directory a command is run from: engagectl run elsewhere acts on the same
store and signs with the same secret as `make run`."""

import os
import subprocess
import sys
from pathlib import Path

import jwt

from server.config import Settings
from tests.conftest import REPO_ROOT

ENGAGECTL = str(Path(sys.executable).parent / "engagectl")


def engagectl(*args: str, cwd: Path, home: Path) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ENGAGE_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ENGAGE_HOME": str(home), "ENGAGE_LOG_LEVEL": "WARNING"}
    cwd.mkdir(exist_ok=True)
    done = subprocess.run([ENGAGECTL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_engagectl_in_any_directory_reaches_the_same_store_and_secret(tmp_path):
    home = tmp_path / "home"
    engagectl("db", "upgrade", cwd=tmp_path / "a", home=home)
    engagectl("tenants", "create", "faraway-bank", cwd=tmp_path / "b", home=home)
    listed = engagectl("tenants", "list", cwd=tmp_path / "c", home=home)
    token = engagectl("token", "mint", "--tenant", "faraway-bank", "--role", "service", "--sub", "loader",
                      cwd=Path("/"), home=home).strip()

    assert "faraway-bank" in listed
    secret = (home / "var" / "jwt-secret").read_text().strip()
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="engage-api")
    assert claims["tenant"] == "faraway-bank"
    assert {"engage.db", "jwt-secret"} <= {p.name for p in (home / "var").iterdir()}
    assert [d for d in ("a", "b", "c") if (tmp_path / d / "var").exists()] == []


def test_var_defaults_to_the_checkout_whatever_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("ENGAGE_HOME", raising=False)
    monkeypatch.delenv("ENGAGE_VAR_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert (settings.home, settings.var_dir) == (REPO_ROOT, REPO_ROOT / "var")
    assert settings.effective_database_url() == f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'engage.db'}"


def test_a_relative_var_dir_is_taken_inside_engage_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENGAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ENGAGE_VAR_DIR", "state")
    assert Settings(_env_file=None).var_dir == (tmp_path / "home").resolve() / "state"
    monkeypatch.setenv("ENGAGE_VAR_DIR", str(tmp_path / "elsewhere"))
    assert Settings(_env_file=None).var_dir == tmp_path / "elsewhere"
