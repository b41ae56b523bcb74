//! The Corefile: parsing and plugin setup never panic; what parses prints (canonical layout)
//! as a Corefile that parses to the same configuration.
#![no_main]

use std::collections::BTreeMap;

use sim_k8s::dns::CoreDnsConfig;
use sim_k8s::dns::corefile::Corefile;
use sim_k8s::dns::corefile::setup::setup;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env = BTreeMap::new();
    let Ok(parsed) = Corefile::parse("Corefile", &text, &env) else { return };
    let _ = setup(&parsed, &CoreDnsConfig::default());
    let printed = parsed.to_string();
    let again = Corefile::parse("Corefile", &printed, &env);
    assert!(again.is_ok(), "printed Corefile does not parse:\n{printed}");
    if let Ok(again) = again {
        assert_eq!(again.without_lines(), parsed.without_lines(), "printed:\n{printed}");
    }
});
