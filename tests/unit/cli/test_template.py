"""`--format` templates: the Go text/template subset Docker users type."""

from __future__ import annotations

import pytest

from shocker.cli.template import Template, render_all
from shocker.errors import UsageError

HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES", "Labels": "LABELS", "Label": "LABEL"}
FIELDS = list(HEADERS)
ROWS = [
    {"ID": "ps-1a2b3", "Names": "web", "Labels": {"tier": "front", "a": "1"}},
    {"ID": "ps-44444", "Names": "db", "Labels": {}},
]


def test_fields_are_replaced_and_literal_text_kept() -> None:
    template = Template("{{.ID}}: {{ .Names }}", HEADERS, FIELDS)
    assert render_all(template, ROWS) == "ps-1a2b3: web\nps-44444: db\n"


def test_a_typed_backslash_t_is_a_tab_and_table_aligns_under_docker_headers() -> None:
    template = Template("table {{.ID}}\\t{{.Names}}", HEADERS, FIELDS)
    assert render_all(template, ROWS).splitlines() == [
        "CONTAINER ID   NAMES",
        "ps-1a2b3       web",
        "ps-44444       db",
    ]


def test_label_json_and_map_fields() -> None:
    template = Template('{{.Label "tier"}}|{{.Labels}}|{{json .Labels}}', HEADERS, FIELDS)
    assert template.render(ROWS[0]) == 'front|a=1,tier=front|{"tier":"front","a":"1"}'
    assert template.render(ROWS[1]) == "||{}"


@pytest.mark.parametrize("text", ["{{.Nope}}", "{{range .}}", "{{.ID | x}}"])
def test_unknown_fields_and_actions_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="invalid --format"):
        Template(text, HEADERS, FIELDS)
