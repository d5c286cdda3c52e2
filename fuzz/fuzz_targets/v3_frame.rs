//! Fuzzes API v3 framing: `decode_frame` on arbitrary bytes and caps,
//! `read_reply` over an in-memory stream, and the encode/decode round trip.
//!
//! Oracles: a decoded frame lies inside the buffer, starts after the
//! header and respects the cap; a reply is never empty (heartbeats are
//! skipped) and never above the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use whatsminer_exporter::transport::v3::{decode_frame, encode_frame, read_reply, HEADER_LEN};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&cap_byte, stream)) = data.split_first() else {
        return;
    };
    // Caps from tiny to the default 1 MiB.
    let cap = 1usize << (cap_byte % 21);
    match decode_frame(stream, cap) {
        Ok(Some((payload, consumed))) => {
            assert_eq!(payload.start, HEADER_LEN);
            assert_eq!(payload.end, consumed);
            assert!(consumed <= stream.len());
            assert!(payload.len() <= cap);
        }
        Ok(None) => {}
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let mut reader = stream;
    if let Ok(reply) = runtime().block_on(read_reply(&mut reader, cap)) {
        assert!(!reply.is_empty() && reply.len() <= cap);
    }
    let frame = encode_frame(stream);
    let (payload, consumed) = decode_frame(&frame, stream.len())
        .expect("own frame within cap")
        .expect("own frame complete");
    assert_eq!(&frame[payload], stream);
    assert_eq!(consumed, frame.len());
});
