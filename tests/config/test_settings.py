"""A wrong huitong.toml stops start-up with a message naming the file, the key and what fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.demo.config import POLICY_PATH
from huitong.settings import ConfigError, load_settings
from huitong.sources import build_connectors

MAPPING = POLICY_PATH.parent / "mappings" / "finance.toml"
GOOD = f"""
[hub]
store_url = "sqlite+aiosqlite:///hub.db"
policy = "{POLICY_PATH}"

[auth]
hs256_secret_env = "T_SECRET"

[sources.finance]
kind = "sql"
url = "sqlite+aiosqlite:///finance.db"
mapping = "{MAPPING}"
"""
ENV = {"T_SECRET": "s" * 40}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "huitong.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), ENV)
    assert settings.policy_path == POLICY_PATH
    assert settings.auth.hs256_secret == "s" * 40
    assert set(build_connectors(settings.sources)) == {"finance"}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("[hub]", "[hubb]"), "[hubb]: unknown table"),
        (lambda t: t.replace('policy = ', 'policyy = '), "[hub].policyy: unknown key"),
        (lambda t: t.replace('kind = "sql"', 'kind = "ftp"'), "kind: unknown kind 'ftp'"),
        (lambda t: t.replace('kind = "sql"', "kind = 3"), ".kind: expected one of"),
        (lambda t: t.replace('url = "sqlite+aiosqlite:///finance.db"', 'url = "nope"'),
         "[sources.finance].url: expected an SQLAlchemy async URL"),
        (lambda t: t.replace(str(MAPPING), "missing.toml"), ".mapping: file"),
        (lambda t: t + '\n[hub2]\n', "[hub2]: unknown table"),
        (lambda t: t.replace("[hub]", "[hub]\nmode = \"prod\""), "[hub].mode: expected one of"),
        (lambda t: t.replace("[hub]", "[hub]\nmax_body_bytes = \"big\""),
         "[hub].max_body_bytes: expected an integer"),
        (lambda t: t.replace('hs256_secret_env = "T_SECRET"', "hs256_secret_env = 5"),
         "[auth].hs256_secret_env"),
        (lambda t: t.replace('store_url = "sqlite+aiosqlite:///hub.db"',
                             'store_url_env = "NOT_SET_ANYWHERE"'),
         "environment variable NOT_SET_ANYWHERE is not set"),
        (lambda t: t + "\n[sources.x\n", "not valid TOML"),
    ],
)
def test_wrong_files_name_file_key_and_expectation(tmp_path: Path, edit: object,
                                                   expected: str) -> None:
    path = _write(tmp_path, edit(GOOD))  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        build_connectors(load_settings(path, ENV).sources)
    message = str(info.value)
    assert str(path) in message or str(tmp_path) in message
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", ENV)


def test_mapping_that_does_not_fit_the_catalog(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[entities.Payment]\ntable = "t"\n[entities.Payment.fields]\n'
                       'id = "a"\nnotAField = "b"\n', encoding="utf-8")
    path = _write(tmp_path, GOOD.replace(str(MAPPING), str(mapping)))
    with pytest.raises(ConfigError, match=r"entities\.Payment\.fields\.notAField: Payment has no"):
        build_connectors(load_settings(path, ENV).sources)


def test_two_sources_for_one_entity(tmp_path: Path) -> None:
    text = GOOD + GOOD[GOOD.index("[sources.finance]"):].replace("finance]", "finance2]")
    with pytest.raises(ConfigError, match="already served by source 'finance'"):
        build_connectors(load_settings(_write(tmp_path, text), ENV).sources)
