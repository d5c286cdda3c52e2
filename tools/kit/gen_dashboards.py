#!/usr/bin/env python3
"""Writes the Grafana dashboards of dashboards/ from the Python sources in dashgen/.

The JSON files are generated, not edited by hand: change dashgen/*.py and run
    python3 tools/kit/gen_dashboards.py          # rewrite dashboards/*.json
    python3 tools/kit/gen_dashboards.py --check  # exit 1 if a file is out of date
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dashgen import exporter, fleet, miner  # noqa: E402
from promql_kit import DASHBOARDS  # noqa: E402

BUILDERS = {
    "whatsminer-fleet.json": fleet.build,
    "whatsminer-miner.json": miner.build,
    "whatsminer-exporter.json": exporter.build,
}


def render(build):
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", default=DASHBOARDS, help="directory of the dashboards (default: %(default)s)")
    args = parser.parse_args()
    stale = []
    for name, build in BUILDERS.items():
        path = os.path.join(args.out, name)
        text = render(build)
        if args.check:
            try:
                with open(path, encoding="utf-8") as handle:
                    current = handle.read()
            except OSError:
                current = None
            if current != text:
                stale.append(path)
        else:
            os.makedirs(args.out, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"wrote {path}")
    if stale:
        for path in stale:
            print(f"out of date: {path} (edit tools/kit/dashgen/ and run tools/kit/gen_dashboards.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
