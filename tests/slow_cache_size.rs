//! What the info cache holds per miner: the bytes its entry keeps allocated
//! (the `Arc`, the struct, every string and list), counted by a global
//! allocator that tracks this thread's live bytes. The slow data of real
//! capture groups, as the backend's typed `SlowData` (the cache's entry
//! before) and as `CompactSlow` (the entry now; its list of command
//! outcomes is shared with the miners that have the same, so not counted
//! per miner). Run with `--nocapture` to
//! see the figures; they go to BENCHMARKS.md (issue 17).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use whatsminer_exporter::client::backend::SlowData;
use whatsminer_exporter::client::types::FromReply;
use whatsminer_exporter::client::v3::convert;
use whatsminer_exporter::collector::compact::CompactSlow;
use whatsminer_exporter::protocol::v3::{reply_msg, DeviceInfo};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    // `try_with`: the allocator may be called while the thread ends.
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// What `build` returns and the bytes it keeps allocated.
fn held<T>(build: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE.with(Cell::get);
    let value = build();
    (value, LIVE.with(Cell::get) - before)
}

fn read<T: FromReply>(name: &str) -> Option<T> {
    let path = format!("{}/tests/fixtures/v2/{name}", env!("CARGO_MANIFEST_DIR"));
    T::from_reply(&std::fs::read(path).ok()?).ok()
}

/// A v2 capture group, with the `command_ok` the v2 backend writes.
fn v2(prefix: &str) -> SlowData {
    let name = |cmd: &str| format!("{prefix}_{cmd}.json");
    let mut s = SlowData {
        version: read(&name("get_version")),
        status: read(&name("status")),
        devdetails: read(&name("devdetails")),
        psu: read(&name("get_psu")),
        error_codes: read(&name("get_error_code")),
        miner_info: read(&name("get_miner_info")),
        command_ok: Vec::with_capacity(6),
    };
    s.command_ok.extend([
        ("get_version", s.version.is_some()),
        ("status", s.status.is_some()),
        ("devdetails", s.devdetails.is_some()),
        ("get_psu", s.psu.is_some()),
        ("get_error_code", s.error_codes.is_some()),
        ("get_miner_info", s.miner_info.is_some()),
    ]);
    s
}

/// A v3 `get.device.info` capture, mapped as the v3 backend maps it.
fn v3(file: &str) -> SlowData {
    let path = format!("{}/tests/fixtures/v3/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).expect("fixture");
    let info = DeviceInfo::from_msg(&reply_msg(&bytes).expect("a success reply")).expect("info");
    SlowData {
        version: convert::version(&info),
        devdetails: convert::devdetails(&info),
        psu: convert::psu(&info),
        error_codes: Some(convert::error_codes(&info)),
        status: convert::miner_status(&info, None),
        miner_info: convert::miner_info(&info),
        command_ok: vec![("get.device.info", true), ("get.miner.setting", false)],
    }
}

#[test]
fn a_cache_entry_holds_a_fraction_of_the_typed_slow_data() {
    let groups = [
        ("v2 M30S VE20 (all six commands)", v2("m30sve20")),
        ("v2 M7BS 2026", v2("m7bs_fw20260312")),
        ("v2 M30S+ 2022", v2("m30splus_2022")),
        ("v3 vendor doc", v3("vendordoc_get_device_info.json")),
        ("v3 asicrs", v3("asicrs_get_device_info_with_errors.json")),
    ];
    for (name, slow) in groups {
        let (typed, typed_bytes) = held(|| Arc::new(slow.clone()));
        // The outcome list is shared by the miners that have the same one:
        // the first miner's entry makes it, the next ones hold a pointer.
        let first = CompactSlow::new(&typed);
        let (compact, compact_bytes) = held(|| Arc::new(CompactSlow::new(&typed)));
        assert!(Arc::ptr_eq(&first.command_ok, &compact.command_ok));
        println!("{name}: {typed_bytes} bytes typed, {compact_bytes} compact");
        assert_eq!(compact.command_ok.len(), typed.command_ok.len());
        assert!(compact_bytes > 0, "{name}: counted");
        assert!(
            compact_bytes * 3 <= typed_bytes,
            "{name}: {compact_bytes} of {typed_bytes}"
        );
        assert!(compact_bytes <= 448, "{name}: {compact_bytes}");
    }
}
