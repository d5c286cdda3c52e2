#!/usr/bin/env python3
"""Structural check of the Grafana dashboards (stdlib only).

For every dashboard: valid JSON; a `DS_PROMETHEUS` input; unique uid; panel
ids unique (nested row panels included); every panel and target with the
datasource uid `${DS_PROMETHEUS}`; every `$var` / `${var}` / `[[var]]`
defined in templating (and, inside templating, defined *before* the variable
that uses it); every metric name in target and variable queries listed in
docs/metrics.md (or `up`, `process_*`, `probe_*`). The metric names of the
Prometheus rule files are checked against the contract too.

    python3 tools/kit/check_dashboards.py [--metrics FILE] [--rules PATH ...] [DASHBOARD_OR_DIR ...]

Exit status 0 when everything passes, 1 otherwise (each problem printed).
"""

import argparse
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from promql_kit import (CONTRACT, DASHBOARDS, REPO, RULES, Substituter, is_builtin, iter_panels,  # noqa: E402
                        iter_strings, load_contract, load_dashboards, metric_allowed, metric_names,
                        rule_expressions, var_refs, variable_promql)

DS_UID = "${DS_PROMETHEUS}"
GRID_WIDTH = 24
PANELS_WITHOUT_TARGETS = {"row", "text", "news", "dashlist", "alertlist"}


def shown_path(path):
    relative = os.path.relpath(os.path.abspath(path), REPO)
    return path if relative.startswith("..") else relative


def check_templating(dashboard, inputs, problems):
    """Returns the variable names; reports forward, self and unknown references."""
    defined = []
    for variable in (dashboard.get("templating") or {}).get("list", []) or []:
        name = variable.get("name")
        if not name:
            problems.append("a template variable has no name")
            continue
        if name in defined:
            problems.append(f"template variable ${name} defined twice")
        used = " ".join(s for field in ("query", "definition", "datasource", "regex")
                        for s in iter_strings(variable.get(field)))
        for ref in sorted(set(var_refs(used))):
            if is_builtin(ref) or ref in defined or (ref in inputs and ref != name):
                continue
            problems.append(f"template variable ${name} uses ${ref} before it is defined")
        if variable.get("type") == "query":
            datasource = variable.get("datasource") or {}
            if not isinstance(datasource, dict) or datasource.get("uid") != DS_UID:
                problems.append(f"template variable ${name}: datasource uid is not {DS_UID}")
        defined.append(name)
    return defined


def check_panels(dashboard, defined, problems):
    ids = set()
    for panel in iter_panels(dashboard):
        label = f"panel {panel.get('id')} '{panel.get('title', '')}'"
        panel_id = panel.get("id")
        if not isinstance(panel_id, int):
            problems.append(f"{label}: id is not an integer")
        elif panel_id in ids:
            problems.append(f"{label}: duplicate panel id {panel_id}")
        ids.add(panel_id)
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or grid["x"] + grid["w"] > GRID_WIDTH:
            problems.append(f"{label}: missing or out-of-grid gridPos {grid}")
        own = {k: v for k, v in panel.items() if k != "panels"}
        for ref in sorted(set(var_refs(" ".join(iter_strings(own))))):
            if not is_builtin(ref) and ref not in defined:
                problems.append(f"{label}: uses undefined variable ${ref}")
        if panel.get("type") in PANELS_WITHOUT_TARGETS:
            continue
        if (panel.get("datasource") or {}).get("uid") != DS_UID:
            problems.append(f"{label}: panel datasource uid is not {DS_UID}")
        panel_targets = panel.get("targets") or []
        if not panel_targets:
            problems.append(f"{label}: no targets")
        ref_ids = set()
        for target in panel_targets:
            ref_id = target.get("refId")
            if ref_id in ref_ids:
                problems.append(f"{label}: duplicate refId {ref_id}")
            ref_ids.add(ref_id)
            datasource = target.get("datasource")
            if not isinstance(datasource, dict) or datasource.get("uid") != DS_UID:
                problems.append(f"{label} target {ref_id}: datasource uid is not {DS_UID}")
            if not str(target.get("expr", "")).strip():
                problems.append(f"{label} target {ref_id}: empty expr")


def check_metrics(exprs, contract, substituter, problems):
    """exprs: (where, promql with variables)."""
    for where, expr in exprs:
        try:
            plain = substituter.substitute(expr) if substituter else expr
        except KeyError as err:
            problems.append(f"{where}: cannot substitute variable ${err.args[0]}")
            continue
        for name in sorted(set(metric_names(plain))):
            if not metric_allowed(name, contract):
                problems.append(f"{where}: metric '{name}' is not in docs/metrics.md")


def check_dashboard(dashboard, contract, problems):
    inputs = {i.get("name") for i in dashboard.get("__inputs", []) or [] if isinstance(i, dict)}
    ds_input = [i for i in dashboard.get("__inputs", []) or []
                if isinstance(i, dict) and i.get("name") == "DS_PROMETHEUS"]
    if not ds_input or ds_input[0].get("type") != "datasource" or ds_input[0].get("pluginId") != "prometheus":
        problems.append("no __inputs entry DS_PROMETHEUS (type datasource, pluginId prometheus)")
    schema = dashboard.get("schemaVersion")
    if not isinstance(schema, int) or schema < 36:
        problems.append(f"schemaVersion {schema!r} is older than 36")
    defined = check_templating(dashboard, inputs, problems)
    check_panels(dashboard, defined, problems)
    variables = (dashboard.get("templating") or {}).get("list", []) or []
    exprs = [(f"panel {p.get('id')} '{p.get('title', '')}' target {t.get('refId')}", str(t.get("expr", "")))
             for p in iter_panels(dashboard) for t in p.get("targets", []) or []]
    exprs += [(f"template variable ${v.get('name')}", variable_promql(v)) for v in variables if variable_promql(v)]
    # Undefined variables are reported above; substitute them anyway to read the metric names.
    check_metrics(exprs, contract, Substituter(variables, strict=False), problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[DASHBOARDS], help="dashboards or directories")
    parser.add_argument("--metrics", default=CONTRACT, help="metric contract (default: docs/metrics.md)")
    parser.add_argument("--rules", nargs="*", default=None,
                        help="rule files to check for metric names (default: deploy/prometheus/rules/*.rules.yml)")
    args = parser.parse_args()
    contract = load_contract(args.metrics)
    failed = False
    if not contract:
        print(f"{args.metrics}: no metric names found")
        return 1
    uids = {}
    count = 0
    for path, dashboard, error in load_dashboards(args.paths):
        count += 1
        shown = shown_path(path)
        problems = [f"invalid JSON: {error}"] if error else []
        if dashboard is not None:
            if not isinstance(dashboard, dict):
                problems.append("not a JSON object")
            else:
                uid = dashboard.get("uid")
                if not uid:
                    problems.append("no uid")
                elif uid in uids:
                    problems.append(f"uid '{uid}' also used by {uids[uid]}")
                uids[uid] = shown
                check_dashboard(dashboard, contract, problems)
        for problem in problems:
            print(f"{shown}: {problem}")
        failed |= bool(problems)
    if count == 0:
        print("no dashboards found")
        failed = True
    rule_files = args.rules if args.rules is not None else sorted(glob.glob(os.path.join(RULES, "*.rules.yml")))
    for path in rule_files:
        problems = []
        check_metrics([(name, expr) for name, expr in rule_expressions(path)], contract, None, problems)
        for problem in problems:
            print(f"{shown_path(path)}: {problem}")
        failed |= bool(problems)
    if not failed:
        print(f"ok: {count} dashboards, {len(rule_files)} rule files")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
