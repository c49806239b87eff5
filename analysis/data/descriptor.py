"""Read ``datapackage.json`` (a Frictionless Data Package, v2) into typed specifications.

Only the part of the Table Schema standard this project uses is supported; anything else
in a descriptor is reported as a problem rather than silently ignored. The standard-level
validity of the shipped descriptor is checked by the test suite with the ``frictionless``
library; this module is what runs when tables are loaded. Patterns are RE2 expressions,
matched in time linear in the value's length: a pattern cannot backtrack catastrophically.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

from analysis.data.problems import Problem

DESCRIPTOR_NAME = "datapackage.json"
SUPPORTED_TYPES = ("string", "integer", "number", "yearmonth", "date")
NUMERIC_TYPES = ("integer", "number")
_CONSTRAINTS = {
    "required": (bool,),
    "unique": (bool,),
    "minimum": (int, float),
    "maximum": (int, float),
    "exclusiveMinimum": (int, float),
    "enum": (list,),
    "pattern": (str,),
}
_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SHA256_PATTERN = re.compile(r"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a table: type, unit and constraints (numbers in the column's unit)."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    required: bool = False
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    bibliography_key: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """``fields`` of this table must match ``reference_fields`` of some row of ``resource``."""

    fields: tuple[str, ...]
    resource: str
    reference_fields: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """A tabular resource: where its CSV is and what its columns must hold."""

    name: str
    path: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)


@dataclass(frozen=True)
class ExternalSpec:
    """A dataset that is fetched (never committed): pinned address and checksum."""

    name: str
    title: str
    description: str
    path: str
    url: str
    sha256: str
    mirror_name: str
    rows: int | None
    citations: tuple[str, ...]
    licence_note: str


@dataclass(frozen=True)
class PackageSpec:
    """The whole descriptor, resolved against the directory it lives in."""

    root: Path
    descriptor_path: Path
    bibliography: Path
    tables: dict[str, TableSpec]
    externals: dict[str, ExternalSpec]


class _Collector:
    """Accumulates descriptor problems, each located by a JSON path such as ``resources[models].path``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.file, None, where, message))


