"""Property-based tests: validators and parsers never fail with anything but a clear validation error, and any
valid configuration's environment survives the env-file export."""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import answers, config, draft, exports, render, validators
from wizard.steps import CONFIG_STEPS, step_title
from wizard.validators import control_character

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALIDATORS = [
    fn for name, fn in inspect.getmembers(validators, inspect.isfunction)
    if fn.__module__ == validators.__name__ and not name.startswith("_")
    and name not in ("is_loopback_host", "stripped")
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=80),
                    st.from_regex(r"[a-z0-9.:/_-]{0,40}", fullmatch=True))


@FAST
@given(text=st.text(max_size=300), number=st.integers(-10**9, 10**9), index=st.integers(0, len(VALIDATORS) - 1))
def test_validators_return_or_raise_a_value_error_with_a_message(text, number, index):
    fn = VALIDATORS[index]
    value = number if fn is validators.port else text  # pydantic hands each validator its declared type
    params = list(inspect.signature(fn).parameters)
    args = (value, "thing") if len(params) == 2 else (value,)
    try:
        result = fn(*args)
    except ValueError as exc:
        assert str(exc).strip(), f"{fn.__name__} raised an empty message"
    else:
        assert result is not None


def _step_drafts():
    def for_step(step):
        providers = config.PROVIDER_MODELS.get(step)
        if providers:
            return st.sampled_from(list(providers) + ["bogus"]).flatmap(
                lambda p: st.builds(
                    lambda fields: {"provider": p, draft.provider_key(p): fields},
                    st.dictionaries(st.sampled_from(list(draft.section_model(step, {"provider": p}).model_fields)
                                                    if p in providers else ["x"]), scalars, max_size=6),
                )
            )
        return st.dictionaries(st.sampled_from(list(config.SECTION_MODELS[step].model_fields) + ["unknown"]),
                               scalars, max_size=6)

    return st.sampled_from(CONFIG_STEPS).flatmap(lambda step: st.tuples(st.just(step), for_step(step)))


@FAST
@given(step_and_draft=_step_drafts(), tail=st.text(max_size=60))
def test_validate_step_never_raises(step_and_draft, tail):
    step, values = step_and_draft
    secret = "CANARY-" + tail
    secrets = {secret_id: secret for secret_id in draft.secret_ids(step)}
    section, errors = draft.validate_step(step, values, secrets)
    assert (section is None) == bool(errors)
    for error in errors:
        assert str(error).startswith(f"{step_title(error.step)} › ")
        assert error.message.strip()
        assert "CANARY-" not in str(error), "a secret value leaked into an error message"


@FAST
@given(text=st.text(max_size=400))
def test_answers_parser_only_raises_answers_invalid(text):
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".toml", ".yaml"):
            path = Path(folder) / f"answers{suffix}"
            path.write_text(text, encoding="utf-8")
            try:
                answers.load(path, allow_inline=True)
            except answers.AnswersInvalid as exc:
                assert exc.errors and all(error.message for error in exc.errors)


@FAST
@given(
    password=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and not control_character(s)),
    extra=st.lists(st.text(max_size=40).filter(lambda s: not control_character(s)), max_size=3),
    port=st.integers(1, 65535),
)
def test_any_valid_configuration_round_trips_through_the_env_file(password, extra, port):
    values = {
        "database": {"provider": "mysql", "mysql": {"host": "db.example.com"}},
        "cache": {"provider": "redis", "redis": {"host": "redis.example.com", "user": "u"}},
        "server": {"port": port, "extra_env": [{"name": f"GORILLA_X{i}", "value": v} for i, v in enumerate(extra)]},
    }
    secrets = {"database.mysql.password": password, "cache.redis.password": password}
    cfg = draft.build_config(values, secrets)
    text = exports.env_file(cfg, with_secrets=True)
    parsed = {}
    for line in text.split("\n"):  # docker's --env-file reading: NAME=rest, literally
        line = line.lstrip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            parsed[name] = value
    assert parsed == render.environment_dict(cfg)
