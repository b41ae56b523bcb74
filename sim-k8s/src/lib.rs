//! placeholder

pub mod dns;