@functools.lru_cache(maxsize=256)
def compiled_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (linear-time matching); raises :class:`re2.error` when RE2
    cannot compile it (a back-reference or look-around, or a pattern too large)."""
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def _list_of(value: Any, where: str, issues: _Collector) -> list[Any]:
    """``value`` when it is a JSON list; otherwise a problem and an empty list (absent = empty)."""
    if isinstance(value, list):
        return value
    issues.add(where, f"must be a list, got {_json_type(value)}")
    return []


def _json_type(value: Any) -> str:
    names = {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string",
             dict: "an object", list: "a list"}
    return names.get(type(value), type(value).__name__)


def load_package(data_dir: Path) -> tuple[PackageSpec | None, list[Problem]]:
    """Read and check ``data_dir/datapackage.json``; the spec is ``None`` when unusable."""
    path = data_dir / DESCRIPTOR_NAME
    file = str(path)
    if not data_dir.is_dir():
        return None, [Problem(str(data_dir), None, None, "data directory not found")]
    if not path.is_file():
        return None, [Problem(file, None, None, "data package descriptor not found; every data directory needs one")]
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        return None, [Problem(file, None, None, f"cannot read the file: {error.strerror or error}")]
    except UnicodeDecodeError as error:
        return None, [Problem(file, None, None, f"not valid UTF-8 text (byte {error.start})")]
    except json.JSONDecodeError as error:
        return None, [Problem(file, error.lineno, None, f"invalid JSON: {error.msg} (column {error.colno})")]
    except ValueError as error:  # an integer longer than Python converts
        return None, [Problem(file, None, None, f"invalid JSON: {error}")]
    except RecursionError:
        return None, [Problem(file, None, None, "invalid JSON: nested too deeply")]

    issues = _Collector(file)
    if not isinstance(raw, dict):
        issues.add("$", "the descriptor must be a JSON object")
        return None, issues.problems

    bibliography = raw.get("bibliography")
    if not isinstance(bibliography, str) or not bibliography:
        issues.add("bibliography", "missing: path of the BibTeX file that `source` keys refer to")

    resources = raw.get("resources")
    tables: dict[str, TableSpec] = {}
    if not isinstance(resources, list) or not resources:
        issues.add("resources", "missing or empty: expected a list of table resources")
    else:
        broken: set[str] = set()
        for index, resource in enumerate(resources):
            table = _read_resource(resource, index, issues)
            if table is None:
                if isinstance(resource, dict) and isinstance(resource.get("name"), str):
                    broken.add(resource["name"])
                continue
            if table.name in tables:
                issues.add(f"resources[{index}].name", f"duplicate resource name '{table.name}'")
                continue
            tables[table.name] = table
        _check_foreign_key_targets(tables, broken, issues)

    externals: dict[str, ExternalSpec] = {}
    for index, item in enumerate(_list_of(raw.get("externalResources", []), "externalResources", issues)):
        external = _read_external(item, index, issues)
        if external is not None:
            externals[external.name] = external

    if issues.problems:
        return None, issues.problems
    spec = PackageSpec(
        root=data_dir,
        descriptor_path=path,
        bibliography=(data_dir / str(bibliography)),
        tables=tables,
        externals=externals,
    )
    return spec, []


def _read_resource(resource: Any, index: int, issues: _Collector) -> TableSpec | None:
    where = f"resources[{index}]"
    if not isinstance(resource, dict):
        issues.add(where, "a resource must be a JSON object")
        return None
    name = resource.get("name")
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        issues.add(f"{where}.name", "missing or invalid: lower-case letters, digits, '.', '_' or '-'")
        return None
    where = f"resources[{name}]"
    path = resource.get("path")
    if not isinstance(path, str) or not path.endswith(".csv"):
        issues.add(f"{where}.path", "missing or not a .csv file name")
        return None
    if Path(path).is_absolute() or ".." in Path(path).parts:
        issues.add(f"{where}.path", f"'{path}' must be a relative path inside the data directory")
        return None
    schema = resource.get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
        issues.add(f"{where}.schema.fields", "missing or empty: expected a list of field descriptors")
        return None
    before = len(issues.problems)
    fields: list[FieldSpec] = []
    rejected: set[str] = set()  # fields already reported: keys naming them are not reported again
    for field_index, field in enumerate(schema["fields"]):
        spec = _read_field(field, f"{where}.schema.fields[{field_index}]", issues)
        if spec is None:
            if isinstance(field, dict) and isinstance(field.get("name"), str):
                rejected.add(field["name"])
            continue
        if spec.name in {existing.name for existing in fields}:
            issues.add(f"{where}.schema.fields[{spec.name}]", f"duplicate field name '{spec.name}'")
            continue
        fields.append(spec)
    names = {field.name for field in fields}
    primary_key = _name_list(schema.get("primaryKey", []))
    if primary_key is None:
        issues.add(f"{where}.schema.primaryKey", "must be a field name or a list of field names")
        primary_key = ()
    for key in primary_key:
        if key not in names and key not in rejected:
            issues.add(f"{where}.schema.primaryKey", f"'{key}' is not a field of this resource")
    foreign_keys: list[ForeignKey] = []
    for fk_index, fk in enumerate(_list_of(schema.get("foreignKeys", []), f"{where}.schema.foreignKeys", issues)):
        fk_where = f"{where}.schema.foreignKeys[{fk_index}]"
        reference = fk.get("reference") if isinstance(fk, dict) else None
        own = _name_list(fk.get("fields")) if isinstance(fk, dict) else None
        theirs = _name_list(reference.get("fields")) if isinstance(reference, dict) else None
        target = reference.get("resource") if isinstance(reference, dict) else None
        if not own or not theirs or not isinstance(target, str) or len(own) != len(theirs):
            issues.add(fk_where, "expected {fields, reference: {resource, fields}} with equally many fields")
            continue
        for key in own:
            if key not in names and key not in rejected:
                issues.add(f"{fk_where}.fields", f"'{key}' is not a field of this resource")
        foreign_keys.append(ForeignKey(own, target, theirs))
    if len(issues.problems) > before:
        return None
    return TableSpec(
        name=name,
        path=path,
        title=str(resource.get("title", name)),
        description=str(resource.get("description", "")),
        fields=tuple(fields),
        primary_key=primary_key,
        foreign_keys=tuple(foreign_keys),
    )


def _read_field(field: Any, where: str, issues: _Collector) -> FieldSpec | None:
    if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not field["name"]:
        issues.add(where, "a field needs a non-empty string 'name'")
        return None
    name = field["name"]
    where = where.rsplit("[", 1)[0] + f"[{name}]"
    field_type = field.get("type", "string")
    if field_type not in SUPPORTED_TYPES:
        issues.add(f"{where}.type", f"unsupported type '{field_type}'; expected one of: {', '.join(SUPPORTED_TYPES)}")
        return None
    constraints = field.get("constraints", {})
    if not isinstance(constraints, dict):
        issues.add(f"{where}.constraints", "must be a JSON object")
        return None
    ok = True
    for key, value in constraints.items():
        allowed = _CONSTRAINTS.get(key)
        if allowed is None:
            issues.add(f"{where}.constraints.{key}", f"unsupported constraint '{key}'")
            ok = False
        elif not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            issues.add(f"{where}.constraints.{key}", f"wrong value type {type(value).__name__}")
            ok = False
        elif key in ("minimum", "maximum", "exclusiveMinimum") and field_type not in NUMERIC_TYPES:
            issues.add(f"{where}.constraints.{key}", f"not supported for type '{field_type}'")
            ok = False
        elif key == "pattern":
            try:
                compiled_pattern(value)
            except re2.error as error:
                reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) \
                    else str(error)
                issues.add(f"{where}.constraints.pattern", f"invalid regular expression: {reason}")
                ok = False
        elif key == "enum" and not all(isinstance(item, str) for item in value):
            issues.add(f"{where}.constraints.enum", "enum values must be strings")
            ok = False
    minimum, maximum = constraints.get("minimum"), constraints.get("maximum")
    if ok and minimum is not None and maximum is not None and minimum > maximum:
        issues.add(f"{where}.constraints", f"minimum {minimum} is greater than maximum {maximum}")
        ok = False
    if not ok:
        return None
    return FieldSpec(
        name=name,
        type=field_type,
        description=str(field.get("description", "")),
        unit=field.get("unit"),
        required=bool(constraints.get("required", False)),
        unique=bool(constraints.get("unique", False)),
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=constraints.get("exclusiveMinimum"),
        enum=tuple(constraints["enum"]) if "enum" in constraints else None,
        pattern=constraints.get("pattern"),
        bibliography_key=bool(field.get("bibliographyKey", False)),
    )


def _check_foreign_key_targets(tables: dict[str, TableSpec], broken: set[str], issues: _Collector) -> None:
    """Check that foreign keys point at existing fields; resources already reported as broken are skipped."""
    for table in tables.values():
        for index, fk in enumerate(table.foreign_keys):
            where = f"resources[{table.name}].schema.foreignKeys[{index}].reference"
            if fk.resource in broken:
                continue
            target = tables.get(fk.resource)
            if target is None:
                issues.add(f"{where}.resource", f"unknown resource '{fk.resource}'")
                continue
            for key in fk.reference_fields:
                if key not in target.field_names:
                    issues.add(f"{where}.fields", f"'{key}' is not a field of resource '{fk.resource}'")


def _read_external(item: Any, index: int, issues: _Collector) -> ExternalSpec | None:
    where = f"externalResources[{index}]"
    if not isinstance(item, dict):
        issues.add(where, "must be a JSON object")
        return None
    missing = [key for key in ("name", "path", "url", "hash", "mirrorName") if not isinstance(item.get(key), str)]
    if missing:
        issues.add(where, f"missing string properties: {', '.join(missing)}")
        return None
    digest = _SHA256_PATTERN.fullmatch(item["hash"])
    if digest is None:
        issues.add(f"{where}.hash", "expected 'sha256:' followed by 64 lower-case hex digits")
        return None
    rows = item.get("rows")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        issues.add(f"{where}.rows", "must be a number of rows")
        return None
    citations = _name_list(item.get("citations", []))
    if citations is None:
        issues.add(f"{where}.citations", "must be a list of bibliography keys")
        return None
    return ExternalSpec(
        name=item["name"],
        title=str(item.get("title", item["name"])),
        description=str(item.get("description", "")),
        path=item["path"],
        url=item["url"],
        sha256=digest.group(1),
        mirror_name=item["mirrorName"],
        rows=rows,
        citations=citations,
        licence_note=str(item.get("licenseNote", "")),
    )


def _name_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None
