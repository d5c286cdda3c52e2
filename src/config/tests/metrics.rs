//! `[metrics]`: profiles, single groups, windows and label overrides give
//! each miner its groups (mistakes: tests/fixtures/config_errors/cases.toml).

use crate::collector::groups::{Group, MetricGroups};
use crate::config::*;

fn load(text: &str) -> Result<Config, ConfigError> {
    from_str(text, Path::new("exporter.toml"))
}

const MINERS: &str = r#"
[[miners]]
address = "127.0.0.1:4028"
labels = { site = "big" }
[[miners]]
address = "127.0.0.2:4028"
labels = { site = "lab", row = "1" }
[[miners]]
address = "127.0.0.3:4028"
"#;

#[test]
fn no_metrics_table_keeps_every_group() {
    let c = load(MINERS).expect("valid");
    assert!(c.miners.iter().all(|m| m.groups == MetricGroups::FULL));
}

#[test]
fn profile_switches_windows_and_overrides_apply_in_order() {
    let text = format!(
        "{MINERS}[metrics]\nprofile = \"large_farm\"\npools = true\n\
         [[metrics.overrides]]\nlabels = {{ site = \"lab\" }}\nprofile = \"full\"\nchip_temperatures = false\n\
         [[metrics.overrides]]\nlabels = {{ site = \"lab\", row = \"1\" }}\nhashrate_windows = [\"rt\"]\n"
    );
    let c = load(&text).expect("valid");
    let big = c.miners[0].groups;
    assert!(big.has(Group::Pools) && !big.has(Group::Boards));
    assert_eq!(big.windows().collect::<Vec<_>>(), ["1m", "15m"]);
    let lab = c.miners[1].groups;
    assert!(lab.has(Group::Boards) && !lab.has(Group::ChipTemperatures));
    assert_eq!(lab.windows().collect::<Vec<_>>(), ["rt"]);
    // No labels: the base only.
    assert_eq!(c.miners[2].groups, big);
    assert_eq!(c.metrics.base, big);
}
