"""Shared helpers of the operator-kit scripts (stdlib only).

Reads the metric contract (docs/metrics.md), walks Grafana dashboards,
finds template-variable references, substitutes variables with values that
keep a PromQL expression valid, extracts metric names from PromQL, and reads
the expressions of Prometheus rule files (with PyYAML when present, else a
small reader that understands the subset of YAML that rule files use).
"""

import json
import os
import re

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONTRACT = os.path.join(REPO, "docs", "metrics.md")
DASHBOARDS = os.path.join(REPO, "dashboards")
RULES = os.path.join(REPO, "deploy", "prometheus", "rules")

# Metrics that do not come from the contract but may be queried.
EXTRA_METRICS = {"up"}
EXTRA_PREFIXES = ("process_", "probe_")

# Grafana's global variables, as substituted by extract_promql.
BUILTIN_VALUES = {
    "__rate_interval": "1m",
    "__rate_interval_ms": "60000",
    "__interval": "30s",
    "__interval_ms": "30000",
    "__range": "5m",
    "__range_s": "300",
    "__range_ms": "300000",
}

# $name, ${name}, ${name:format}, [[name]], [[name:format]] (not $1: regex groups)
VAR_REF = re.compile(
    r"\$\{([a-zA-Z_]\w*)(?:[:.][^}]*)?\}|\$([a-zA-Z_]\w*)|\[\[([a-zA-Z_]\w*)(?::[^\]]*)?\]\]"
)

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "and", "or", "unless", "inf", "nan",
}


def load_contract(path=CONTRACT):
    """Metric names listed in the first column of the tables of docs/metrics.md."""
    names = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|", line)
            if match:
                names.add(match.group(1))
    return names


def metric_allowed(name, contract):
    return name in contract or name in EXTRA_METRICS or name.startswith(EXTRA_PREFIXES)


def var_refs(text):
    """Names of the template variables referenced in a string."""
    return [a or b or c for a, b, c in VAR_REF.findall(text)]


def is_builtin(name):
    return name.startswith("__")


def iter_strings(node):
    """Every string inside a JSON value (dict keys excluded)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from iter_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_strings(value)


def iter_panels(dashboard):
    """Every panel, including those nested in (collapsed) rows, in order."""
    for panel in dashboard.get("panels", []) or []:
        yield panel
        for nested in panel.get("panels", []) or []:
            yield nested


def load_dashboards(paths):
    """(path, dashboard or None, error) for each *.json under the given paths."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".json")]
        else:
            files.append(path)
    for file in files:
        try:
            with open(file, encoding="utf-8") as handle:
                yield file, json.load(handle), None
        except (OSError, ValueError) as err:
            yield file, None, str(err)


def variable_query(variable):
    """The query string of a Grafana variable (string or object form)."""
    query = variable.get("query", "")
    if isinstance(query, dict):
        query = query.get("query", "")
    return query if isinstance(query, str) else ""


def variable_promql(variable):
    """PromQL inside a Prometheus query variable (label_values / query_result), or None."""
    if variable.get("type") != "query":
        return None
    query = variable_query(variable).strip()
    match = re.match(r"^(label_values|query_result)\s*\((.*)\)$", query, re.S)
    if not match:
        return None
    inner = match.group(2).strip()
    if match.group(1) == "query_result":
        return inner
    depth, split_at = 0, -1
    for index, char in enumerate(inner):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "," and depth == 0:
            split_at = index
    if split_at < 0:
        return None  # label_values(label): no metric involved
    return inner[:split_at].strip()


