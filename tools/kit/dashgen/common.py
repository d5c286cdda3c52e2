"""Builders for Grafana dashboard JSON (schemaVersion 39, Grafana >= 10.3).

Every panel and target uses the datasource uid `${DS_PROMETHEUS}`. The name
works both ways a dashboard is loaded: the UI import replaces it with the
datasource picked for the `DS_PROMETHEUS` input, and a provisioned dashboard
resolves it through the `DS_PROMETHEUS` datasource variable (first in the
templating list, defaulting to the default Prometheus datasource).
"""

DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
GRID_WIDTH = 24

# Label filters shared by the dashboards.
JOB = 'job="$job"'
# Drops the miners whose model is known and not selected; keeps unknown ones.
MODEL_FILTER = 'unless on (job, instance, miner) whatsminer_miner_info{job="$job", model!~"$model"}'
# Adds the `model` label of whatsminer_miner_info to per-miner series.
MODEL_JOIN = (
    "* on (job, instance, miner) group_left (model) "
    'group by (job, instance, miner, model) (whatsminer_miner_info{job="$job", model=~"$model"})'
)

MINER_LINK = {
    "title": "Miner detail",
    "url": "/d/whatsminer-miner/whatsminer-miner?var-job=${job}&var-miner=${__data.fields.miner}&${__url_time_range}",
}


def ds():
    return dict(DS)


def fleet_sel(metric, extra=""):
    """Selector of a per-miner metric for the selected job and miners."""
    return f'{metric}{{job="$job", miner=~"$miner"{extra}}}'


def filtered(expr):
    """Applies the model filter to a per-miner vector expression."""
    return f"({expr} {MODEL_FILTER})"


