"""Validates HTTP responses against the response schemas of an OpenAPI 3.0 document.

The documents are read at run time from ../shared/specs (beside the repository), never copied.
A response is checked against the schema the document declares for its path + method + status
(or the operation's `default` response), with `$ref`s resolved over the whole document.

Interpretation choices (printed in the summary so nobody has to guess):
- Responses are validated with OAS30ReadValidator: `readOnly` properties are part of the
  response, `writeOnly` ones may be absent.
- `format` is asserted (date, date-time, uuid, ...), since a date in the wrong shape is a real
  fidelity bug.
- `nullable: true` admits null for the whole Schema Object, including when it sits beside
  `allOf`/`$ref`/`enum` (OpenAPI 3.0.0's wording, and how Plaid's and GoCardless's own documents
  use it). Strict OAS 3.0.3 would reject those nulls; each null admitted only through this rule
  is counted and reported so the leniency is visible.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

try:
    import yaml

    _YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # pragma: no cover - yaml is in requirements.txt
    yaml = None

LENIENT_NULLS: Counter = Counter()


def _nullable_aware(keyword, original):
    def check(validator, value, instance, schema):
        errors = list(original(validator, value, instance, schema))
        if errors and instance is None and schema.get("nullable") is True:
            target = value[0].get("$ref", "?") if keyword in ("allOf", "anyOf", "oneOf") and value and isinstance(value[0], dict) else value
            LENIENT_NULLS[f"{keyword}: {target}" if keyword != "$ref" else f"$ref: {value}"] += 1
            return
        yield from errors

    return check


ResponseValidator = extend(
    OAS30ReadValidator,
    validators={k: _nullable_aware(k, v) for k, v in OAS30ReadValidator.VALIDATORS.items() if k != "type"},
)


def load_document(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        if yaml is None:
            raise SystemExit("PyYAML is needed to read " + str(path))
        return yaml.load(text, Loader=_YAML_LOADER)
    return json.loads(text)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@dataclass
class Outcome:
    provider: str
    method: str
    template: str
    status: int
    schema_name: str
    count: int = 0
    errors: dict = field(default_factory=dict)  # (path, keyword) -> [message, occurrences]
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.note


class SpecChecker:
    def __init__(self, provider: str, document_path: Path, path_prefix: str = ""):
        self.provider = provider
        self.document_path = document_path
        self.doc = load_document(document_path)
        self.path_prefix = path_prefix
        self.uri = f"urn:banksync-fidelity:{provider}"
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry = Registry().with_resource(self.uri, resource)
        self._validators: dict = {}
        self.outcomes: dict = {}

    def _response_schema(self, template: str, method: str, status: int):
        operation = self.doc.get("paths", {}).get(template, {}).get(method.lower())
        if operation is None:
            return None, None, f"{method} {template} is not in {self.document_path.name}"
        responses = operation.get("responses", {})
        key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        if key is None:
            declared = ", ".join(sorted(responses))
            return None, None, f"status {status} is not declared for {method} {template} (declared: {declared})"
        content = responses[key].get("content", {})
        media = "application/json" if "application/json" in content else next(iter(content), None)
        if media is None:
            return None, None, f"response {key} of {method} {template} declares no body schema"
        schema = content[media]["schema"]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
        elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
            name = "array of " + schema["items"]["$ref"].rsplit("/", 1)[-1]
        else:
            name = "inline schema"
        pointer = "/".join(["", "paths", _escape(template), method.lower(), "responses", key, "content", _escape(media), "schema"])
        return name, pointer, None

    def check(self, method: str, template: str, status: int, body: bytes) -> Outcome:
        """Validates one response; returns the (accumulating) outcome for its response type."""
        name, pointer, problem = self._response_schema(template, method, status)
        key = (method, template, status)
        outcome = self.outcomes.get(key)
        if outcome is None:
            outcome = self.outcomes[key] = Outcome(self.provider, method, template, status, name or "?")
        outcome.count += 1
        if problem:
            outcome.note = problem
            return outcome
        try:
            instance = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            outcome.errors.setdefault(("$", "json", "", ""), [f"body is not JSON ({error}): {body[:120]!r}", 0])[1] += 1
            return outcome
        validator = self._validators.get(pointer)
        if validator is None:
            validator = self._validators[pointer] = ResponseValidator(
                {"$ref": f"{self.uri}#{pointer}"}, registry=self.registry, format_checker=oas30_format_checker
            )
        for error in validator.iter_errors(instance):
            self._record(outcome, error)
        return outcome

    def rejects(self, method: str, template: str, status: int, instance) -> bool:
        """Self-test: True if the checker finds errors in a body known to be wrong."""
        saved = dict(self.outcomes)
        try:
            outcome = self.check(method, template, status, json.dumps(instance).encode())
            return bool(outcome.errors)
        finally:
            self.outcomes = saved

    @staticmethod
    def _record(outcome: Outcome, error) -> None:
        # For anyOf/oneOf, name the closest branch's complaint as well.
        if error.instance is None and error.validator == "type" and error.message.startswith("None is not of type"):
            return  # the same null was already reported as "not nullable"
        leaf = best_match(error.context) if error.context else None
        path = error.json_path
        message = error.message
        if message == "None for not nullable":
            message = f"null sent, schema requires type {error.validator_value!r} and is not nullable"
        if leaf is not None:
            message = f"{message}; closest branch: {leaf.json_path}: {leaf.message}"
        keyword = error.validator
        schema_path = "/".join(str(p) for p in error.relative_schema_path)
        norm = re.sub(r"\[\d+\]", "[*]", path)
        # One line per distinct problem: required/additionalProperties name the property.
        detail = message if keyword in ("required", "additionalProperties") else ""
        slot = outcome.errors.setdefault((norm, keyword, schema_path, detail), [_shorten(message), 0])
        slot[1] += 1


def _shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report(checkers: list, flow_failures: list, label: str) -> int:
    """Prints one line per response type, the errors, and the summary. Returns the exit code."""
    passed = failed = responses = 0
    for checker in checkers:
        for outcome in sorted(checker.outcomes.values(), key=lambda o: (o.template, o.method, o.status)):
            responses += outcome.count
            head = f"{outcome.provider:<10} {outcome.method:<6} {outcome.template} {outcome.status} -> {outcome.schema_name} (x{outcome.count})"
            if outcome.ok:
                passed += 1
                print(f"OK   {head}")
                continue
            failed += 1
            print(f"FAIL {head}")
            if outcome.note:
                print(f"       {outcome.note}")
            for (path, keyword, schema_path, _), (message, n) in sorted(outcome.errors.items()):
                print(f"       {path}: {message}  [schema {keyword} at {schema_path}; {n} occurrence(s)]")
    for failure in flow_failures:
        failed += 1
        print(f"FAIL flow  {failure}")
    if LENIENT_NULLS:
        admitted = ", ".join(f"{k} (x{n})" for k, n in sorted(LENIENT_NULLS.items()))
        print(f"note: nulls admitted only by 'nullable: true' beside allOf/$ref/enum (OAS 3.0.0 reading): {admitted}")
    print(f"{label}: {responses} responses checked over {passed + failed - len(flow_failures)} response types, {len(flow_failures)} flow failures")
    print(f"{label}: {passed} passed, {failed} failed")
    return 1 if failed else 0
