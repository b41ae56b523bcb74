//! The manifest loader: any bytes, as a file's text, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sim_k8s::manifest::load_str("fuzz.yaml", &text);
});
