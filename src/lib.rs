//! netsim: the command line and the scenario runner.
//!
//! - [`scenario`]: scenario files (YAML) parsed and checked.
//! - [`runner`]: running a scenario into a transcript, checking expectations.
//! - [`traffic`]: the report of a `traffic:` step (counts, timeline, expectations).
//! - [`html_report`]: the self-contained HTML report of traces and scenario runs (`--html`).
//! - [`plot`]: the SVG picture of a traffic step (`--plots DIR`).
//! - [`diag`]: user-facing `file:line:column: message` diagnostics.
//! - [`cli`]: the command line, one module per subcommand.

pub mod cli;
pub mod diag;
pub mod html_report;
pub mod plot;
pub mod runner;
pub mod scenario;
pub mod traffic;
