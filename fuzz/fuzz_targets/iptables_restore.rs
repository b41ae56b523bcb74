//! iptables-restore: never panics; what restores saves to a fixed point
//! (restore → save → restore → save gives the same text).
#![no_main]

use sim_net::netfilter::{Netfilter, SaveOptions};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut nf = Netfilter::new();
    if nf.restore(&text, false).is_err() {
        return;
    }
    let opts = SaveOptions { counters: false, timestamp: None };
    let saved = nf.save(&opts);
    let mut again = Netfilter::new();
    assert!(again.restore(&saved, false).is_ok(), "iptables-save output does not restore:\n{saved}");
    assert_eq!(again.save(&opts), saved);
});
