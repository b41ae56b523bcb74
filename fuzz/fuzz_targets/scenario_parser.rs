//! The scenario parser (with its every-mistake recovery): never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = netsim::scenario::Scenario::parse(std::path::Path::new("fuzz.yaml"), text);
});
