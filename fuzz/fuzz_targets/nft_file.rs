//! `nft -f`: never panics; what loads lists as a ruleset that reloads to itself.
#![no_main]

use sim_net::nftables::Nftables;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut nft = Nftables::new();
    if nft.apply(&text).is_err() {
        return;
    }
    let listed = nft.list_ruleset();
    let mut again = Nftables::new();
    assert!(again.apply(&listed).is_ok(), "nft list ruleset output does not reload:\n{listed}");
    assert_eq!(again.list_ruleset(), listed);
});
