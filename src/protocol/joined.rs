//! Joined reads: several read commands in one exchange, cgminer's
//! `{"command":"summary+devs+pools"}`, answered as
//! `{"summary":[<summary reply>],"devs":[<devs reply>],"pools":[<pools reply>],"id":1}`.
//!
//! Sources: cgminer's `api.c` (ckolivas/cgminer, commit b8491c6) builds the
//! joined answer this way, with `Code 45` "Access denied" in place of a
//! part that may not join; a Whatsminer M31S on fw 20210109.22.REL
//! (`btminer`) answered a joined `pools+summary+edevs` read in this form
//! (`delawr0190/foreman-apps`, `WhatsminerStatsITest.java`, kept as
//! `tests/fixtures/v2/m31s_2021_*.json`); pyasic (`UpstreamData/pyasic`,
//! `pyasic/rpc/base.py`, `BaseMinerRPCAPI.multicommand`) sends the parts
//! joined by `+`, reads them back by name, and sends them one by one when
//! the joined read answers an error; its Whatsminer backend joins every
//! read but `get_*` and `status`. See
//! `../shared/protocol/NOTES.md`, "Real firmware diversity".
//!
//! [`split`] finds each part's reply inside the answer without building
//! the JSON: one pass that tracks strings and brackets, so each part can go
//! to the same typed parser (and its repair of firmware JSON defects) as a
//! reply read on its own. A firmware that does not join answers as to one
//! unknown command: a plain reply with `STATUS` and none of the parts.

/// The command naming `parts`, joined with `+`.
pub fn command(parts: &[&str]) -> String {
    parts.join("+")
}

/// What a joined answer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split<'a> {
    /// Each asked part's reply (the first element of its list), or `None`
    /// where the part is missing or not a non-empty list.
    Parts(Vec<Option<&'a [u8]>>),
    /// A plain reply (`STATUS` at the top, no asked part): the firmware
    /// did not join; parse it as a single reply to learn why.
    Plain,
    /// Not a JSON object.
    Malformed,
}

/// Finds the replies of `parts` in a joined answer (bytes cut at the first
/// NUL and trimmed). Never panics; linear in the answer's length.
pub fn split<'a>(bytes: &'a [u8], parts: &[&str]) -> Split<'a> {
    let mut found: Vec<Option<&'a [u8]>> = vec![None; parts.len()];
    let mut any_part = false;
    let mut has_status = false;
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return Split::Malformed;
    }
    i += 1;
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b'}') => break,
            Some(b'"') => {}
            _ => return Split::Malformed,
        }
        let Some(key_end) = string_end(bytes, i) else {
            return Split::Malformed;
        };
        let key = &bytes[i + 1..key_end - 1];
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return Split::Malformed;
        }
        i = skip_ws(bytes, i + 1);
        let slot = parts.iter().position(|p| p.as_bytes() == key);
        let value_end = match slot {
            Some(slot) => {
                let Some((first, end)) = part_value(bytes, i) else {
                    return Split::Malformed;
                };
                any_part = true;
                found[slot] = first;
                end
            }
            None => {
                let Some(end) = value_end(bytes, i) else {
                    return Split::Malformed;
                };
                has_status |= key == b"STATUS";
                end
            }
        };
        i = skip_ws(bytes, value_end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => return Split::Malformed,
        }
    }
    if !any_part && has_status {
        return Split::Plain;
    }
    Split::Parts(found)
}

/// A part's value starting at `start`: its first element, if it is a
/// non-empty list, and the index after the value. A list whose first
/// element is an object, list or string is scanned once, the element's
/// bytes included (they are most of the answer); the result is the same as
/// [`value_end`] then [`first_element`].
fn part_value(bytes: &[u8], start: usize) -> Option<(Option<&[u8]>, usize)> {
    if bytes.get(start) == Some(&b'[') {
        let first = skip_ws(bytes, start + 1);
        if matches!(bytes.get(first), Some(b'{' | b'[' | b'"')) {
            let first_end = value_end(bytes, first)?;
            // The list's brackets still open: its own and none other, as
            // the element's brackets are closed.
            let end = close(bytes, first_end, 1)?;
            return Some((Some(&bytes[first..first_end]), end));
        }
    }
    let end = value_end(bytes, start)?;
    Some((first_element(&bytes[start..end]), end))
}

