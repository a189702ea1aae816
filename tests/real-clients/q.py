#!/usr/bin/env python3
"""q.py EXPR [FILE] — evaluate a Python expression over JSON, for tests/real-clients/run.sh.

The JSON (FILE, or stdin) is bound to `d`; `first(iterable)` gives the first item or None. A string
result prints bare, None prints nothing, True/False set the exit status (0/1) and print nothing, any
other value prints as JSON. Unparsable JSON or a failing expression exits 2 with the reason on stderr.
"""
import json
import sys


def first(items):
    return next(iter(items), None)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: q.py EXPR [FILE]")
    try:
        text = open(sys.argv[2]).read() if len(sys.argv) == 3 else sys.stdin.read()
        d = json.loads(text)
        value = eval(sys.argv[1], {"d": d, "first": first, "json": json})  # noqa: S307 (our own expressions)
    except Exception as e:  # noqa: BLE001
        print(f"q.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    if isinstance(value, bool):
        sys.exit(0 if value else 1)
    if value is None:
        return
    print(value if isinstance(value, str) else json.dumps(value))


main()