def target(expr, legend="__auto", ref="A", instant=False, table=False):
    out = {
        "datasource": ds(),
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if table:
        out["format"] = "table"
    return out


def targets(*specs, **common):
    """targets(("expr", "legend"), ...) with refIds A, B, C, ..."""
    return [target(expr, legend, chr(ord("A") + i), **common) for i, (expr, legend) in enumerate(specs)]


def thresholds(*steps):
    """thresholds("green", (80, "orange"), (95, "red"))"""
    out = [{"color": steps[0], "value": None}]
    out += [{"color": color, "value": value} for value, color in steps[1:]]
    return {"mode": "absolute", "steps": out}


def value_map(mapping):
    """value_map({0: ("DOWN", "red"), 1: ("UP", "green")})"""
    options = {str(k): {"text": text, "color": color, "index": i} for i, (k, (text, color)) in enumerate(mapping.items())}
    return [{"type": "value", "options": options}]


def _defaults(unit, decimals=None, minimum=None, maximum=None, steps=None, mappings=None):
    out = {"unit": unit, "thresholds": steps or thresholds("green"), "mappings": mappings or []}
    out["color"] = {"mode": "thresholds" if steps else "palette-classic"}
    if decimals is not None:
        out["decimals"] = decimals
    if minimum is not None:
        out["min"] = minimum
    if maximum is not None:
        out["max"] = maximum
    return out


def timeseries(title, tgts, unit="short", description="", minimum=None, maximum=None, bars=False,
               steps=None, overrides=None, decimals=None):
    defaults = _defaults(unit, decimals, minimum, maximum, steps)
    defaults["color"] = {"mode": "palette-classic"}
    defaults["custom"] = {
        "drawStyle": "bars" if bars else "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 60 if bars else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "pointSize": 5,
        "spanNulls": False,
        "stacking": {"mode": "normal" if bars else "none", "group": "A"},
        "axisPlacement": "auto",
        "axisLabel": "",
        "axisBorderShow": False,
        "scaleDistribution": {"type": "linear"},
        "thresholdsStyle": {"mode": "line" if steps else "off"},
    }
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": ds(),
        "targets": tgts,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True,
                       "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(title, tgts, unit="short", description="", steps=None, mappings=None, decimals=None,
         graph=True, text_mode="auto", calc="lastNotNull"):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": ds(),
        "targets": tgts,
        "fieldConfig": {"defaults": _defaults(unit, decimals, steps=steps, mappings=mappings), "overrides": []},
        "options": {
            "reduceOptions": {"calcs": [calc], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": text_mode,
            "colorMode": "value" if steps else "none",
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    }


def table(title, tgts, unit="short", description="", hide=(), rename=None, sort=None, steps=None,
          links_on_miner=True, decimals=None, merge=False, mappings=None):
    """Instant table; `hide` lists columns to drop, `rename` maps column names."""
    exclude = {"Time": True, "__name__": True, "job": True, "instance": True}
    exclude.update({name: True for name in hide})
    transformations = [{"id": "merge", "options": {}}] if merge else []
    transformations.append({"id": "organize", "options": {
        "excludeByName": exclude, "renameByName": rename or {}, "indexByName": {}}})
    overrides = []
    if links_on_miner:
        overrides.append({"matcher": {"id": "byName", "options": "miner"},
                          "properties": [{"id": "links", "value": [MINER_LINK]}]})
    panel = {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": ds(),
        "targets": tgts,
        "fieldConfig": {"defaults": _defaults(unit, decimals, steps=steps, mappings=mappings), "overrides": overrides},
        "options": {"showHeader": True, "cellHeight": "sm",
                    "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        "transformations": transformations,
    }
    if steps:
        panel["fieldConfig"]["defaults"]["custom"] = {"cellOptions": {"type": "color-text"}}
    if sort:
        panel["options"]["sortBy"] = [{"displayName": sort, "desc": True}]
    return panel


class Board:
    """Lays panels out left to right in rows of 24 grid units, numbering them."""

    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.x = self.y = self.line_height = 0
        self.collapsed_row = None

    def _newline(self):
        if self.x:
            self.y += self.line_height
        self.x = self.line_height = 0

    def row(self, title, collapsed=False):
        self._newline()
        row = {"type": "row", "title": title, "id": self.next_id, "collapsed": collapsed,
               "datasource": ds(), "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self.y}, "panels": []}
        self.next_id += 1
        self.y += 1
        self.panels.append(row)
        self.collapsed_row = row if collapsed else None

    def add(self, width, height, panel):
        if self.x + width > GRID_WIDTH:
            self._newline()
        panel["id"] = self.next_id
        self.next_id += 1
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.x += width
        self.line_height = max(self.line_height, height)
        (self.collapsed_row["panels"] if self.collapsed_row else self.panels).append(panel)


def var_datasource():
    return {"type": "datasource", "name": "DS_PROMETHEUS", "label": "Data source", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def var_query(name, label, query, multi=False, include_all=False, all_value=None, regex="", current=None):
    return {"type": "query", "name": name, "label": label, "datasource": ds(), "definition": query,
            "query": {"query": query, "refId": "StandardVariableQuery"}, "refresh": 2, "regex": regex,
            "sort": 1, "multi": multi, "includeAll": include_all, "allValue": all_value,
            "current": current or ({"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {}),
            "options": [], "hide": 0, "skipUrlSync": False}


def var_custom(name, label, values, default, description=""):
    return {"type": "custom", "name": name, "label": label, "description": description, "query": ",".join(values),
            "current": {"selected": True, "text": default, "value": default},
            "options": [{"selected": v == default, "text": v, "value": v} for v in values],
            "multi": False, "includeAll": False, "hide": 0, "skipUrlSync": False}


def standard_variables(multi_miner=True, window=True):
    """DS_PROMETHEUS, job, model, miner[, window]: each uses only those before it."""
    miner_query = (
        'query_result(whatsminer_up{job="$job"} unless on (job, instance, miner) '
        'whatsminer_miner_info{job="$job", model!~"$model"})'
    )
    variables = [
        var_datasource(),
        var_query("job", "Job", "label_values(whatsminer_up, job)",
                  current={"selected": False, "text": "whatsminer", "value": "whatsminer"}),
        var_query("model", "Model", 'label_values(whatsminer_miner_info{job="$job"}, model)',
                  multi=True, include_all=True, all_value=".*"),
        var_query("miner", "Miner", miner_query, multi=multi_miner, include_all=multi_miner,
                  all_value=".+" if multi_miner else None, regex='/miner="([^"]+)"/'),
    ]
    if window:
        variables.append(var_custom(
            "window", "Hashrate window", ["1m", "15m", "avg", "5s", "5m", "rt"], "1m",
            "Hashrate averaging window reported by the firmware (1m, 15m and avg exist on every firmware)."))
    return variables


def dashboard(uid, title, description, board, variables):
    panel_types = sorted({p["type"] for p in board.panels} |
                         {n["type"] for p in board.panels for n in p.get("panels", [])})
    requires = [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.3.0"},
                {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}]
    requires += [{"type": "panel", "id": t, "name": t, "version": ""} for t in panel_types if t != "row"]
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus",
                      "description": "Prometheus that scrapes whatsminer-exporter",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__elements": {},
        "__requires": requires,
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": False, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": ["whatsminer"], "targetBlank": False, "title": "Whatsminer", "tooltip": "",
                   "type": "dashboards", "url": ""}],
        "panels": board.panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["whatsminer"],
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