class Substituter:
    """Replaces template variables with values that keep the PromQL valid.

    Query variables match everything: their `allValue` (or `.+`) in regex
    matchers, and `label="$var"` becomes `label=~".+"`. Custom, constant,
    interval and textbox variables take their current (or first) value.
    Unknown variables raise KeyError, or become `.+` when not `strict`.
    """

    def __init__(self, templating, overrides=None, strict=True):
        self.strict = strict
        self.regex_vars = {}
        self.fixed = dict(BUILTIN_VALUES)
        for variable in templating:
            name = variable.get("name", "")
            if variable.get("type") == "query":
                self.regex_vars[name] = variable.get("allValue") or ".+"
            else:
                self.fixed[name] = self._current(variable)
        for name, value in (overrides or {}).items():
            self.regex_vars.pop(name, None)
            self.fixed[name] = value

    @staticmethod
    def _current(variable):
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if current else None
        if isinstance(current, str) and current and current != "$__all":
            return current
        options = variable.get("options") or []
        if options and isinstance(options[0].get("value"), str):
            return options[0]["value"]
        first = variable_query(variable).split(",")[0].strip()
        return first or "prometheus"

    def _value(self, name, regex_context):
        if name in self.regex_vars:
            return self.regex_vars[name] if regex_context else ".+"
        if name in self.fixed:
            return self.fixed[name]
        if self.strict:
            raise KeyError(name)
        return ".+"

    def _matcher(self, match):
        label, op, value = match.group(1), match.group(2), match.group(3)
        names = var_refs(value)
        if not names:
            return match.group(0)
        becomes_regex = op in ("=~", "!~") or any(n in self.regex_vars for n in names)
        if becomes_regex and op in ("=", "!="):
            op = "=~" if op == "=" else "!~"
            pieces = VAR_REF.split(value)
            # split() interleaves literal text with the 3 capture groups.
            out = []
            for index in range(0, len(pieces), 4):
                out.append(re.escape(pieces[index]).replace("\\", "\\\\"))
                if index + 3 < len(pieces):
                    name = pieces[index + 1] or pieces[index + 2] or pieces[index + 3]
                    out.append(self._value(name, True))
            return f'{label}{op}"{"".join(out)}"'
        value = VAR_REF.sub(lambda m: self._value(m.group(1) or m.group(2) or m.group(3), becomes_regex), value)
        return f'{label}{op}"{value}"'

    def substitute(self, expr):
        expr = re.sub(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', self._matcher, expr)
        return VAR_REF.sub(lambda m: self._value(m.group(1) or m.group(2) or m.group(3), False), expr)


def metric_names(expr):
    """Metric names used in a (variable-free) PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"#[^\n]*", " ", text)
    text = re.sub(r"\{[^}]*\}", "{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", text)
    names = []
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)", text):
        name = match.group(1)
        rest = text[match.end():].lstrip()
        if name.lower() in PROMQL_KEYWORDS:
            continue
        if rest.startswith("(") or re.match(r"(by|without)\b", rest):
            continue  # function or aggregation operator
        names.append(name)
    return names


def rule_expressions(path):
    """(rule name, expr) for each rule of a Prometheus rule file."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        import yaml  # optional; the fallback below covers our rule files
    except ImportError:
        return _rule_expressions_without_yaml(text)
    document = yaml.safe_load(text) or {}
    found = []
    for group in document.get("groups", []) or []:
        for rule in group.get("rules", []) or []:
            found.append((rule.get("alert") or rule.get("record") or "?", str(rule.get("expr", ""))))
    return found


def _rule_expressions_without_yaml(text):
    lines = text.split("\n")
    found, name, index = [], "?", 0
    while index < len(lines):
        line = lines[index]
        index += 1
        named = re.match(r"^\s*(?:-\s+)?(alert|record):\s*(\S.*?)\s*$", line)
        if named:
            name = named.group(2).strip("'\"")
            continue
        keyed = re.match(r"^(\s*)(?:-\s+)?expr:\s*(.*?)\s*$", line)
        if not keyed:
            continue
        indent, value = len(keyed.group(1)), keyed.group(2)
        body = []
        while index < len(lines) and (not lines[index].strip() or _indent(lines[index]) > indent):
            body.append(lines[index])
            index += 1
        while body and not body[-1].strip():
            body.pop()
        if value[:1] in ("|", ">"):
            width = min((_indent(b) for b in body if b.strip()), default=0)
            joiner = "\n" if value[0] == "|" else " "
            expr = joiner.join(b[width:] for b in body)
        elif value[:1] == '"':
            expr = json.loads(" ".join([value] + [b.strip() for b in body]))
        elif value[:1] == "'":
            expr = " ".join([value] + [b.strip() for b in body])[1:-1].replace("''", "'")
        else:
            expr = " ".join([value] + [b.strip() for b in body])
        found.append((name, expr))
    return found


def _indent(line):
    return len(line) - len(line.lstrip(" "))
