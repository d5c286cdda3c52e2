//! Bad input never panics, odd shapes are read or refused cleanly, and the
//! ignored micro-benchmark that backs the speed note in `mod.rs`.

use std::time::Instant;

use rand::{Rng, SeedableRng};

use crate::client::types::*;
use crate::protocol::reply::{check_status, parse_json};

macro_rules! fixtures {
    ($($name:literal),* $(,)?) => {
        [$((
            $name,
            include_bytes!(concat!("../../../../tests/fixtures/v2/", $name)) as &[u8]
        )),*]
    };
}

const ALL: [(&str, &[u8]); 40] = fixtures![
    "asicrs_fw20230803_get_psu.json",
    "asicrs_fw20230803_get_version.json",
    "asicrs_fw20230803_status.json",
    "asicrs_get_error_code_with_errors.json",
    "error_get_token_over_max_connect.json",
    "error_invalid_cmd.json",
    "excerpt_wrapped_summary_a.json",
    "excerpt_wrapped_summary_b.json",
    "fw20210322_devs.json",
    "fw20210322_get_psu.json",
    "fw20210322_get_version.json",
    "fw20210322_pools.json",
    "fw20210322_status.json",
    "fw20210322_summary.json",
    "get_token_v1_3.json",
    "m30_2022_summary_issue22.json",
    "m30splus_2022_edevs.json",
    "m30splus_2022_get_error_code.json",
    "m30splus_2022_get_psu.json",
    "m30splus_2022_pools.json",
    "m30splus_2022_summary.json",
    "m30sve20_devdetails.json",
    "m30sve20_devs.json",
    "m30sve20_edevs.json",
    "m30sve20_get_error_code.json",
    "m30sve20_get_miner_info.json",
    "m30sve20_get_psu.json",
    "m30sve20_get_version.json",
    "m30sve20_pools.json",
    "m30sve20_status.json",
    "m30sve20_summary.json",
    "synthetic_encrypted_reply.json",
    "synthetic_error_enc_json_load_err.json",
    "synthetic_error_invalid_token.json",
    "synthetic_error_list_form.json",
    "synthetic_error_over_max_connect.json",
    "synthetic_error_write_disabled.json",
    "synthetic_m50_wrapped_summary.json",
    "synthetic_summary_numbers_as_strings.json",
    "synthetic_wrapped_devs_no_asc.json",
];

/// Runs every parser on `bytes`; each must return, never panic.
fn parse_everything(bytes: &[u8]) {
    let _ = Summary::from_reply(bytes);
    let _ = Devs::from_reply(bytes);
    let _ = Edevs::from_reply(bytes);
    let _ = Pools::from_reply(bytes);
    let _ = DevDetails::from_reply(bytes);
    let _ = Version::from_reply(bytes);
    let _ = Psu::from_reply(bytes);
    let _ = MinerStatus::from_reply(bytes);
    let _ = MinerInfo::from_reply(bytes);
    let _ = ErrorCodes::from_reply(bytes);
    if let Ok(v) = parse_json(bytes) {
        let _ = check_status(&v);
        let _ = reply::data_object(&v, "SUMMARY");
        let _ = reply::data_list(&v, "DEVS");
        let _ = reply::encrypted_payload(&v);
    }
}

/// One parser of each code path: list key + Msg, Msg only, list, Value.
fn parse_each_path(bytes: &[u8]) {
    let _ = Summary::from_reply(bytes);
    let _ = Version::from_reply(bytes);
    let _ = Devs::from_reply(bytes);
    let _ = ErrorCodes::from_reply(bytes);
}

#[test]
fn every_prefix_of_every_fixture_returns() {
    for (name, bytes) in ALL {
        for end in 0..bytes.len() {
            parse_each_path(&bytes[..end]);
        }
        // Cut-off JSON is an error, not a silent success with no data.
        let half = &bytes[..bytes.len() / 2];
        assert!(Summary::from_reply(half).is_err(), "{name}");
        assert!(Devs::from_reply(half).is_err(), "{name}");
    }
}

#[test]
fn trailing_nul_and_garbage_are_cut() {
    let mut padded = b"\r\n".to_vec();
    padded.extend_from_slice(ALL[30].1); // m30sve20_summary.json
    padded.extend_from_slice(b"\n\0\0{not json");
    assert_eq!(ALL[30].0, "m30sve20_summary.json");
    assert_eq!(Summary::from_reply(&padded), Summary::from_reply(ALL[30].1));
    assert!(Summary::from_reply(&padded).is_ok());
}

#[test]
fn random_bytes_and_mutations_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for _ in 0..2_000 {
        let len = rng.gen_range(0..300);
        let noise: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        parse_everything(&noise);
    }
    for (_, bytes) in ALL {
        for _ in 0..40 {
            let mut mutated = bytes.to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..mutated.len());
                mutated[at] = *b"{}[],:\"0-.eEnN \\\0"
                    .get(rng.gen_range(0..17))
                    .unwrap_or(&b'x');
            }
            parse_everything(&mutated);
        }
    }
}

