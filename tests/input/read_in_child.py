"""Run `python -m tests.input.read_in_child FILE NAME` to read a file as the worker does, in a fresh process, and
print {"refused": message or "", "rows": n, "grown_mb": peak RSS growth while reading} as JSON."""

import json
import resource
import sys


def main(path, name):
    import django

    django.setup()
    from django.utils import translation

    from sso import identity_file

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
