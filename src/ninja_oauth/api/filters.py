"""Query parameters shared by the list endpoints: paging, the device filter ``df``, dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, get_args

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from ninja_oauth.api.bodies import INT32_MAX, INT32_MIN, INT64_MAX
from ninja_oauth.api.errors import invalid_field
from ninja_oauth.api.schemas import NodeClass
from ninja_oauth.store.public_api.devices import DeviceFilter


class QueryModel(BaseModel):
    """The query parameters of a read, validated by pydantic (``api/reads.py``) and documented
    by FastAPI as a query parameter model. Parameters are matched by their alias (the spec's
    camelCase name); unknown ones are ignored, as FastAPI ignores them. Frozen: the model of an
    empty query is built once."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# The spec types every id and page size as int32; larger values are refused as 400 here rather
# than reaching the database.
PageSize = Annotated[
    int | None,
    Field(alias="pageSize", ge=1, le=INT32_MAX, description="Limit number of items to return"),
]
After = Annotated[
    int | None,
    Field(ge=0, le=INT32_MAX, description="Last identifier from the previous page"),
]
ActivityPageSize = Annotated[
    int, Field(alias="pageSize", ge=10, le=1000, description="Limit number of activities")
]
# ``olderThan`` / ``newerThan``: an activity id, int64 in the spec on /v2/activities (the SQL
# compares it as a BIGINT: past every stored id, it means "all" or "none") and int32 on a
# device's activities. Like every number, it is refused as a 400 only outside the spec's type.
ActivityId = Annotated[int | None, Field(ge=0, le=INT64_MAX)]
NodeActivityId = Annotated[int | None, Field(ge=0, le=INT32_MAX)]


def text(alias: str | None = None, max_length: int = 500, description: str | None = None) -> Any:
    """A free-text query parameter, bounded, without NUL (which PostgreSQL refuses)."""
    return Field(alias=alias, max_length=max_length, pattern=r"^[^\x00]*$", description=description)


Text = Annotated[str | None, text()]

# Path ids of the writes are int32 in the spec; an unknown one is a 404, one out of range a 400.
PathId = Annotated[int, Path(ge=INT32_MIN, le=INT32_MAX)]

DEVICE_FILTER_HELP = (
    "Device filter: clauses `org = N`, `loc = N`, `class = NODE_CLASS`, "
    "`status = PENDING|APPROVED`, joined by `AND`."
)
DeviceFilterParam = Annotated[str | None, text(max_length=1000, description=DEVICE_FILTER_HELP)]


class Paging(QueryModel):
    """``pageSize`` and ``after``, as most lists take them."""

    page_size: PageSize = None
    after: After = None


class DevicePaging(Paging):
    """A page of devices, filtered by ``df``."""

    df: DeviceFilterParam = None


_NODE_CLASSES = frozenset(get_args(NodeClass))
_CLAUSE = re.compile(r"^(\w+)\s*=\s*(\S+)$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def parse_device_filter(df: str | None) -> DeviceFilter:
    """``org = 1 AND class = WINDOWS_SERVER`` → clauses; anything else is a 400 naming it."""
    if df is None or not df.strip():
        return DeviceFilter()
    clauses: list[tuple[str, int | str]] = []
    for raw in _AND.split(df.strip()):
        clause = raw.strip()
        match = _CLAUSE.match(clause)
        key = match.group(1).lower() if match else ""
        value = match.group(2) if match else ""
        if key in ("org", "loc") and re.fullmatch("[0-9]{1,10}", value) and int(value) <= INT32_MAX:
            clauses.append((key, int(value)))
        elif (key == "class" and value.upper() in _NODE_CLASSES) or (
            key == "status" and value.upper() in ("PENDING", "APPROVED")
        ):
            clauses.append((key, value.upper()))
        else:
            raise invalid_field(
                "df",
                f"unsupported clause {clause!r}; supported: org = N, loc = N, "
                "class = NODE_CLASS, status = PENDING|APPROVED, joined by AND",
            )
    return DeviceFilter(tuple(clauses))


DATE_EXPECTED = "expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)"


def parse_day(field: str, value: str | None) -> int | None:
    """A date as YYYYMMDD, an ISO 8601 date or date-time, or Unix seconds → Unix seconds."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{8}", text):
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            return int(float(text))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (ValueError, OverflowError):
        raise invalid_field(field, DATE_EXPECTED) from None


def csv_values(value: str | None) -> tuple[str, ...]:
    """``A,B`` → ("A", "B"); the spec's status/type filters take one or more values."""
    if not value:
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())