#[test]
fn huge_and_deep_inputs_are_refused_without_overflow() {
    let deep = "[".repeat(1 << 20);
    parse_everything(deep.as_bytes());
    let deep_in_ignored_key = format!(r#"{{"STATUS":"S","x":{}"#, "[".repeat(100_000));
    parse_everything(deep_in_ignored_key.as_bytes());
    let deep_in_msg = format!(
        r#"{{"STATUS":"S","Msg":{{"a":{}"#,
        "{\"b\":".repeat(100_000)
    );
    parse_everything(deep_in_msg.as_bytes());
    let long_string = format!(r#"{{"STATUS":"E","Msg":"{}"}}"#, "x".repeat(1 << 20));
    let Err(ErrorKind::Miner { message, .. }) = Summary::from_reply(long_string.as_bytes()) else {
        panic!("expected a miner error");
    };
    assert!(message.len() < 1_000);
}

#[test]
fn many_boards_are_all_read() {
    let board = r#"{"Slot":1,"MHS av":"5"}"#;
    let text = format!(r#"{{"STATUS":"S","DEVS":[{}]}}"#, [board; 10_000].join(","));
    let Ok(Devs(boards)) = Devs::from_reply(text.as_bytes()) else {
        panic!("devs failed");
    };
    assert_eq!(boards.len(), 10_000);
    assert_eq!(boards[9_999].mhs_av, Some(5.0));
}

#[test]
fn missing_fields_are_none() {
    let s =
        Summary::from_reply(br#"{"STATUS":"S","Msg":{"Elapsed":5,"Unknown Field":[1,{"a":2}]}}"#);
    let want = Summary {
        elapsed: Some(5),
        ..Summary::default()
    };
    assert_eq!(s, Ok(want));
    let b = Devs::from_reply(
        br#"{"STATUS":[{"STATUS":"S"}],"DEVS":[{}, 7, "x", null, true, -1.5, [{"Slot":9}], {"Slot":"2"}]}"#,
    );
    assert_eq!(
        b.map(|Devs(b)| b.iter().map(Board::index).collect::<Vec<_>>()),
        Ok(vec![None, Some(2)])
    );
}

#[test]
fn shapes_without_data() {
    let shape = |r: Result<Summary, ErrorKind>| matches!(r, Err(ErrorKind::UnexpectedShape(_)));
    assert!(shape(Summary::from_reply(
        br#"{"STATUS":"S","Code":131,"Msg":"ok"}"#
    )));
    assert!(shape(Summary::from_reply(
        br#"{"STATUS":[{"STATUS":"S"}],"SUMMARY":[]}"#
    )));
    assert!(shape(Summary::from_reply(
        br#"{"SUMMARY":[{"Elapsed":1}]}"#
    )));
    assert!(shape(Summary::from_reply(br#"{"STATUS":"?","Msg":{}}"#)));
    assert!(shape(Summary::from_reply(b"[1,2,3]")));
    assert!(matches!(
        Summary::from_reply(b"\0"),
        Err(ErrorKind::NotJson(_))
    ));
    assert!(matches!(
        Summary::from_reply(b"<html>"),
        Err(ErrorKind::NotJson(_))
    ));
    // An empty board list is data; a missing one is not.
    assert_eq!(
        Devs::from_reply(br#"{"STATUS":"S","DEVS":[]}"#),
        Ok(Devs(vec![]))
    );
    assert!(matches!(
        Devs::from_reply(br#"{"STATUS":"S","DEVS":{"Slot":0}}"#),
        Err(ErrorKind::UnexpectedShape(_))
    ));
}

#[test]
fn list_inside_msg_is_found() {
    let p = Pools::from_reply(br#"{"STATUS":"S","Msg":{"POOLS":[{"POOL":1,"URL":"u"}]}}"#);
    assert_eq!(p.map(|Pools(p)| p.len()), Ok(1));
    let s = Summary::from_reply(br#"{"STATUS":"S","Msg":{"Power":nan,"Elapsed":3,}}"#);
    assert_eq!(s.map(|s| (s.power, s.elapsed)), Ok((None, Some(3))));
}

/// Release-mode timing behind the numbers in `mod.rs`:
/// `cargo test --release --lib micro_benchmark -- --ignored --nocapture`.
#[test]
#[ignore]
fn micro_benchmark() {
    const ROUNDS: u32 = 10_000;
    fn time<T: FromReply>(bytes: &[u8]) -> f64 {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            assert!(std::hint::black_box(T::from_reply(std::hint::black_box(bytes))).is_ok());
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
    }
    let find = |name: &str| {
        ALL.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .unwrap_or_default()
    };
    let summary = time::<Summary>(find("m30sve20_summary.json"));
    let devs = time::<Devs>(find("m30sve20_devs.json"));
    let pools = time::<Pools>(find("m30sve20_pools.json"));
    let wrapped = time::<Summary>(find("synthetic_m50_wrapped_summary.json"));
    let fw2021 = time::<Summary>(find("fw20210322_summary.json"));
    let skim = |bytes: &[u8]| {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let v: Result<serde::de::IgnoredAny, _> =
                serde_json::from_slice(std::hint::black_box(bytes));
            assert!(v.is_ok());
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
    };
    println!(
        "µs to only scan the JSON: summary {:.2}, devs {:.2}, pools {:.2}",
        skim(find("m30sve20_summary.json")),
        skim(find("m30sve20_devs.json")),
        skim(find("m30sve20_pools.json"))
    );
    println!(
        "µs per parse: summary {summary:.2}, devs {devs:.2}, pools {pools:.2}, \
         wrapped summary {wrapped:.2}, 2021 summary {fw2021:.2}; \
         summary+devs+pools {:.2}",
        summary + devs + pools
    );
}
