"""Miner detail dashboard: one miner's boards, heat, fans, power, pools, errors."""

from .common import (Board, dashboard, stat, standard_variables, table, targets, thresholds, timeseries,
                     value_map)

UP_MAP = value_map({0: ("DOWN", "red"), 1: ("UP", "green")})
MINING_MAP = value_map({0: ("STOPPED", "orange"), 1: ("MINING", "green")})


def sel(metric, extra=""):
    return f'{metric}{{job="$job", miner="$miner"{extra}}}'


def _rate(metric, extra=""):
    return f"rate({sel(metric, extra)}[$__rate_interval])"


def _status_row(b, hashrate, target, power):
    b.row("Status")
    b.add(2, 4, stat("Scrape", targets((sel("whatsminer_up"), "up")), mappings=UP_MAP,
                     steps=thresholds("red", (1, "green")), graph=False))
    b.add(2, 4, stat("btminer", targets((sel("whatsminer_mining"), "mining")), mappings=MINING_MAP,
                     steps=thresholds("orange", (1, "green")), graph=False))
    b.add(4, 4, stat("Hashrate ($window)", targets((hashrate, "hashrate")), "Hs"))
    b.add(3, 4, stat("Of target", targets((f"{hashrate} / ignoring (window) ({target})", "of target")),
                     "percentunit", "Hashrate over target (factory where no target is reported).",
                     steps=thresholds("red", (0.8, "orange"), (0.95, "green")), decimals=1))
    b.add(3, 4, stat("Power", targets((sel("whatsminer_power_watts"), "power")), "watt"))
    b.add(3, 4, stat("Efficiency", targets(
        (f'{sel("whatsminer_power_watts")} / ignoring (window) ({hashrate} / 1e12)', "J/TH")),
        "suffix: J/TH", decimals=1))
    b.add(3, 4, stat("btminer restarts (1h)", targets(
        (f'resets({sel("whatsminer_mining_elapsed_seconds")}[1h])', "restarts")),
        description="Times `Elapsed` went back to zero in the last hour.",
        steps=thresholds("green", (1, "orange"), (3, "red")), graph=False))
    b.add(4, 4, stat("Error codes", targets((sel("whatsminer_error_codes"), "errors")),
                     steps=thresholds("green", (1, "red")), graph=False))
    b.add(3, 4, stat("Uptime", targets((sel("whatsminer_uptime_seconds"), "uptime")), "dtdurations",
                     graph=False))
    b.add(3, 4, stat("Mining for", targets((sel("whatsminer_mining_elapsed_seconds"), "elapsed")),
                     "dtdurations", graph=False))
    b.add(3, 4, stat("Reboots (24h)", targets((f'resets({sel("whatsminer_uptime_seconds")}[24h])', "reboots")),
                     steps=thresholds("green", (1, "orange")), graph=False))
    b.add(3, 4, stat("Data age", targets((sel("whatsminer_data_age_seconds"), "age")), "s",
                     steps=thresholds("green", (60, "orange"), (300, "red"))))
    b.add(12, 4, table("Miner", targets((sel("whatsminer_miner_info"), ""), instant=True, table=True),
                       hide=("Value",), links_on_miner=False))
    b.add(12, 4, table("PSU", targets((sel("whatsminer_psu_info"), ""), instant=True, table=True),
                       hide=("Value", "miner"), links_on_miner=False))
    b.add(12, 4, table("Last command results", targets(
        (sel("whatsminer_command_success"), ""), instant=True, table=True), links_on_miner=False,
        hide=("miner",), rename={"Value": "ok"}, mappings=value_map({0: ("failed", "red"), 1: ("ok", "green")})))


