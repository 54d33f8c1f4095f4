"""Run `python -m tests.input.read_in_child FILE NAME` to read a file as the worker does, in a fresh process, and
print {"refused": message or "", "rows": n, "grown_mb": peak RSS growth while reading} as JSON.

MAX_SHARED_STRINGS in the environment lowers the reader's limit of different texts, so that a file past it is
cheap to build and to stream."""

import json
import os
import resource
import sys


def main(path, name):
    import django

    django.setup()
    from django.utils import translation

    from sso import identity_file, spreadsheet

    if os.environ.get("MAX_SHARED_STRINGS"):
        spreadsheet.MAX_SHARED_STRINGS = int(os.environ["MAX_SHARED_STRINGS"])
    translation.activate("zh-hans")
    with open(path, "rb") as file:
        content = file.read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused, rows = "", 0
    try:
        checked = identity_file.read(content, name)
        rows = checked.total
    except identity_file.UnreadableFile as error:
        refused = str(error)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"refused": refused, "rows": rows, "grown_mb": round(grown, 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:])
