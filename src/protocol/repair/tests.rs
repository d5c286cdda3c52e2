//! One test per defect, from the real capture where one is public.

use super::*;
use serde_json::{json, Value};

fn fixed(input: &[u8]) -> (Value, RepairSet) {
    assert!(
        serde_json::from_slice::<Value>(input).is_err(),
        "input must be invalid JSON to test a repair"
    );
    let Some((out, made)) = repair(input) else {
        panic!("no repair for {}", String::from_utf8_lossy(input))
    };
    match serde_json::from_slice(&out) {
        Ok(v) => (v, made),
        Err(e) => panic!(
            "repaired output invalid ({e}): {}",
            String::from_utf8_lossy(&out)
        ),
    }
}

fn only(kind: RepairKind) -> RepairSet {
    let mut s = RepairSet::default();
    s.insert(kind);
    s
}

#[test]
fn single_quote_escape_from_the_m20s_capture() {
    let raw = include_bytes!("../../../tests/fixtures/v2/m20s_fw20200917_summary.json");
    let (v, made) = fixed(raw);
    assert_eq!(made, only(RepairKind::SingleQuoteEscape));
    assert_eq!(v["SUMMARY"][0]["Firmware Version"], "'20200917.22.REL'");
    assert_eq!(v["SUMMARY"][0]["MAC"], "C4:11:04:01:3C:75");
    // A legitimate escape next to it is left alone.
    let (v, _) = fixed(br#"{"a":"\'x\\\"y\n"}"#);
    assert_eq!(v["a"], "'x\\\"y\n");
}

#[test]
fn trailing_comma_from_the_get_miner_info_capture() {
    let (v, made) = fixed(br#"{"STATUS":"S","Msg":{"ledstat":"auto",},"Description":""}"#);
    assert_eq!(made, only(RepairKind::TrailingComma));
    assert_eq!(v["Msg"]["ledstat"], "auto");
    let (v, _) = fixed(b"[1,2 , \n]");
    assert_eq!(v, json!([1, 2]));
    // A comma inside a string is text, not syntax.
    let (v, _) = fixed(br#"{"a":",}",}"#);
    assert_eq!(v, json!({"a": ",}"}));
}

#[test]
fn missing_comma_in_get_psu() {
    // The 2023 btminer defect handled by name in pyasic: `""temp0"`.
    let (v, made) = fixed(br#"{"STATUS":"S","Msg":{"name":"P221B","vin":"22600""temp0":"40","fan_speed":""  "temp1":"2"}}"#);
    assert_eq!(made, only(RepairKind::MissingComma));
    assert_eq!(v["Msg"]["vin"], "22600");
    assert_eq!(v["Msg"]["temp0"], "40");
    assert_eq!(v["Msg"]["fan_speed"], "");
    assert_eq!(v["Msg"]["temp1"], "2");
}

#[test]
fn dict_like_error_code_list_of_api_2_0_4() {
    let (v, made) = fixed(
        br#"{"STATUS":"S","Code":131,"Msg":{"error_code":["329":"2022-01-17 11:28:11","2010":"2022-01-17 11:30:02"]},"Description":""}"#,
    );
    assert_eq!(made, only(RepairKind::DictLikeList));
    assert_eq!(
        v["Msg"]["error_code"],
        json!({"329":"2022-01-17 11:28:11","2010":"2022-01-17 11:30:02"})
    );
}

#[test]
fn raw_control_characters_inside_strings() {
    let (v, made) = fixed(b"{\"Msg\":\"line one\nline\ttwo\x01\",\n\"b\":1}");
    assert_eq!(made, only(RepairKind::RawControlChar));
    assert_eq!(v["Msg"], "line one\nline\ttwo\u{1}");
    assert_eq!(v["b"], 1);
}

#[test]
fn error_list_cut_short_keeps_the_whole_entries() {
    let cut = br#"{"STATUS":"S","Code":131,"Msg":{"error_code":[{"531":"2025-03-12 14:52:35"},{"2010":"2025-03-12 14:5"#;
    let (v, made) = fixed(cut);
    assert_eq!(made, only(RepairKind::TruncatedErrorList));
    assert_eq!(
        v["Msg"]["error_code"],
        json!([{"531":"2025-03-12 14:52:35"}])
    );
    assert_eq!(v["STATUS"], "S");
    // Cut before the first entry is whole: an empty list.
    let (v, _) = fixed(br#"{"STATUS":"S","Msg":{"error_code":[{"53"#);
    assert_eq!(v["Msg"]["error_code"], json!([]));
    // Flat and dict-like lists too.
    let (v, _) = fixed(br#"{"Msg":{"error_code":["329","2022-01-17 11:28:11","110"#);
    assert_eq!(
        v["Msg"]["error_code"],
        json!(["329", "2022-01-17 11:28:11"])
    );
    let (v, made) = fixed(br#"{"Msg":{"error_code":["329":"t1","110":"t"#);
    assert!(made.contains(RepairKind::DictLikeList));
    assert_eq!(v["Msg"]["error_code"], json!({"329":"t1"}));
}

#[test]
fn any_other_cut_stays_broken() {
    for cut in [
        &br#"{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"Elapsed":4680,"MHS av":8737"#[..],
        br#"{"STATUS":"S","Msg":{"error_code":[]},"Description":"#,
        br#"{"STATUS":"S","Msg":{"error_code":[{"1":"2"}]},"When":"#,
        br#"{"a":"unterminated"#,
        b"{\"a\":1,",
    ] {
        assert_eq!(repair(cut), None, "{}", String::from_utf8_lossy(cut));
    }
}

#[test]
fn non_finite_numbers_become_null() {
    let (v, made) = fixed(br#"{"a":nan,"b":-inf,"c":Infinity,"d":"nan"}"#);
    assert_eq!(made, only(RepairKind::NonFiniteNumber));
    assert_eq!(v, json!({"a":null,"b":null,"c":null,"d":"nan"}));
}

#[test]
fn several_defects_in_one_reply_are_all_named() {
    let (v, made) = fixed(b"{\"v\":\"\\'x\\'\",\"n\":\"a\nb\",}");
    assert_eq!(v, json!({"v":"'x'","n":"a\nb"}));
    let kinds: Vec<_> = made.iter().map(RepairKind::as_str).collect();
    assert_eq!(
        kinds,
        ["single_quote_escape", "trailing_comma", "raw_control_char"]
    );
}

#[test]
fn valid_json_and_hopeless_input_are_not_touched() {
    assert_eq!(
        repair(br#"{"a":-1.5e3,"b":true,"c":[1,{"d":"\"x\""}]}"#),
        None
    );
    for junk in [&b"HTTP/1.1 400 Bad Request"[..], b"]]]", b"}{", b"\xff\xfe"] {
        let repaired = repair(junk).map(|(out, _)| serde_json::from_slice::<Value>(&out).is_ok());
        assert_ne!(repaired, Some(true), "{}", String::from_utf8_lossy(junk));
    }
}

#[tokio::test]
async fn repairs_are_counted_in_the_current_scope_only() {
    let counts = Arc::new(RepairCounts::default());
    let made = only(RepairKind::TrailingComma);
    counted(counts.clone(), async { note(made) }).await;
    note(made); // outside any scope: dropped, no panic
    assert_eq!(counts.get(RepairKind::TrailingComma), 1);
    assert_eq!(counts.get(RepairKind::MissingComma), 0);
}
