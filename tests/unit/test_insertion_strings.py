"""Windows insertion strings (%%NNNN) resolved from the shipped table, others left as sent."""

from __future__ import annotations

from fleetward.domain.insertion_strings import (
    parameter_messages,
    parse_table,
    resolve,
    resolve_data,
)


def test_the_common_security_event_values_read_as_event_viewer_shows_them() -> None:
    assert resolve("%%2313") == "Unknown user name or bad password."
    assert resolve("%%1794") == "<never>"
    assert resolve("%%1793") == "<value not set>"
    assert resolve("%%1842") == "Yes" and resolve("%%1843") == "No"
    assert resolve("%%1833") == "Impersonation"


def test_an_unknown_parameter_stays_as_it_is_and_plain_text_is_untouched() -> None:
    assert resolve("%%1058") == "%%1058"
    assert resolve("50%% off") == "50%% off"
    assert resolve("C:\\Windows\\%%1843") == "C:\\Windows\\No"
    assert resolve("") == ""


def test_a_multi_value_field_reads_as_a_list() -> None:
    data = {"UserAccountControl": "\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084", "Name": "bob"}
    assert resolve_data(data) == {
        "UserAccountControl": "Account Disabled, 'Password Not Required' - Enabled, "
        "'Normal Account' - Enabled",
        "Name": "bob",
    }


def test_the_table_names_its_source_and_parses_only_well_formed_lines() -> None:
    assert len(parameter_messages()) > 50
    assert parse_table("# Source: x\n\n12\tTwelve\nnot a line\n13\t\n") == {"12": "Twelve"}
