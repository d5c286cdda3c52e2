//! Firmware personas: a simulated miner that plays one real firmware
//! generation, with the request keys, reply shapes, field sets and units of
//! that generation's captured replies. A miner without a persona keeps the
//! simulator's original, generic replies (`replies`), which follow the
//! protocol notes rather than one capture.
//!
//! Each persona is modelled on public captures of real miners (the fixtures
//! README of `tests/fixtures/v2` names the sources of the ones kept there):
//!
//! - `cgminer-4.9.2` (2020 M20S/M30S, STATUS `Description` `cgminer 4.9.2`):
//!   the M30S on 20200512.13.REL and the M20S on 20200917.22.REL of
//!   `delawr0190/foreman-apps`, `foreman-whatsminer/src/test/java/mn/foreman/
//!   whatsminer/WhatsminerStatsITest.java` (commit 8f99ba0). The M30S answers
//!   `{"cmd":…}` with `Code 24 "Missing JSON 'command'"` in the list form; the
//!   M20S sends `"Firmware Version":"\'20200917.22.REL\'"` (invalid JSON) in
//!   `summary`. Pools count from 0. cgminer's own `api.c` (ckolivas/cgminer,
//!   commit b8491c6) gives the joined form `{"summary":[<reply>],…,"id":1}`,
//!   `Code 14 "Invalid command"` for an unknown command and `Code 45 "Access
//!   denied to 'x' command"` for one that cannot join. No capture shows a
//!   joined read nor the Whatsminer-specific commands (`get_*`, `status`) on
//!   this firmware: the persona answers joins as cgminer does and the
//!   Whatsminer commands (so also `get_token` and the writes) as unknown.
//! - `btminer-2021` (`Description` `btminer`): the M31S on 20201202.22.REL
//!   (summary, edevs, pools) and on 20210109.22.REL (a joined
//!   `pools+summary+edevs` read sent with `cmd`) of the same foreman test, and
//!   `fw20210322_*` (asic-rs). `HS RT`, `Power_RT`, `Power Rate`, per-board
//!   `Fan Speed In/Out`; pools count from 1.
//! - `btminer-2022`: `m30sve20_*` (M30SVE20, 20220422.18.REL, API 2.0.3) and
//!   `m30splus_2022_*`: STATUS lists without `When`/`Code`/`Description`, the
//!   shorter summary (no `Power_RT`, no per-board fans in those captures).
//! - `firmware-2025`: the M7BS on 20260312.16.REL3 (API 2.2.2) of
//!   `tetherto/miningos-wrk-miner-whatsminer`, `tests/unit/
//!   miner-rel3-v2compat.test.js` (commit b69542a): `Msg`-wrapped summary with
//!   its 24 fields, boards by `Slot` in TH/s, `Hash Stable` `"true"`. That
//!   capture has four boards; the simulator has three. The `devdetails` reply
//!   (`Code 132 "This command is deprecated."`) is from the protocol notes;
//!   its envelope is not in any capture found, so it uses the `Msg` error form.
//! - `v3`: the existing API v3 miners (see `super::v3`).
//!
//! The fixtures of those captures are `m20s_fw20200917_*`, `m30s_fw20200512_*`,
//! `m31s_fw20201202_*`, `m30sve20_*` and `m7bs_fw20260312_*`; the tests of
//! `super::tests::captures` hold each persona's field names to them.
//!
//! Request keys: pyasic reads with `command` and sends `get_token` with it
//! too; the seed client and the foreman joined read use `cmd`; both work on
//! btminer firmware (notes, "Real firmware diversity"). Whether btminer
//! joins reads is not captured beyond 2021: pyasic's v2 code joins on all
//! of them, and so do these personas except `firmware-2025` (see
//! [`Persona::joins_by_default`]); a scenario's `joins = …` or
//! [`super::MinerHandle::set_joins`] says otherwise.

use std::str::FromStr;

use super::model::{Firmware, Flavour, Model};

