#!/usr/bin/env python3
"""Runs every dashboard and rule expression against a live Prometheus (stdlib only).

    python3 tools/kit/extract_promql.py | python3 tools/kit/query_all.py --url http://127.0.0.1:9090

Reads the JSON lines of extract_promql.py on stdin, evaluates each expression
as an instant query and prints one line per expression: `ok N`, `empty` or
`error <message>`. Exit status: 1 if any query failed (or, with
--require-data, returned no series), else 0. Only loopback URLs are accepted.
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")


def query(url, expr, timeout):
    data = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/api/v1/query", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.load(response)
    except urllib.error.HTTPError as err:
        try:
            body = json.load(err)
        except ValueError:
            return None, f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        return None, str(err)
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    result = body.get("data", {}).get("result", [])
    return (len(result) if isinstance(result, list) else 1), None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:9090", help="Prometheus base URL (loopback only)")
    parser.add_argument("--require-data", action="store_true", help="an empty result counts as a failure")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per query")
    args = parser.parse_args()
    host = urllib.parse.urlsplit(args.url).netloc
    if not host.startswith(LOOPBACK_HOSTS):
        parser.error(f"refusing non-loopback URL {args.url}")
    failed = total = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        total += 1
        count, error = query(args.url, item["expr"], args.timeout)
        if error:
            failed += 1
            print(f"error  {item['source']}: {error}")
        elif count == 0:
            failed += args.require_data
            print(f"empty  {item['source']}")
        else:
            print(f"ok {count:<3} {item['source']}")
    print(f"{total} expressions, {failed} failed", file=sys.stderr)
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
