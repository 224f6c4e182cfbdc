"""The lists endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first.

Demo rows (seeded): groups 1-5 (group 1 "Windows workstations": `class = WINDOWS_WORKSTATION`),
scheduled tasks 1-4, 8 software products, 5 custom field definitions (`assetTag` the devices'
one), document templates 1-3.
"""

from __future__ import annotations

from .endpoints import BOOL_ERROR, INT_ERROR, Endpoint, no_org

ENDPOINTS: list[Endpoint] = [
    # No parameter, no body.
    Endpoint("GET", "/v2/groups", "/v2/groups", "monitoring", 200),
    Endpoint(
        "GET", "/v2/group/1/device-ids", "/v2/group/{id}/device-ids", "monitoring", 200,
        unknown=("/v2/group/99/device-ids", "Group 99 not found."),
        bad=("/v2/group/first/device-ids", None, f"id: {INT_ERROR}"),
    ),
    Endpoint("GET", "/v2/tasks", "/v2/tasks", "monitoring", 200),
    Endpoint("GET", "/v2/software-products", "/v2/software-products", "monitoring", 200),
    Endpoint(
        "GET", "/v2/device-custom-fields", "/v2/device-custom-fields", "monitoring", 200,
        bad=("/v2/device-custom-fields?scopes=node,policy", None,
             "scopes: unknown scope 'policy'; known: all, node, location, organization"),
    ),
    Endpoint(
        "GET", "/v2/devices/search?q=acme-ws", "/v2/devices/search", "monitoring", 200,
        bad=("/v2/devices/search?q=acme&limit=0", None,
             "limit: Input should be greater than or equal to 1"),
    ),
    Endpoint(
        "GET", "/v2/document-templates/1", "/v2/document-templates/{documentTemplateId}",
        "monitoring", 200,
        unknown=("/v2/document-templates/99", "Document template 99 not found."),
        bad=("/v2/document-templates/1?includeTechnicianRoles=perhaps", None,
             f"includeTechnicianRoles: {BOOL_ERROR}"),
    ),
    Endpoint(
        "GET", "/v2/organization/1/custom-fields", "/v2/organization/{id}/custom-fields",
        "monitoring", 200, unknown=no_org("/custom-fields"),
        bad=("/v2/organization/one/custom-fields", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "PATCH", "/v2/organization/1/custom-fields", "/v2/organization/{id}/custom-fields",
        "management", 204, body={"contractTier": "Gold"}, unknown=no_org("/custom-fields"),
        bad=("/v2/organization/1/custom-fields", ["contractTier"],
             "body: Input should be a valid dictionary"),
    ),
]  # fmt: skip
