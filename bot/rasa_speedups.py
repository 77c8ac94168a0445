"""Speed-ups of Rasa 3.6 internals that change no behaviour, installed when the server loads the bot's channel.

Rasa checks every action-server reply with `jsonschema.validate(reply, schema)`, which first re-checks the
schema itself (Rasa's large, constant event schema) against the JSON Schema metaschema: 42 ms per custom
action call on a 2-core machine, a third of a routine bot turn (docs/benchmarks.md, "Bot turn"). Here the
validator is built, and the schema checked, once per process; every reply is still validated against the
same schema, and an invalid one goes through Rasa's own check, which raises its own error.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Text

from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_rasa_validate_action_result = RemoteAction._validate_action_result


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if action_response_validator().is_valid(result):
        return True
    return _rasa_validate_action_result(self, result)  # raises Rasa's ValidationError, with its message


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
