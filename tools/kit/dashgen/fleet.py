"""Fleet overview dashboard: hashrate, availability, heat, fans, power, pools."""

from .common import (MODEL_JOIN, Board, dashboard, filtered, fleet_sel, stat, standard_variables, table,
                     targets, thresholds, timeseries)

WINDOW = ', window="$window"'
CHIP_MAX = ', stat="max"'


def _rate(metric):
    return filtered(f"rate({fleet_sel(metric)}[$__rate_interval])")


def build():
    hashrate = filtered(fleet_sel("whatsminer_hashrate_hashes_per_second", WINDOW))
    target = (f'({filtered(fleet_sel("whatsminer_target_hashrate_hashes_per_second"))} > 0) or '
              f'{filtered(fleet_sel("whatsminer_factory_hashrate_hashes_per_second"))}')
    power = filtered(fleet_sel("whatsminer_power_watts"))
    up = filtered(fleet_sel("whatsminer_up"))
    accepted = _rate("whatsminer_pool_shares_accepted_total")
    rejected = _rate("whatsminer_pool_shares_rejected_total")
    fans = filtered(fleet_sel("whatsminer_fan_speed_rpm", ', fan=~"in|out"'))
    info = 'whatsminer_miner_info{job="$job", model=~"$model", miner=~"$miner"}'

    b = Board()
    b.row("Fleet")
    b.add(4, 4, stat("Total hashrate", targets((f"sum({hashrate})", "hashrate")), "Hs",
                     "Sum of the selected hashrate window over the selected miners."))
    b.add(4, 4, stat("Hashrate vs target", targets((f"sum({hashrate}) / sum({target})", "of target")),
                     "percentunit", "Total hashrate over total target hashrate (factory hashrate where the "
                     "firmware reports no target).", steps=thresholds("red", (0.9, "orange"), (0.97, "green")),
                     decimals=1))
    b.add(3, 4, stat("Miners up", targets((f"sum({up})", "up")), steps=thresholds("green")))
    b.add(3, 4, stat("Miners down", targets((f"count({up} == 0) or vector(0)", "down")),
                     description="Miners whose `summary` failed in the last scrape.",
                     steps=thresholds("green", (1, "red"))))
    b.add(3, 4, stat("Not mining", targets(
        (f'count({filtered(fleet_sel("whatsminer_mining"))} == 0) or vector(0)', "stopped")),
        description="Miners answering but with btminer stopped (e.g. after power_off).",
        steps=thresholds("green", (1, "orange"))))
    b.add(3, 4, stat("Total power", targets((f"sum({power})", "power")), "watt"))
    b.add(4, 4, stat("Fleet efficiency", targets(
        (f"sum({power}) / (sum({hashrate}) / 1e12)", "J/TH")), "suffix: J/TH",
        "Total power over total hashrate, in joules per terahash.", decimals=1))

    b.row("Hashrate")
    b.add(12, 8, timeseries("Fleet hashrate vs target", targets(
        (f"sum({hashrate})", "hashrate ($window)"), (f"sum({target})", "target")), "Hs", minimum=0))
    b.add(12, 8, timeseries("Hashrate by model", targets(
        (f"sum by (model) ({hashrate} {MODEL_JOIN})", "{{model}}")), "Hs", minimum=0))
    b.add(12, 8, timeseries("Hashrate vs target by model", targets(
        (f"sum by (model) ({hashrate} {MODEL_JOIN}) / sum by (model) (({target}) {MODEL_JOIN})", "{{model}}")),
        "percentunit", "Per-model attainment of the target (or factory) hashrate.", minimum=0))
    b.add(12, 8, table("Miners by model and firmware", targets(
        (f"count by (model, firmware) ({info})", ""), instant=True, table=True),
        rename={"Value": "miners"}, sort="miners", links_on_miner=False))

    b.row("Availability and health")
    b.add(8, 8, table("Down miners", targets(
        (f'{filtered(fleet_sel("whatsminer_down_reason"))} == 1', ""), instant=True, table=True),
        hide=("Value",), description="Miners that failed their last scrape, with the failure reason."))
    b.add(8, 8, table("Hottest miners (chip max)", targets(
        (f'topk(10, {filtered(fleet_sel("whatsminer_chip_temperature_celsius", CHIP_MAX))})', ""),
        instant=True, table=True), "celsius", hide=("stat",), rename={"Value": "chip max"}, sort="chip max",
        steps=thresholds("green", (95, "orange"), (110, "red"))))
    b.add(8, 8, table("Hottest miners (board)", targets(
        (f'topk(10, max without (board) ({filtered(fleet_sel("whatsminer_board_temperature_celsius"))}))', ""),
        instant=True, table=True), "celsius", rename={"Value": "board max"}, sort="board max",
        steps=thresholds("green", (80, "orange"), (90, "red"))))
    b.add(8, 8, table("Fan outliers", targets(
        (f"sort_desc(abs({fans} / on (job, fan) group_left () quantile by (job, fan) (0.5, {fans}) - 1) > 0.2)", ""),
        instant=True, table=True), "percentunit",
        "Fans whose speed differs by more than 20% from the fleet median of the same fan position.",
        rename={"Value": "deviation from median"}, sort="deviation from median", decimals=0))
    b.add(8, 8, table("Dead hashboards", targets(
        (f'{filtered(fleet_sel("whatsminer_board_alive"))} == 0', ""), instant=True, table=True),
        hide=("Value",)))
    b.add(8, 8, table("Active error codes", targets(
        (f'sort_desc(count by (code) ({filtered(fleet_sel("whatsminer_error_code_info"))} == 1))', ""),
        instant=True, table=True), rename={"Value": "miners"}, sort="miners", links_on_miner=False))
    b.add(12, 8, timeseries("Temperatures", targets(
        (f'max({filtered(fleet_sel("whatsminer_chip_temperature_celsius", CHIP_MAX))})', "chip max"),
        (f'max({filtered(fleet_sel("whatsminer_temperature_celsius"))})', "board max"),
        (f'avg({filtered(fleet_sel("whatsminer_temperature_celsius"))})', "board avg"),
        (f'avg({filtered(fleet_sel("whatsminer_environment_temperature_celsius"))})', "environment avg")),
        "celsius"))
    b.add(12, 8, timeseries("Miners up / down", targets(
        (f"sum({up})", "up"), (f"count({up} == 0) or vector(0)", "down")), minimum=0, decimals=0))

    b.row("Power and efficiency")
    b.add(8, 8, timeseries("Power by model", targets(
        (f"sum by (model) ({power} {MODEL_JOIN})", "{{model}}")), "watt", minimum=0))
    b.add(8, 8, timeseries("Efficiency by model", targets(
        (f"sum by (model) ({power} {MODEL_JOIN}) / (sum by (model) ({hashrate} {MODEL_JOIN}) / 1e12)", "{{model}}")),
        "suffix: J/TH", "Power over hashrate (joules per terahash); lower is better.", decimals=1))
    b.add(8, 8, table("Least efficient miners", targets(
        (f"topk(10, {power} / ignoring (window) (({hashrate} > 0) / 1e12))", ""), instant=True, table=True),
        "suffix: J/TH", "Miners with the highest power per terahash.", rename={"Value": "J/TH"}, sort="J/TH",
        decimals=1))

    b.row("Pools")
    b.add(4, 8, stat("Pool acceptance", targets(
        (f"sum({accepted}) / (sum({accepted}) + sum({rejected}))", "accepted")), "percentunit",
        "Accepted shares over accepted + rejected shares, all pools.",
        steps=thresholds("red", (0.97, "orange"), (0.99, "green")), decimals=2))
    b.add(4, 8, stat("Miners without alive pool", targets(
        (f'count(max without (pool, url, user) ({filtered(fleet_sel("whatsminer_pool_up"))}) == 0) or vector(0)',
         "miners")), steps=thresholds("green", (1, "red"))))
    b.add(8, 8, timeseries("Acceptance ratio by pool", targets(
        (f"sum by (url) ({accepted}) / (sum by (url) ({accepted}) + sum by (url) ({rejected}))", "{{url}}")),
        "percentunit", maximum=1))
    b.add(8, 8, timeseries("Accepted difficulty by pool", targets(
        (f'sum by (url) ({_rate("whatsminer_pool_difficulty_accepted_total")})', "{{url}}")),
        "short", "Accepted share difficulty per second, a proxy of the hashrate the pool credits."))

    return dashboard("whatsminer-fleet", "Whatsminer / Fleet overview",
                     "Fleet-wide hashrate, availability, temperatures, fans, power, efficiency and pools "
                     "from whatsminer-exporter.", b, standard_variables(multi_miner=True))