/// One firmware generation a simulated miner can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    Cgminer492,
    Btminer2021,
    Btminer2022,
    Firmware2025,
    V3,
}

/// Which JSON key names the command of a plain request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKeys {
    /// Only `command` (cgminer); a request without it gets Code 24.
    CommandOnly,
    /// `cmd` or `command` (btminer).
    Both,
}

/// Shape of `summary`, `devs`/`edevs` and `pools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    /// The simulator's original replies (`super::replies`).
    Generic,
    /// cgminer 4.9.2 era: full cgminer field sets, pools from 0.
    Cgminer,
    /// btminer 2021: cgminer field sets plus `HS RT`, `Power Rate`, pools from 1.
    Btminer2021,
    /// btminer 2022: short STATUS lists and the shorter field sets.
    Btminer2022,
    /// 2025–2026: wrapped summary, boards by `Slot` in TH/s.
    Firmware2025,
}

/// What a persona changes in the miner's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traits {
    pub keys: RequestKeys,
    pub shapes: Shapes,
    /// `Description` of list-form STATUS entries (`None`: the entry has none).
    pub description: Option<&'static str>,
    /// Errors in the cgminer list form (`{"STATUS":[{..}],"id":1}`).
    pub list_errors: bool,
    /// Knows the Whatsminer-specific commands (`get_*`, `status`, writes).
    pub whatsminer_commands: bool,
    /// `devdetails` answers Code 132 (deprecated).
    pub devdetails_deprecated: bool,
}

impl Traits {
    /// A miner without a persona: the original generic replies, both keys.
    pub const GENERIC: Traits = Traits {
        keys: RequestKeys::Both,
        shapes: Shapes::Generic,
        description: Some("btminer"),
        list_errors: false,
        whatsminer_commands: true,
        devdetails_deprecated: false,
    };
}

/// Firmware builds of the personas (see the module docs for the captures).
pub const FW_CGMINER_M30S: Firmware = Firmware {
    version: "20200512.13.REL",
    api_version: "cgminer 4.9.2",
    flavour: Flavour::Classic,
};
pub const FW_CGMINER_M20S: Firmware = Firmware {
    version: "20200917.22.REL",
    api_version: "cgminer 4.9.2",
    flavour: Flavour::Classic,
};
pub const FW_BTMINER_2021: Firmware = Firmware {
    version: "20210109.22.REL",
    api_version: "whatsminer v1.3",
    flavour: Flavour::Classic,
};
pub const FW_BTMINER_2022: Firmware = Firmware {
    version: "20220422.18.REL",
    api_version: "2.0.3",
    flavour: Flavour::Classic,
};
pub const FW_2025: Firmware = Firmware {
    version: "20260312.16.REL3",
    api_version: "2.2.2",
    flavour: Flavour::Wrapped,
};

impl Persona {
    pub const ALL: [Persona; 5] = [
        Persona::Cgminer492,
        Persona::Btminer2021,
        Persona::Btminer2022,
        Persona::Firmware2025,
        Persona::V3,
    ];

