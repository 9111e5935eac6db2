"""What keeps bad input out of the API, as a 4xx problem before it goes further: the JSON parser
(refuses documents nested too deeply), the base of every input serializer (refuses fields it does
not declare) and the paginator (refuses a limit or offset out of range).

Kept apart from core.api: DRF reads its parser and paginator settings while ``rest_framework.views``
is being imported, which core.api imports.
"""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, serializers
from rest_framework.pagination import LimitOffsetPagination

MSG_TOO_DEEP = _("The JSON document is nested too deeply.")
MSG_UNKNOWN_FIELD = _("Unknown field: this request does not take it.")
MSG_PAGE_PARAMETER = _("Give a whole number from %(min)s to %(max)s.")

MAX_JSON_DEPTH = 32  # far above any request body the API takes (a project's texts: 3 levels)
MAX_UNKNOWN_FIELDS_LISTED = 20


def _nested_deeper_than(value, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (iteratively: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents nested more than ``MAX_JSON_DEPTH`` levels (400) —
    a few kilobytes of brackets would otherwise exhaust the recursion limit of the decoder or of
    whatever walks the data next."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(MSG_TOO_DEEP) from None
        if _nested_deeper_than(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(MSG_TOO_DEEP)
        return data


class InputSerializer(serializers.Serializer):
    """The base of every API request body: a field it does not declare is refused (400, with the
    other errors), never silently dropped — a misspelt field must not look accepted. Nested inputs
    derive from it too, so this holds at every level."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            names = sorted(str(name) for name in data if name not in self.fields)
            unknown = {name: [MSG_UNKNOWN_FIELD] for name in names[:MAX_UNKNOWN_FIELDS_LISTED]}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class Pagination(LimitOffsetPagination):
    """Limit/offset pages. A ``limit`` or ``offset`` that is not a whole number in range is a 400
    (DRF's default would pass any size on to the database, which fails past 2^63)."""

    max_limit = 200
    max_offset = 1_000_000_000

    def get_limit(self, request):
        return self._parameter(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request):
        return self._parameter(request, self.offset_query_param, 0, self.max_offset, 0)

    @staticmethod
    def _parameter(request, name: str, least: int, most: int, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if raw.isascii() and raw.isdigit() and least <= int(raw) <= most:
            return int(raw)
        raise serializers.ValidationError({name: [MSG_PAGE_PARAMETER % {"min": least, "max": most}]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, self.max_offset)}
        for parameter in parameters:
            if parameter["name"] in bounds:
                least, most = bounds[parameter["name"]]
                parameter["schema"] = {**parameter["schema"], "minimum": least, "maximum": most}
        return parameters


class NoInput(InputSerializer):
    """The body of a request that takes none: nothing, or an empty object. Any field in it is unknown,
    so a client that sends data to the wrong endpoint hears so instead of seeing it ignored."""


def check_no_input(request) -> None:
    NoInput(data=request.data).is_valid(raise_exception=True)
