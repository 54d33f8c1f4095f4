"""Files built to exhaust the worker are refused in Chinese, naming why, while it grows by a few MB at most."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.input import hostile_files

ROOT = Path(__file__).resolve().parents[2]
GROWTH_LIMIT_MB = 40


def read_in_child(tmp_path, content, name="map.xlsx", **limits):
    path = tmp_path / name
    path.write_bytes(content)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "PYTHONPATH": str(ROOT),
           **{key: str(value) for key, value in limits.items()}}
    done = subprocess.run([sys.executable, "-m", "tests.input.read_in_child", str(path), name], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_tiny_workbook_declaring_the_far_corner_is_refused_naming_the_cell(tmp_path):
    content = hostile_files.far_corner()

    result = read_in_child(tmp_path, content)

    assert len(content) < 2000
    assert "XFD1048576" in result["refused"] and "最多" in result["refused"]
    assert result["grown_mb"] < GROWTH_LIMIT_MB


def test_a_value_at_the_far_corner_is_refused_even_when_the_dimension_hides_it(tmp_path):
    result = read_in_child(tmp_path, hostile_files.far_corner_undeclared())

    assert "XFD1048576" in result["refused"]
    assert result["grown_mb"] < GROWTH_LIMIT_MB


def test_a_shared_strings_part_of_hundreds_of_mb_is_refused_from_its_declared_size(tmp_path):
    content = hostile_files.many_shared_strings(20_000_000, declared=3)

    result = read_in_child(tmp_path, content)

    assert len(content) < 5_000_000
    assert "MB" in result["refused"] and "拆分" in result["refused"]
    assert result["grown_mb"] < GROWTH_LIMIT_MB


def test_millions_of_tiny_shared_strings_are_refused_by_count(tmp_path):
    # The strings are counted as they stream by, whatever the part declares: 10% past a limit of 20,000 proves it
    # as 1,100,000 past the real 1,000,000 would, in a second instead of 4 M parser events (about 15 s in CI).
    content = hostile_files.many_shared_strings(22_000, declared=1)

    result = read_in_child(tmp_path, content, MAX_SHARED_STRINGS=20_000)

    assert "不同文本超过 20000 个" in result["refused"]
    assert result["grown_mb"] < GROWTH_LIMIT_MB


def test_a_shared_strings_part_declaring_millions_is_refused_before_reading_them(tmp_path):
    result = read_in_child(tmp_path, hostile_files.many_shared_strings(10, declared=50_000_000))

    assert "不同文本" in result["refused"]


@pytest.mark.parametrize("content", [
    b"PK\x03\x04 truncated",
    hostile_files.workbook("<worksheet><sheetData><row r='x'/></sheetData></worksheet>"),
    hostile_files.workbook("<not xml"),
    hostile_files.workbook('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><worksheet/>'),
    hostile_files.workbook(hostile_files.sheet_xml('<row r="2"><c r="2A"><v>1</v></c></row>')),
], ids=["truncated zip", "row number not a number", "not XML", "a DTD", "a cell reference that is no cell"])
def test_a_broken_workbook_is_refused_as_unreadable(tmp_path, content):
    assert "无法按 xlsx 格式读取" in read_in_child(tmp_path, content)["refused"]


def test_a_csv_line_of_millions_of_empty_fields_is_refused_naming_the_line(tmp_path):
    content = ("钉钉用户ID,姓名\r\nu1,甲\r\n" + "," * 5_000_000 + "\r\n").encode()

    result = read_in_child(tmp_path, content, "map.csv")

    assert "第 3 行" in result["refused"]
    assert result["grown_mb"] < GROWTH_LIMIT_MB