    /// The name used by `simulate --personas` and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Persona::Cgminer492 => "cgminer-4.9.2",
            Persona::Btminer2021 => "btminer-2021",
            Persona::Btminer2022 => "btminer-2022",
            Persona::Firmware2025 => "firmware-2025",
            Persona::V3 => "v3",
        }
    }

    pub fn traits(self) -> Traits {
        let btminer = |shapes| Traits {
            shapes,
            ..Traits::GENERIC
        };
        match self {
            Persona::Cgminer492 => Traits {
                keys: RequestKeys::CommandOnly,
                shapes: Shapes::Cgminer,
                description: Some("cgminer 4.9.2"),
                list_errors: true,
                whatsminer_commands: false,
                devdetails_deprecated: false,
            },
            Persona::Btminer2021 => btminer(Shapes::Btminer2021),
            Persona::Btminer2022 => Traits {
                description: None,
                ..btminer(Shapes::Btminer2022)
            },
            Persona::Firmware2025 => Traits {
                description: None,
                devdetails_deprecated: true,
                ..btminer(Shapes::Firmware2025)
            },
            Persona::V3 => Traits::GENERIC,
        }
    }

    /// The firmware build this persona runs on `model`. The cgminer
    /// persona's M20S runs the build that sends `\'`; its other models the
    /// M30S build, which quotes plainly.
    pub fn firmware(self, model: Model) -> Firmware {
        match self {
            Persona::Cgminer492 if model == Model::M20S => FW_CGMINER_M20S,
            Persona::Cgminer492 => FW_CGMINER_M30S,
            Persona::Btminer2021 => FW_BTMINER_2021,
            Persona::Btminer2022 => FW_BTMINER_2022,
            Persona::Firmware2025 => FW_2025,
            Persona::V3 => super::v3::FIRMWARE,
        }
    }

    /// Whether the firmware answers joined reads unless told otherwise. No
    /// capture shows one on 2025–2026 firmware; pyasic talks API v3 to
    /// firmware built after 2024-11, and its v2 joined-read code cannot
    /// read a `Msg`-wrapped part (a TypeError in its reply check), so that
    /// persona refuses joins by default.
    pub fn joins_by_default(self) -> bool {
        self != Persona::Firmware2025
    }

    /// Whether the firmware escapes the quotes of its version string as
    /// `\'` in `summary` (the M20S 20200917.22.REL capture).
    pub fn escapes_quotes(firmware: &Firmware) -> bool {
        firmware.version == FW_CGMINER_M20S.version
    }
}

impl FromStr for Persona {
    type Err = String;

    fn from_str(text: &str) -> Result<Persona, String> {
        let wanted = text.trim();
        Persona::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Persona::ALL.iter().map(|p| p.name()).collect();
                format!("unknown persona {wanted:?} ({})", names.join("|"))
            })
    }
}

impl std::fmt::Display for Persona {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Persona::ALL {
            assert_eq!(p.name().parse::<Persona>(), Ok(p));
        }
        assert_eq!("BTMINER-2021".parse::<Persona>(), Ok(Persona::Btminer2021));
        let err = "cgminer-5".parse::<Persona>().expect_err("unknown");
        assert!(err.contains("cgminer-4.9.2"), "{err}");
    }

    #[test]
    fn scenario_files_give_personas_and_refuse_joins() {
        let text = r#"
            [[fault]]
            kind = "reset"
            miners = [2]

            [[persona]]
            kind = "cgminer-4.9.2"
            miners = [0, 2]

            [[persona]]
            kind = "firmware-2025"
            range = "1..2"
            joins = false
        "#;
        let (personas, refuse) =
            crate::sim::fault::parse_scenario_personas(text, 3).expect("valid");
        assert_eq!(
            personas,
            [
                (0, Persona::Cgminer492),
                (2, Persona::Cgminer492),
                (1, Persona::Firmware2025)
            ]
        );
        assert_eq!(refuse, [(1, false)]);
        assert_eq!(
            crate::sim::parse_scenario(text, 3).expect("faults").len(),
            1
        );
        for bad in [
            "[[persona]]\nkind = \"cgminer-5\"\nminers = [0]\n",
            "[[persona]]\nkind = \"v3\"\nminers = [3]\n",
            "[[persona]]\nkind = \"v3\"\nminers = [0]\njoin = false\n",
        ] {
            assert!(
                crate::sim::fault::parse_scenario_personas(bad, 3).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_cgminer_m20s_build_is_the_one_that_escapes_quotes() {
        let m20s = Persona::Cgminer492.firmware(Model::M20S);
        let m30s = Persona::Cgminer492.firmware(Model::M30S);
        assert!(Persona::escapes_quotes(&m20s) && !Persona::escapes_quotes(&m30s));
        assert_eq!(Persona::Cgminer492.traits().keys, RequestKeys::CommandOnly);
        assert_eq!(
            Persona::Firmware2025.firmware(Model::M60).flavour,
            Flavour::Wrapped
        );
    }
}
