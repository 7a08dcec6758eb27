"""The error classes against the codes the service documents (contract §6)."""

import json

from cloud_connector.errors import ERRORS_BY_CODE, RangeNotSatisfiable, error_class
from harness import REPO


def _problem_codes(node, codes):
    if isinstance(node, dict):
        properties = node.get("properties")
        code = properties.get("code") if isinstance(properties, dict) else None
        if isinstance(code, dict):
            if isinstance(code.get("const"), str):
                codes.add(code["const"])
            codes.update(value for value in code.get("enum", []) if isinstance(value, str))
        for child in node.values():
            _problem_codes(child, codes)
    elif isinstance(node, list):
        for child in node:
            _problem_codes(child, codes)
    return codes


def test_every_problem_code_the_service_documents_has_its_own_class():
    document = json.loads((REPO / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    codes = _problem_codes(document, set())
    assert len(codes) >= 20, f"found {len(codes)} codes: the walk reads the document"
    assert sorted(codes - ERRORS_BY_CODE.keys()) == []
    for code in codes:
        assert error_class(code, 500) is ERRORS_BY_CODE[code]


def test_an_unknown_code_lands_in_the_family_of_its_status():
    assert error_class("something_new", 416) is RangeNotSatisfiable
