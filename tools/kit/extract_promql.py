#!/usr/bin/env python3
"""Prints every PromQL expression of the dashboards and rule files as JSON lines.

    python3 tools/kit/extract_promql.py [--var NAME=VALUE ...] [--no-rules] [DASHBOARD_OR_DIR ...]

Each line is {"source": ..., "expr": ...}. Sources:
    dashboards/<file>#panel=<id> <title>/<refId>   a panel target
    dashboards/<file>#var=<name>                   PromQL of a query variable
    deploy/prometheus/rules/<file>#<alert>          a rule expression

Template variables are replaced so that every expression is valid PromQL
that selects the whole fleet: query variables become their `allValue` (or
`.+`) in regex matchers and `label="$var"` becomes `label=~".+"`; custom
variables take their current value; `$__rate_interval` -> 1m,
`$__interval` -> 30s, `$__range` -> 5m (see promql_kit.BUILTIN_VALUES).
`--var miner=sim-01` pins a variable to a literal value instead.
"""

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from promql_kit import (DASHBOARDS, REPO, RULES, Substituter, iter_panels, load_dashboards,  # noqa: E402
                        rule_expressions, variable_promql)


def dashboard_expressions(path, dashboard, overrides):
    shown = os.path.relpath(path, REPO)
    variables = (dashboard.get("templating") or {}).get("list", []) or []
    substituter = Substituter(variables, overrides)
    for variable in variables:
        promql = variable_promql(variable)
        if promql:
            yield f"{shown}#var={variable.get('name')}", substituter.substitute(promql)
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []) or []:
            expr = str(target.get("expr", "")).strip()
            if expr:
                where = f"{shown}#panel={panel.get('id')} {panel.get('title', '')}/{target.get('refId')}"
                yield where, substituter.substitute(expr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[DASHBOARDS], help="dashboards or directories")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="fixed value for a template variable (repeatable)")
    parser.add_argument("--rules", nargs="*", default=None,
                        help="rule files (default: deploy/prometheus/rules/*.rules.yml)")
    parser.add_argument("--no-rules", action="store_true", help="dashboards only")
    args = parser.parse_args()
    overrides = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--var expects NAME=VALUE, got {item!r}")
        overrides[name] = value
    status = 0
    for path, dashboard, error in load_dashboards(args.paths):
        if error or not isinstance(dashboard, dict):
            print(f"{path}: cannot read dashboard: {error}", file=sys.stderr)
            status = 1
            continue
        try:
            for source, expr in dashboard_expressions(path, dashboard, overrides):
                print(json.dumps({"source": source, "expr": expr}, ensure_ascii=False))
        except KeyError as err:
            print(f"{path}: undefined variable ${err.args[0]}", file=sys.stderr)
            status = 1
    if not args.no_rules:
        rule_files = args.rules if args.rules is not None else sorted(glob.glob(os.path.join(RULES, "*.rules.yml")))
        for path in rule_files:
            shown = os.path.relpath(path, REPO)
            for name, expr in rule_expressions(path):
                print(json.dumps({"source": f"{shown}#{name}", "expr": expr.strip()}, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
