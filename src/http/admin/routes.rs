//! The admin listener's paths: which route a request path names, and the
//! bounded handler label of each for the request counter.

pub(super) fn handler_name(path: &str) -> &'static str {
    match parse_route(path) {
        Route::Command { .. } => "/admin/miners/commands",
        Route::Alertmanager => "/admin/alertmanager",
        Route::BadPath | Route::Unknown => "admin_other",
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Route {
    Command {
        miner: String,
        command: String,
    },
    Alertmanager,
    /// A command path whose miner segment is not valid percent-encoded UTF-8.
    BadPath,
    Unknown,
}

pub(super) fn parse_route(path: &str) -> Route {
    if path == "/admin/alertmanager" {
        return Route::Alertmanager;
    }
    let mut parts = path.split('/');
    let shape = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    match shape {
        (
            Some(""),
            Some("admin"),
            Some("miners"),
            Some(miner),
            Some("commands"),
            Some(command),
            None,
        ) if !miner.is_empty() && !command.is_empty() => match percent_decode(miner) {
            Some(miner) => Route::Command {
                miner,
                command: command.to_string(),
            },
            None => Route::BadPath,
        },
        _ => Route::Unknown,
    }
}

/// Decodes `%XX` escapes of a path segment; `None` on a broken escape or
/// invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("/admin/alertmanager"), Route::Alertmanager);
        assert_eq!(
            parse_route("/admin/miners/rack%201%2Fa/commands/power_off"),
            Route::Command {
                miner: "rack 1/a".into(),
                command: "power_off".into()
            }
        );
        for unknown in [
            "/",
            "/admin",
            "/admin/miners//commands/power_off",
            "/admin/miners/m/commands/",
            "/admin/miners/m/commands/power_off/x",
            "/admin/alertmanager/",
            "/metrics",
        ] {
            assert_eq!(parse_route(unknown), Route::Unknown, "{unknown}");
        }
        assert_eq!(parse_route("/admin/miners/%zz/commands/x"), Route::BadPath);
        assert_eq!(parse_route("/admin/miners/%ff/commands/x"), Route::BadPath);
        assert_eq!(parse_route("/admin/miners/%4/commands/x"), Route::BadPath);
    }
}
