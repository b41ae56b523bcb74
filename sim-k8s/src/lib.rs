//! placeholder

pub mod api;
pub mod apiserver;
pub mod controllers;
pub mod kubectl;
pub mod manifest;
pub mod validation;
