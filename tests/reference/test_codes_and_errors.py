"""Code tables load from interface_spec/ and malformed ones are refused loudly; the error-code
table is unique and complete."""

from __future__ import annotations

import pytest

from reference import errors
from reference.codes import CodeTableError, all_tables, load_table


def test_every_code_table_loads_with_both_languages():
    tables = all_tables()
    assert {"role", "institution_type", "scene", "terminal_status", "person_flag"} <= set(tables)
    for t in tables.values():
        assert t.source and t.title_zh and t.title_en
        for c in t.codes:
            assert c.en and c.zh


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: bad\n", "missing keys"),
        ("name: other\ntitle_en: x\ntitle_zh: x\nsource: s\ncodes: [{code: a, en: A, zh: 甲}]\n", "file name"),
        ("name: bad\ntitle_en: x\ntitle_zh: x\nsource: s\ncodes: [{code: a, en: A}]\n", "codes[0]"),
        ("name: bad\ntitle_en: x\ntitle_zh: x\nsource: s\n"
         "codes: [{code: a, en: A, zh: 甲}, {code: a, en: B, zh: 乙}]\n", "twice"),
        ("name: bad\ntitle_en: x\ntitle_zh: x\nsource: s\ncodes: []\n", "at least one"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_code_table_is_refused(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodeTableError, match="bad.yaml") as exc:
        load_table(path)
    assert problem in str(exc.value)


def test_error_codes_are_unique_and_documented():
    table = errors.error_table()
    codes = [e.code for e in table]
    assert codes == sorted(set(codes))
    assert {1001, 1002, 1003, 1004, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 3001, 3002, 3003,
            3004, 4001, 9999} <= set(codes)
    for e in table:
        assert e.meaning and e.name_zh and 400 <= e.http_status < 600


def test_err_msg_names_the_field():
    assert errors.InvalidField("must be 6 digits", field="input.code").err_msg == "input.code: must be 6 digits"
