"""Config: loaded once, every key checked, errors that name the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import ConfigError, load, parse

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid() -> None:
    config = load(REPO / "config.toml")
    assert config.queue.policy == "balanced"
    assert "civil society" in config.meeting.groups


def test_shipped_config_sets_and_documents_every_limit() -> None:
    import dataclasses
    import tomllib

    from assistant.config import LimitsConfig

    shipped = tomllib.loads((REPO / "config.toml").read_text())["limits"]
    assert set(shipped) == {f.name for f in dataclasses.fields(LimitsConfig)}
    assert load(REPO / "config.toml").limits == LimitsConfig()  # the file says what the defaults are


def test_defaults_without_a_file() -> None:
    config = load(None)
    assert config.server.port == 8080 and config.asr.compute_type == "int8"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"sever": {}}, "unknown section [sever]"),
        ({"server": {"prot": 1}}, "unknown key server.prot; allowed keys in [server]: host, port"),
        ({"server": {"port": "80"}}, "server.port has value '80'; expected a whole number"),
        ({"server": {"port": 70000}}, "server.port has value 70000; allowed: 0 to 65535"),
        ({"queue": {"policy": "random"}}, "queue.policy has value 'random'; allowed: \"balanced\" or \"fifo\""),
        ({"queue": {"alternate_after": 0}}, "queue.alternate_after has value 0; allowed: 1 to 100"),
        ({"queue": {"max_overtakes": True}}, "queue.max_overtakes has value True; expected a whole number"),
        ({"server": {"admin_token": "short"}}, "at least 16 characters"),
        ({"server": {"synchronous": "off"}}, "server.synchronous has value 'off'; allowed: \"full\" or \"normal\""),
        ({"meeting": {"timezone": "Moon/Base"}}, "IANA time zone"),
        ({"meeting": {"groups": ["a", "a"]}}, "without repeats"),
        ({"asr": {"compute_type": "int4"}}, "asr.compute_type has value 'int4'"),
        ({"asr": {"encoder_s": 60}}, "asr.encoder_s has value 60.0; allowed: 5 to 30 seconds"),
        ({"asr": {"threads": -1}}, "asr.threads has value -1; allowed: 0 (half the CPUs) to 256"),
        ({"limits": {"client_queue": 1}}, "limits.client_queue has value 1; allowed: 10 to 1000000"),
        ({"limits": {"sockets_per_token": 0}}, "limits.sockets_per_token has value 0; allowed: 1 to 1000"),
        ({"limits": {"audio_burst_s": 0}}, "limits.audio_burst_s has value 0.0; allowed: 1 to 600 seconds"),
        ({"limits": {"max_json_depth": 1000}}, "limits.max_json_depth has value 1000; allowed: 4 to 200"),
        ({"limits": {"statement_bytes_per_participant": 10}}, "100000 (max_statement_chars) to"),
        ({"limits": {"client_queue_bytes": 10}}, "limits.client_queue_bytes has value 10"),
    ],
)
def test_bad_values_are_refused_by_name(raw, message) -> None:
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert message in str(err.value)


def test_cli_refuses_bad_config(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[queue]\npolicy = 'lottery'\n")
    assert main(["serve", "--config", str(bad)]) == 2
    assert "queue.policy has value 'lottery'" in capsys.readouterr().err
    bad.write_text("[queue\n")
    assert main(["serve", "--config", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["serve", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
