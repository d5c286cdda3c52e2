//! Miner models, their nominal figures, and the firmware builds each model
//! ships with. The firmware's API version decides the reply flavour: up to
//! API 2.0.4 `summary` answers with cgminer-style lists, from 2.0.5 on with
//! the data wrapped in `Msg`.

/// A Whatsminer model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    M20S,
    M30S,
    M30SPlus,
    M30SPlusPlus,
    M50,
    M50S,
    M60,
    M60S,
}

/// How the firmware shapes read replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// `{"STATUS":[{..}],"SUMMARY":[{..}]}` (API up to 2.0.4).
    Classic,
    /// `{"STATUS":"S","Code":131,"Msg":{..}}` for `summary` (API 2.0.5+).
    Wrapped,
}

/// Nominal figures of a model at normal power mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    pub hashrate_ths: f64,
    pub power_w: f64,
    pub chips_per_board: u32,
    pub freq_mhz: f64,
    /// Hardware variant suffix, as in `M30S++VH30`.
    pub variant: &'static str,
    pub chip: &'static str,
}

/// One firmware build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firmware {
    pub version: &'static str,
    pub api_version: &'static str,
    pub flavour: Flavour,
}

const FW_2021: Firmware = Firmware {
    version: "20210322.22.REL",
    api_version: "2.0.3",
    flavour: Flavour::Classic,
};
const FW_2022: Firmware = Firmware {
    version: "20220802.15.REL",
    api_version: "2.0.4",
    flavour: Flavour::Classic,
};
const FW_2023: Firmware = Firmware {
    version: "20230911.12.Rel",
    api_version: "2.0.5",
    flavour: Flavour::Wrapped,
};
const FW_2024: Firmware = Firmware {
    version: "20241105.21.Rel",
    api_version: "2.0.5",
    flavour: Flavour::Wrapped,
};

impl Model {
    pub const ALL: [Model; 8] = [
        Model::M20S,
        Model::M30S,
        Model::M30SPlus,
        Model::M30SPlusPlus,
        Model::M50,
        Model::M50S,
        Model::M60,
        Model::M60S,
    ];

    /// The marketing name, e.g. `M30S++`.
    pub fn name(self) -> &'static str {
        match self {
            Model::M20S => "M20S",
            Model::M30S => "M30S",
            Model::M30SPlus => "M30S+",
            Model::M30SPlusPlus => "M30S++",
            Model::M50 => "M50",
            Model::M50S => "M50S",
            Model::M60 => "M60",
            Model::M60S => "M60S",
        }
    }

    /// Parses a marketing name, case-insensitively (`m30s++`, `M60S`).
    pub fn parse(text: &str) -> Option<Model> {
        let wanted = text.trim();
        Model::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(wanted))
    }

    pub fn spec(self) -> ModelSpec {
        let (hashrate_ths, power_w, chips_per_board, freq_mhz, variant, chip) = match self {
            Model::M20S => (68.0, 3360.0, 66, 620.0, "V10", "K56"),
            Model::M30S => (88.0, 3344.0, 148, 540.0, "V50", "K56"),
            Model::M30SPlus => (100.0, 3400.0, 156, 510.0, "VF20", "K58"),
            Model::M30SPlusPlus => (112.0, 3472.0, 111, 590.0, "VH30", "K58"),
            Model::M50 => (114.0, 3306.0, 105, 530.0, "VH50", "K68"),
            Model::M50S => (126.0, 3276.0, 117, 520.0, "VH10", "K68"),
            Model::M60 => (172.0, 3422.0, 111, 480.0, "VK10", "K88"),
            Model::M60S => (186.0, 3441.0, 129, 500.0, "VK30", "K88"),
        };
        ModelSpec {
            hashrate_ths,
            power_w,
            chips_per_board,
            freq_mhz,
            variant,
            chip,
        }
    }

    /// The full type string, e.g. `M30S++VH30`, as in `devdetails`.
    pub fn type_string(self) -> String {
        format!("{}{}", self.name(), self.spec().variant)
    }

    /// Firmware builds this model is found with, oldest first.
    pub fn firmwares(self) -> &'static [Firmware] {
        match self {
            Model::M20S => &[FW_2021, FW_2022],
            Model::M30S | Model::M30SPlus | Model::M30SPlusPlus => &[FW_2021, FW_2022, FW_2023],
            Model::M50 | Model::M50S => &[FW_2022, FW_2023],
            Model::M60 | Model::M60S => &[FW_2024],
        }
    }

    /// Picks a firmware by a random draw in [0, 1); a forced flavour keeps
    /// the draw among the builds of that flavour when the model has any.
    pub fn pick_firmware(self, draw: f64, forced: Option<Flavour>) -> Firmware {
        let all = self.firmwares();
        let matching: Vec<Firmware> = all
            .iter()
            .copied()
            .filter(|f| forced.is_none_or(|want| f.flavour == want))
            .collect();
        let pool: &[Firmware] = if matching.is_empty() { all } else { &matching };
        let index = ((draw.clamp(0.0, 0.999_999) * pool.len() as f64) as usize).min(pool.len() - 1);
        let mut chosen = pool.get(index).copied().unwrap_or(FW_2024);
        if let Some(flavour) = forced {
            chosen.flavour = flavour;
        }
        chosen
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Model::ALL {
            assert_eq!(Model::parse(m.name()), Some(m));
            assert_eq!(Model::parse(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(Model::parse("M99"), None);
        assert_eq!(Model::M30SPlusPlus.type_string(), "M30S++VH30");
    }

    #[test]
    fn firmware_choice_follows_the_draw_and_the_forced_flavour() {
        let old = Model::M30S.pick_firmware(0.0, None);
        let new = Model::M30S.pick_firmware(0.99, None);
        assert_eq!(old.flavour, Flavour::Classic);
        assert_eq!(new.flavour, Flavour::Wrapped);
        assert_eq!(
            Model::M30S
                .pick_firmware(0.0, Some(Flavour::Wrapped))
                .api_version,
            "2.0.5"
        );
        // No classic build exists for the M60: the flavour is forced anyway.
        let m60 = Model::M60.pick_firmware(0.5, Some(Flavour::Classic));
        assert_eq!(m60.flavour, Flavour::Classic);
        assert_eq!(m60.version, "20241105.21.Rel");
    }
}
