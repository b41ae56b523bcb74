//! placeholder

pub mod api;
pub mod apiserver;
pub mod manifest;
pub mod validation;
