"""Bodies and responses of the ticketing endpoints, from the spec's models of the same names
(NewTicket, UpdateTicket, TicketDTO, TicketLogEntryPublicApiDTO, TicketingBoardPublicApiDTO,
TicketBoardScrollingRequestDTO, TicketDashboardPublicApiDTO)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from ninja_oauth.api.bodies import INT32_MAX, Id, PatchModel
from ninja_oauth.api.schemas import ApiModel

TicketType = Literal["PROBLEM", "QUESTION", "INCIDENT", "TASK"]
Priority = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
Severity = Literal["NONE", "MINOR", "MODERATE", "MAJOR", "CRITICAL"]
LogEntryType = Literal["DESCRIPTION", "COMMENT", "CONDITION", "SAVE", "DELETE", "PRODUCT"]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Subject = Annotated[str, StringConstraints(max_length=200), NoNul]  # the spec: 0 to 200
Body = Annotated[str, StringConstraints(max_length=65_536), NoNul]
Short = Annotated[str, StringConstraints(max_length=200), NoNul]
Word = Annotated[str, StringConstraints(min_length=1, max_length=60), NoNul]
RuleValue = Annotated[str, StringConstraints(max_length=1000), NoNul]
StatusRef = Annotated[str, StringConstraints(min_length=1, max_length=40), NoNul]  # OPEN, 2000
Tags = Annotated[list[Short], Field(max_length=100)]
Seconds = Annotated[int, Field(ge=0, le=INT32_MAX)]


# -- request bodies ---------------------------------------------------------------------------


class NewTicketLogEntry(ApiModel):
    public: bool = True
    body: Body | None = None
    html_body: Body | None = None
    time_tracked: Seconds | None = None
    duplicate_in_incidents: bool | None = None


class CarbonCopy(ApiModel):
    uids: Annotated[list[UUID], Field(max_length=100)] | None = None
    emails: Annotated[list[Short], Field(max_length=100)] | None = None


class TicketingAttributeValue(ApiModel):
    id: Id | None = None
    attribute_id: Id
    value: Body


class TicketFields(PatchModel):
    """What NewTicket and UpdateTicket share. An update changes only the fields it sends (null
    clears an optional one); see ``UpdateTicket``."""

    not_null: ClassVar[tuple[str, ...]] = ("client_id", "ticket_form_id", "subject", "status")

    client_id: Id | None = None
    ticket_form_id: Id | None = None
    location_id: Id | None = None
    node_id: Id | None = None
    subject: Subject | None = None
    status: StatusRef | None = None
    type: TicketType | None = None
    cc: CarbonCopy | None = None
    assigned_app_user_id: Id | None = None
    requester_uid: UUID | None = None
    severity: Severity | None = None
    priority: Priority | None = None
    parent_ticket_id: Id | None = None
    tags: Tags | None = None
    attributes: Annotated[list[TicketingAttributeValue], Field(max_length=200)] | None = None
    additional_assigned_technician_ids: Annotated[list[Id], Field(max_length=100)] | None = None


class NewTicket(TicketFields):
    client_id: Id
    ticket_form_id: Id
    subject: Subject
    status: StatusRef = "1000"
    description: NewTicketLogEntry | None = None
    severity: Severity | None = "NONE"
    priority: Priority | None = "NONE"


class UpdateTicket(TicketFields):
    """The spec's required fields are required; ``requesterUid`` too in the spec, but a ticket
    may have none to send back, so here it keeps the stored requester when left out."""

    version: Annotated[int, Field(ge=0, le=INT32_MAX)]
    client_id: Id
    ticket_form_id: Id
    subject: Subject
    status: StatusRef


class Rule(ApiModel):
    field: Word
    operator: Word
    value: RuleValue | None = None


class SortBy(ApiModel):
    field: Word
    direction: Literal["ASC", "DESC"] = "ASC"


class TicketBoardScrollingRequestDTO(ApiModel):
    sort_by: Annotated[list[SortBy], Field(max_length=10)] | None = None
    filters: Annotated[list[Rule], Field(max_length=50)] | None = None
    page_size: Annotated[int, Field(ge=1, le=1000)] | None = None
    search_criteria: Annotated[str, StringConstraints(max_length=512), NoNul] | None = None
    include_columns: Annotated[list[Word], Field(max_length=50)] | None = None
    last_cursor_id: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = None


# -- responses --------------------------------------------------------------------------------


class TicketStatus(ApiModel):
    name: str
    display_name: str
    parent_id: int | None = None
    status_id: int


class CcList(ApiModel):
    uids: list[str] = []
    emails: list[str] = []


class AttributeValue(ApiModel):
    id: int | None = None
    attribute_id: int
    value: Any = None


class TicketDTO(ApiModel):
    id: int
    version: int
    node_id: int | None = None
    client_id: int | None = None
    location_id: int | None = None
    assigned_app_user_id: int | None = None
    requester_uid: str | None = None
    subject: str
    status: TicketStatus
    type: TicketType | None = None
    priority: Priority | None = None
    severity: Severity | None = None
    ticket_form_id: int
    source: str | None = None
    tags: list[str] = []
    cc_list: CcList | None = None
    create_time: float
    deleted: bool = False
    attribute_values: list[AttributeValue] = []
    additional_assigned_technician_ids: list[int] = []
    # Not in the spec's TicketDTO, yet NewTicket and UpdateTicket set it: shown beside it.
    parent_ticket_id: int | None = None


class TicketLogEntry(ApiModel):
    id: int
    app_user_contact_uid: str | None = None
    app_user_contact_id: int | None = None
    app_user_contact_type: Literal["TECHNICIAN", "END_USER", "CONTACT"] | None = None
    type: LogEntryType
    body: str | None = None
    html_body: str | None = None
    public_entry: bool
    system: bool
    create_time: float
    change_diff: dict[str, Any] | None = None
    activity_id: int | None = None
    time_tracked: int | None = None


class BoardRule(ApiModel):
    field: str
    operator: str
    value: str | None = None


class BoardCondition(ApiModel):
    any: list[BoardRule] = []
    all: list[BoardRule] = []


class TicketingBoard(ApiModel):
    id: int
    uid: str
    name: str
    description: str | None = None
    conditions: BoardCondition
    create_time: float
    update_time: float
    system: bool
    columns: list[str]
    sort_by: list[dict[str, Any]]
    ticket_count: int


class BoardSortBy(ApiModel):
    field: str
    direction: Literal["ASC", "DESC"]


class TicketMetadata(ApiModel):
    columns: list[str]
    sort_by: list[BoardSortBy]
    attributes: dict[str, Any] = {}
    filters: list[BoardRule] = []
    all_required_columns: list[str]
    all_columns: list[str]
    column_names_for_exporting: list[str]


class TicketDashboard(ApiModel):
    data: list[dict[str, Any]]
    metadata: TicketMetadata
