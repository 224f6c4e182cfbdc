"""Request bodies of the Public API slice, from the spec's models of the same names.

Unknown fields are ignored (pydantic's default), so a client that sends more than the spec
knows still works. Strings and numbers are bounded here, at the edge, so that nothing the
database would refuse (a 40-bit id, a NUL byte, NaN) gets past validation as a 500, and nothing
is stored that could not be sent back (a lone surrogate, an object nested 300 levels deep).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from ninja_oauth.api.schemas import ApiModel, ApprovalMode

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
INT64_MAX = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _keys_without_nul(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        _no_nul(key)
    return value


# Deeper than any userData or custom field needs, well within what pydantic serializes (it
# refuses some 250 levels: such a value, once stored, could never be read back).
JSON_MAX_DEPTH = 32


def _storable(value: Any) -> Any:
    """A free-form JSON value (userData, fields, a custom field's value) that both databases
    store and the API can send back: numbers finite, strings valid Unicode, at most
    ``JSON_MAX_DEPTH`` levels deep. Python's JSON parser, which FastAPI uses, reads ``1e400``
    as infinity and accepts ``NaN``, ``Infinity`` and lone surrogate escapes (``"\\ud800"``):
    PostgreSQL refuses the first three, and no UTF-8 response can carry the last."""
    pending: list[tuple[Any, int, str]] = [(value, 1, "")]
    while pending:  # not recursive: the parser allows nesting deeper than Python's stack
        item, depth, where = pending.pop()
        if depth > JSON_MAX_DEPTH:
            raise _refused(
                "json_too_deep", f"must not nest more than {JSON_MAX_DEPTH} levels", where
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise _refused(
                "json_not_finite",
                "numbers must be finite: NaN, Infinity and values beyond a double's range "
                "(such as 1e400) are refused",
                where,
            )
        if isinstance(item, str):
            _check_unicode(item, where)
        elif isinstance(item, dict):
            for key, member in item.items():
                _check_unicode(key, where)
                pending.append((member, depth + 1, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            for i, member in enumerate(item):
                pending.append((member, depth + 1, f"{where}.{i}" if where else str(i)))
    return value


def _check_unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _refused(
            "json_not_unicode",
            "strings must be valid Unicode: a lone surrogate escape such as \\ud800 is refused",
            where,
        ) from None


def _refused(kind: str, problem: str, where: str) -> PydanticCustomError:
    # The message names where the value is inside the field (keys already checked as text).
    if not where:
        return PydanticCustomError(kind, problem)
    shown = where if len(where) <= 100 else where[:100] + "..."
    return PydanticCustomError(kind, problem + " (at {where})", {"where": shown})


Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)]
Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_nul)]
Tags = Annotated[
    list[Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]],
    Field(max_length=100),
]
JsonObject = Annotated[dict[str, Any], AfterValidator(_keys_without_nul), AfterValidator(_storable)]
Timestamp = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]


class PatchModel(ApiModel):
    """A partial update: only the fields sent change; null is refused where it means nothing."""

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_null(self) -> PatchModel:
        for name in self.not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                alias = type(self).model_fields[name].alias or name
                raise ValueError(f"{alias} must not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, by Python name."""
        return self.model_dump(exclude_unset=True)


class LocationModel(PatchModel):
    not_null = ("name", "user_data", "tags", "fields")

    name: Name | None = None
    address: Text | None = None
    description: Text | None = None
    user_data: JsonObject | None = None
    tags: Tags | None = None
    fields: JsonObject | None = None


class NewLocation(LocationModel):
    name: Name


class NodeRolePolicyAssignment(ApiModel):
    node_role_id: Id
    policy_id: Id


class OrganizationModel(PatchModel):
    not_null = ("name", "user_data", "node_approval_mode", "tags", "fields")

    name: Name | None = None
    description: Text | None = None
    user_data: JsonObject | None = None
    node_approval_mode: ApprovalMode | None = None
    tags: Tags | None = None
    fields: JsonObject | None = None


class OrganizationWithLocationsAndPolicyAssignmentsModel(OrganizationModel):
    name: Name
    locations: Annotated[list[NewLocation], Field(max_length=100)] = []
    policies: Annotated[list[NodeRolePolicyAssignment], Field(max_length=100)] = []


class WarrantyDates(ApiModel):
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    manufacturer_fulfillment_date: Timestamp | None = None


class DeviceMutableProperties(PatchModel):
    # policyId null reverts to the organization's policy (spec); displayName and warranty clear.
    not_null = ("user_data", "node_role_id", "organization_id", "location_id")

    display_name: Name | None = None
    user_data: JsonObject | None = None
    node_role_id: Id | None = None
    policy_id: Id | None = None
    organization_id: Id | None = None
    location_id: Id | None = None
    warranty: WarrantyDates | None = None


class DeviceIDList(ApiModel):
    devices: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class RunScriptRequest(ApiModel):
    """The spec's {type, id, uid, parameters, runAs}, and ninjapy's {scriptId} as an alias."""

    type: Literal["ACTION", "SCRIPT"] | None = None
    id: Id | None = None
    script_id: Id | None = None
    uid: Annotated[str, StringConstraints(max_length=36), AfterValidator(_no_nul)] | None = None
    parameters: Text | None = None
    run_as: Name | None = None

    @model_validator(mode="after")
    def _one_script(self) -> RunScriptRequest:
        if self.type == "ACTION":
            raise ValueError("built-in actions (type ACTION) are not part of this API slice")
        if self.id is None and self.script_id is None:
            raise ValueError("id (or scriptId) is required")
        if self.id is not None and self.script_id is not None and self.id != self.script_id:
            raise ValueError("id and scriptId name different scripts")
        return self

    @property
    def script(self) -> int:
        found = self.id if self.id is not None else self.script_id
        assert found is not None
        return found


class RebootRequest(ApiModel):
    reason: Text | None = None


CustomFieldValues = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)],
        Annotated[Any, AfterValidator(_storable)],
    ],
    Field(max_length=200),
]
