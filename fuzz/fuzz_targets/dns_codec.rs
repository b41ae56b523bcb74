//! The DNS wire codec: decoding never panics; a decoded message encodes and decodes to itself.
#![no_main]

use sim_k8s::dns::message::Message;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let again = Message::decode(&m.encode());
        assert_eq!(again.ok().as_ref(), Some(&m));
    }
});
