"""JSON fields for args, kwargs and headers that accept what users write today.

django-celery-beat stored these as JSON text, so code passes ``json.dumps([4, 5])``;
plain lists and dicts work too. Either way the column holds the JSON value and the
attribute reads back as a list or dict.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def _decode(value: Any) -> Any:
    if isinstance(value, (str, bytes, bytearray)):
        text = value.decode() if isinstance(value, (bytes, bytearray)) else value
        if not text.strip():
            return None
        return json.loads(text)
    return value


class _JSONContainerField(models.JSONField):
    container: type = object
    type_message: Any = ""

    def to_python(self, value: Any) -> Any:
        try:
            value = _decode(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("Enter valid JSON (%(error)s at line %(line)s, column %(column)s)."),
                code="invalid_json",
                params={"error": exc.msg, "line": exc.lineno, "column": exc.colno},
            ) from exc
        return self.container() if value is None else value

    def get_prep_value(self, value: Any) -> Any:
        with contextlib.suppress(json.JSONDecodeError):  # save() refuses bad JSON first
            value = _decode(value)
        return super().get_prep_value(self.container() if value is None else value)

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if not isinstance(value, self.container):
            raise ValidationError(
                self.type_message, code="invalid_type", params={"type": type(value).__name__}
            )


class JSONListField(_JSONContainerField):
    """A JSON array (positional arguments)."""

    container = list
    empty_values = [None, "", []]  # an empty dict is not an empty list: validate it
    type_message = _('Enter a JSON list such as [1, "two"], not a %(type)s.')


class JSONDictField(_JSONContainerField):
    """A JSON object (keyword arguments, headers)."""

    container = dict
    empty_values = [None, "", {}]
    type_message = _('Enter a JSON object such as {"key": "value"}, not a %(type)s.')
