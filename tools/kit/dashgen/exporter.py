"""Exporter health dashboard: scrapes, errors, data freshness, admin, webhook, process."""

from .common import (JOB, Board, dashboard, filtered, fleet_sel, stat, standard_variables, table, targets,
                     thresholds, timeseries, value_map)


def own(metric, extra=""):
    """Selector of an exporter self-metric (no miner label)."""
    return f"{metric}{{{JOB}{extra}}}"


def or_zero(expr):
    """A labelled counter has no series until its first increment: show 0 then
    (`on ()` keeps the zero out as soon as any real series exists)."""
    return f"{expr} or on () vector(0)"


def build():
    b = Board()
    b.row("Exporter")
    b.add(3, 4, stat("Exporter up", targets((own("up"), "{{instance}}")),
                     mappings=value_map({0: ("DOWN", "red"), 1: ("UP", "green")}),
                     steps=thresholds("red", (1, "green")), graph=False))
    b.add(5, 4, stat("Version", targets((own("whatsminer_exporter_build_info"), "{{version}} ({{revision}})")),
                     text_mode="name", graph=False))
    b.add(3, 4, stat("Configured miners", targets((f'sum({own("whatsminer_exporter_miners")})', "miners")),
                     graph=False))
    b.add(3, 4, stat("Miners up", targets((f'sum({filtered(fleet_sel("whatsminer_up"))})', "up"))))
    b.add(3, 4, stat("Config reload", targets(
        (f'min({own("whatsminer_exporter_config_last_reload_successful")})', "reload")),
        mappings=value_map({0: ("FAILED", "red"), 1: ("OK", "green")}), steps=thresholds("red", (1, "green")),
        graph=False))
    b.add(4, 4, stat("Config loaded", targets(
        (f'time() - max({own("whatsminer_exporter_config_last_reload_success_timestamp_seconds")})', "ago")),
        "dtdurations", "Time since the configuration was last (re)loaded successfully.", graph=False))
    b.add(3, 4, stat("Power-off budget left", targets(
        (f'min({own("whatsminer_webhook_budget_remaining")})', "budget")),
        steps=thresholds("red", (1, "orange"), (2, "green")), graph=False))

    b.row("Scrapes")
    durations = filtered(fleet_sel("whatsminer_scrape_duration_seconds"))
    b.add(8, 8, timeseries("Fleet scrape duration", targets(
        (own("whatsminer_exporter_fleet_scrape_duration_seconds"), "{{instance}}")), "s", minimum=0,
        description="Wall time of the last full fleet scrape (compare with the scrape timeout)."))
    b.add(8, 8, timeseries("Miner scrape duration", targets(
        (f"quantile(0.5, {durations})", "p50"), (f"quantile(0.9, {durations})", "p90"),
        (f"max({durations})", "max")), "s", minimum=0))
    b.add(8, 8, timeseries("Scrapes", targets(
        (f'sum by (mode) (rate({own("whatsminer_exporter_scrapes_total")}[$__rate_interval]))', "{{mode}}")),
        "suffix: /s", minimum=0))
    b.add(8, 8, timeseries("Miner errors by reason", targets(
        (f'sum by (reason) (rate({own("whatsminer_exporter_miner_errors_total")}[$__rate_interval]))',
         "{{reason}}")), "suffix: /s", minimum=0, bars=True))
    b.add(8, 8, timeseries("Down miners by reason", targets(
        (f'count by (reason) ({filtered(fleet_sel("whatsminer_down_reason"))} == 1)', "{{reason}}")),
        minimum=0, decimals=0))
    b.add(8, 8, table("Failing commands", targets(
        (f'{filtered(fleet_sel("whatsminer_command_success"))} == 0', ""), instant=True, table=True),
        hide=("Value",), description="Commands that failed the last time they were tried, per miner."))

    b.row("Data freshness")
    age = filtered(fleet_sel("whatsminer_data_age_seconds"))
    b.add(8, 8, timeseries("Data age", targets(
        (f"quantile(0.9, {age})", "p90"), (f"max({age})", "max")), "s", minimum=0,
        description="Age of the data served; grows in background mode or when cached info is shown.",
        steps=thresholds("green", (300, "red"))))
    b.add(8, 8, table("Stalest miners", targets((f"topk(10, {age})", ""), instant=True, table=True), "s",
                      rename={"Value": "data age"}, sort="data age"))
    b.add(8, 8, table("Longest without success", targets(
        (f'topk(10, time() - {filtered(fleet_sel("whatsminer_last_success_timestamp_seconds"))})', ""),
        instant=True, table=True), "dtdurations", rename={"Value": "since last success"},
        sort="since last success"))

    b.row("Admin and webhook")
    b.add(8, 8, timeseries("Admin commands", targets(
        (or_zero(f'sum by (command, result) (increase({own("whatsminer_admin_commands_total")}[$__rate_interval]))'),
         "{{command}} {{result}}")), minimum=0, bars=True))
    b.add(4, 8, stat("Admin auth failures", targets(
        (f'sum(increase({own("whatsminer_admin_auth_failures_total")}[$__range]))', "401")),
        description="Admin requests refused with 401 over the dashboard time range.",
        steps=thresholds("green", (1, "red")), decimals=0))
    b.add(4, 8, stat("Webhook alerts", targets(
        (or_zero(f'sum by (status) (increase({own("whatsminer_webhook_alerts_total")}[$__range]))'), "{{status}}")),
        description="Alerts received from Alertmanager over the dashboard time range.", decimals=0))
    b.add(8, 8, table("Webhook decisions", targets(
        (or_zero(f'sum by (action, result) (increase({own("whatsminer_webhook_actions_total")}[$__range]))'), ""),
        instant=True, table=True), rename={"Value": "count"}, sort="count", decimals=0, links_on_miner=False,
        description="What the webhook did with the alerts over the dashboard time range."))
    b.add(12, 7, timeseries("Webhook decisions over time", targets(
        (or_zero(f'sum by (action, result) (increase({own("whatsminer_webhook_actions_total")}[$__rate_interval]))'),
         "{{action}} {{result}}")), minimum=0, bars=True))
    b.add(12, 7, timeseries("Power-off budget remaining", targets(
        (own("whatsminer_webhook_budget_remaining"), "{{instance}}"),
        (f'increase({own("whatsminer_webhook_state_write_failures_total")}[$__rate_interval])',
         "{{instance}} state file write failures")), "short",
        "Power-offs the webhook may still send in the current window, and failed writes of its "
        "state file ([webhook] state_file): while those fail, a restart would refill the budget.",
        minimum=0, decimals=0))

    b.row("Probe mode", collapsed=True)
    b.add(12, 7, timeseries("Probe duration", targets((own("probe_duration_seconds"), "{{instance}}")),
                            "s", "Per-target /probe duration; only for jobs scraping /probe.", minimum=0))
    b.add(12, 7, timeseries("Probe success", targets((own("probe_success"), "{{instance}}")),
                            minimum=0, maximum=1, decimals=0))

    b.row("Process", collapsed=True)
    b.add(8, 7, timeseries("CPU", targets(
        (f'rate({own("process_cpu_seconds_total")}[$__rate_interval])', "{{instance}}")), "percentunit",
        "CPU seconds per second (1 = one core).", minimum=0))
    b.add(8, 7, timeseries("Memory", targets(
        (own("process_resident_memory_bytes"), "{{instance}} resident")), "bytes", minimum=0))
    b.add(8, 7, timeseries("File descriptors", targets(
        (own("process_open_fds"), "{{instance}} open"), (own("process_max_fds"), "{{instance}} max")),
        minimum=0))

    return dashboard("whatsminer-exporter", "Whatsminer / Exporter health",
                     "Health of whatsminer-exporter itself: scrape durations, errors by reason, data age, "
                     "admin commands, Alertmanager webhook decisions and process metrics.", b,
                     standard_variables(multi_miner=True, window=False))