/// The first element of a JSON list, if `value` is a non-empty list.
fn first_element(value: &[u8]) -> Option<&[u8]> {
    if value.first() != Some(&b'[') {
        return None;
    }
    let start = skip_ws(value, 1);
    if matches!(value.get(start), Some(b']') | None) {
        return None;
    }
    let end = value_end(value, start)?;
    Some(&value[start..end])
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index after the string starting at `start` (a `"`). A tight search
/// for the next quote or escape (the strings are short: a tight loop beat
/// memchr2's set-up here, 24% against 13% less CPU than a `match` per byte).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let at = i + bytes
            .get(i..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\')?;
        match bytes.get(at)? {
            b'\\' => i = at + 2,
            _ => return Some(at + 1),
        }
    }
}

/// The index after the JSON value starting at `start`: a string, an object
/// or list (brackets counted outside strings, not matched by kind: the
/// part's own parser checks the rest), or a scalar.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => close(bytes, start, 0),
        _ => {
            let mut i = start;
            while let Some(&b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                    break;
                }
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// The bytes [`close`] stops at; the rest (numbers, `:`, `,`, spaces) it
/// skips in a tight loop.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'[' as usize] = true;
    table[b'}' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// The index after the bracket that brings `depth` open brackets (before
/// `start`) back to none, counting brackets outside strings.
fn close(bytes: &[u8], start: usize, mut depth: usize) -> Option<usize> {
    let mut i = start;
    loop {
        i += bytes
            .get(i..)?
            .iter()
            .position(|&b| STRUCTURAL[usize::from(b)])?;
        match bytes.get(i)? {
            b'"' => {
                i = string_end(bytes, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            _ => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTS: &[&str] = &["summary", "devs", "pools"];

    fn parts(bytes: &[u8]) -> Vec<Option<String>> {
        match split(bytes, PARTS) {
            Split::Parts(p) => p
                .into_iter()
                .map(|p| p.map(|b| String::from_utf8_lossy(b).into_owned()))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_each_part_and_skips_the_rest() {
        let answer = br#"{"summary":[{"STATUS":[{"STATUS":"S","Msg":"Summary"}],"SUMMARY":[{"Elapsed":5,"x":"a]}\"b"}],"id":1}],
            "devs" : [ {"STATUS":"S","DEVS":[]} ],"pools":[{"POOLS":[{"URL":"stratum+tcp://p:3333"}]},{"ignored":1}],"id":1}"#;
        assert_eq!(
            parts(answer),
            vec![
                Some(r#"{"STATUS":[{"STATUS":"S","Msg":"Summary"}],"SUMMARY":[{"Elapsed":5,"x":"a]}\"b"}],"id":1}"#.into()),
                Some(r#"{"STATUS":"S","DEVS":[]}"#.into()),
                Some(r#"{"POOLS":[{"URL":"stratum+tcp://p:3333"}]}"#.into()),
            ]
        );
    }

    #[test]
    fn a_missing_or_empty_part_fails_alone() {
        let answer = br#"{"summary":[{"SUMMARY":[]}],"devs":[],"id":1}"#;
        assert_eq!(
            parts(answer),
            vec![Some(r#"{"SUMMARY":[]}"#.into()), None, None]
        );
        let not_a_list = br#"{"summary":{"SUMMARY":[]},"devs":[7],"pools":"x"}"#;
        assert_eq!(parts(not_a_list), vec![None, Some("7".into()), None]);
    }

    #[test]
    fn a_plain_reply_means_the_firmware_did_not_join() {
        for plain in [
            &br#"{"STATUS":"E","When":1,"Code":14,"Msg":"invalid cmd","Description":""}"#[..],
            br#"{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command","Description":"cgminer 4.9.2"}],"id":1}"#,
        ] {
            assert_eq!(split(plain, PARTS), Split::Plain);
        }
    }

    #[test]
    fn broken_answers_are_malformed_never_a_panic() {
        let cases: &[&[u8]] = &[
            b"",
            b"[1,2]",
            b"{",
            b"{\"summary\"",
            b"{\"summary\":",
            b"{\"summary\":[{\"a\":\"unterminated}]",
            b"{\"summary\":[{]]]]]]]}",
            b"{\"a\":1 \"b\":2}",
            b"{1:2}",
            b"{\"a\\",
            b"\"just a string\"",
        ];
        for case in cases {
            assert_eq!(
                split(case, PARTS),
                Split::Malformed,
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        // Extra closers inside a part end it early; the rest is then not an
        // object member, so the answer is malformed, not mis-split.
        assert_eq!(split(b"{\"devs\":[{}}]],\"x\":1}", PARTS), Split::Malformed);
        // A trailing comma before the closing brace (firmware does this).
        assert_eq!(
            parts(b"{\"pools\":[{\"POOLS\":[]}],}"),
            vec![None, None, Some("{\"POOLS\":[]}".into())]
        );
    }

    /// Escapes decide where a string ends: `\\"` ends it, `\"` does not,
    /// and an escape at the very end leaves it open.
    #[test]
    fn escaped_quotes_and_backslashes_inside_strings() {
        assert_eq!(
            parts(br#"{"summary":[{"Msg":"a\\","x":"b\"]}\\"}],"devs":[{}]}"#),
            vec![
                Some(r#"{"Msg":"a\\","x":"b\"]}\\"}"#.into()),
                Some("{}".into()),
                None
            ]
        );
        assert_eq!(string_end(br#""ab\"#, 0), None);
        assert_eq!(string_end(br#""ab\\""#, 0), Some(6));
        assert_eq!(string_end(b"\"", 0), None);
    }

    #[test]
    fn one_scan_of_a_part_finds_what_two_scans_found() {
        let values: &[&[u8]] = &[
            b"[{\"a\":[1,{\"b\":\"]}\"}]},2]",
            b"[ \"s]\" , 3]",
            b"[[1,[2]],[3]]",
            b"[7]",
            b"[7\"a]\"]",
            b"[]",
            b"[ ]",
            b"{\"a\":1}",
            b"\"x\"",
            b"12",
            b"[{}}]]",
            b"[{\"a\":1}",
            b"[{\"a\":\"unterminated]",
            b"[ {} ] ,",
            b"[{}]]]",
        ];
        for v in values {
            let two = value_end(v, 0).map(|end| (first_element(&v[..end]), end));
            assert_eq!(part_value(v, 0), two, "{:?}", String::from_utf8_lossy(v));
        }
    }

    /// The three parts of one real joined answer (M31S, fw 20210109.22.REL,
    /// see `tests/fixtures/v2/README.md`) put back together as the miner
    /// sent them: each part comes out byte for byte.
    #[test]
    fn a_real_joined_answer_splits_into_its_captured_parts() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2/");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{dir}m31s_2021_{name}.json"))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (pools, summary, edevs) = (read("pools"), read("summary"), read("edevs"));
        let answer = format!(
            "{{\"pools\":[{}],\"summary\":[{}],\"edevs\":[{}],\"id\":1}}",
            pools.trim(),
            summary.trim(),
            edevs.trim()
        );
        let Split::Parts(found) = split(answer.as_bytes(), &["summary", "edevs", "pools"]) else {
            panic!("not split");
        };
        let found: Vec<&[u8]> = found.into_iter().map(|p| p.expect("part")).collect();
        assert_eq!(
            found,
            [summary.trim(), edevs.trim(), pools.trim()].map(str::as_bytes)
        );
        // Half an answer, cut anywhere: no panic, and no part that was not
        // wholly in the bytes read.
        for cut in 0..answer.len() {
            let half = &answer.as_bytes()[..cut];
            if let Split::Parts(found) = split(half, &["summary", "edevs", "pools"]) {
                for part in found.into_iter().flatten() {
                    assert!(
                        serde_json::from_slice::<serde_json::Value>(part).is_ok(),
                        "cut {cut}"
                    );
                }
            }
        }
    }
}