def build():
    hashrate = sel("whatsminer_hashrate_hashes_per_second", ', window="$window"')
    target = (f'({sel("whatsminer_target_hashrate_hashes_per_second")} > 0) or '
              f'{sel("whatsminer_factory_hashrate_hashes_per_second")}')
    b = Board()
    _status_row(b, hashrate, target, sel("whatsminer_power_watts"))

    b.row("Hashrate")
    b.add(12, 8, timeseries("Hashrate", targets(
        (sel("whatsminer_hashrate_hashes_per_second"), "{{window}}"),
        (sel("whatsminer_target_hashrate_hashes_per_second"), "target"),
        (sel("whatsminer_factory_hashrate_hashes_per_second"), "factory")), "Hs", minimum=0))
    b.add(12, 8, timeseries("Hashrate per board ($window)", targets(
        (sel("whatsminer_board_hashrate_hashes_per_second", ', window="$window"'), "board {{board}}")),
        "Hs", minimum=0))
    b.add(8, 6, timeseries("Boards alive", targets((sel("whatsminer_board_alive"), "board {{board}}")),
                           minimum=0, maximum=1, decimals=0))
    b.add(8, 6, timeseries("Effective chips", targets(
        (sel("whatsminer_board_effective_chips"), "board {{board}}")), minimum=0, decimals=0))
    b.add(8, 6, timeseries("Hardware errors", targets(
        (_rate("whatsminer_board_hardware_errors_total"), "board {{board}}")), "suffix: /s", minimum=0))

    b.row("Temperatures")
    b.add(12, 8, timeseries("Board temperatures", targets(
        (sel("whatsminer_board_temperature_celsius"), "board {{board}}"),
        (sel("whatsminer_temperature_celsius"), "average"),
        (sel("whatsminer_environment_temperature_celsius"), "environment")), "celsius",
        steps=thresholds("green", (85, "orange"), (95, "red"))))
    b.add(12, 8, timeseries("Chip temperatures", targets(
        (sel("whatsminer_chip_temperature_celsius"), "chips {{stat}}"),
        (sel("whatsminer_board_chip_temperature_celsius", ', stat="max"'), "board {{board}} max")), "celsius",
        steps=thresholds("green", (105, "orange"), (115, "red"))))

    b.row("Frequency and fans")
    b.add(12, 8, timeseries("Frequency", targets(
        (sel("whatsminer_frequency_hertz"), "average"),
        (sel("whatsminer_target_frequency_hertz"), "target"),
        (sel("whatsminer_board_frequency_hertz"), "board {{board}}")), "hertz"))
    b.add(12, 8, timeseries("Fans", targets(
        (sel("whatsminer_fan_speed_rpm"), "{{fan}}"),
        (sel("whatsminer_psu_fan_speed_rpm"), "PSU (get_psu)")), "rotrpm", minimum=0))

    b.row("Power")
    b.add(8, 8, timeseries("Power", targets(
        (sel("whatsminer_power_watts"), "power"), (sel("whatsminer_power_limit_watts"), "limit")),
        "watt", minimum=0))
    b.add(8, 8, timeseries("Efficiency", targets(
        (f'{sel("whatsminer_power_watts")} / ignoring (window) ({hashrate} / 1e12)', "power / hashrate"),
        (f'{sel("whatsminer_efficiency_joules_per_hash")} * 1e12', "reported by miner")), "suffix: J/TH"))
    b.add(4, 8, timeseries("PSU input voltage", targets(
        (sel("whatsminer_psu_input_voltage_volts"), "voltage")), "volt"))
    b.add(4, 8, timeseries("PSU input current", targets(
        (sel("whatsminer_psu_input_current_amperes"), "current")), "amp"))

    b.row("Shares and pools")
    accepted, rejected = _rate("whatsminer_shares_accepted_total"), _rate("whatsminer_shares_rejected_total")
    b.add(8, 8, timeseries("Shares", targets((accepted, "accepted"), (rejected, "rejected")),
                           "suffix: /s", minimum=0))
    b.add(8, 8, timeseries("Reject ratio", targets(
        (f"{rejected} / ({accepted} + {rejected})", "rejected")), "percentunit", minimum=0))
    b.add(8, 8, timeseries("Accepted difficulty by pool", targets(
        (_rate("whatsminer_pool_difficulty_accepted_total"), "{{pool}} {{url}}")), "short", minimum=0))
    b.add(24, 7, table("Pools", targets(
        (sel("whatsminer_pool_up"), ""),
        (sel("whatsminer_pool_stratum_active"), ""),
        (sel("whatsminer_pool_priority"), ""),
        (sel("whatsminer_pool_shares_accepted_total"), ""),
        (sel("whatsminer_pool_shares_rejected_total"), ""),
        (sel("whatsminer_pool_shares_stale_total"), ""),
        (sel("whatsminer_pool_stratum_difficulty"), ""),
        (f'time() - {sel("whatsminer_pool_last_share_timestamp_seconds")}', ""),
        instant=True, table=True), merge=True, links_on_miner=False, hide=("miner",),
        rename={"Value #A": "alive", "Value #B": "active", "Value #C": "priority", "Value #D": "accepted",
                "Value #E": "rejected", "Value #F": "stale", "Value #G": "difficulty",
                "Value #H": "last share (s ago)"}))

    b.row("Errors and restarts")
    b.add(8, 8, table("Active error codes", targets(
        (f'{sel("whatsminer_error_code_info")} == 1', ""), instant=True, table=True),
        hide=("Value", "miner"), links_on_miner=False))
    b.add(8, 8, timeseries("Restarts", targets(
        (f'resets({sel("whatsminer_mining_elapsed_seconds")}[1h])', "btminer restarts (1h)"),
        (f'resets({sel("whatsminer_uptime_seconds")}[1h])', "reboots (1h)")), minimum=0, decimals=0))
    b.add(8, 8, timeseries("Uptime", targets(
        (sel("whatsminer_uptime_seconds"), "system uptime"),
        (sel("whatsminer_mining_elapsed_seconds"), "btminer elapsed")), "dtdurations", minimum=0))
    b.add(12, 7, timeseries("Scrape of this miner", targets(
        (sel("whatsminer_scrape_duration_seconds"), "scrape duration"),
        (sel("whatsminer_data_age_seconds"), "data age")), "s", minimum=0))
    b.add(12, 7, table("Last failure reason", targets(
        (f'{sel("whatsminer_down_reason")} == 1', ""), instant=True, table=True),
        hide=("Value", "miner"), links_on_miner=False,
        description="Empty while the miner answers."))

    return dashboard("whatsminer-miner", "Whatsminer / Miner detail",
                     "One miner from whatsminer-exporter: hashboards, temperatures, frequency, fans, power, "
                     "shares, pools, error codes, uptime and restarts.", b, standard_variables(multi_miner=False))
