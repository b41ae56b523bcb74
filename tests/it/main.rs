//! netsim's integration tests: one binary (matklad's layout), a module per topic.

mod cli_iptables;
mod scenarios;
mod support;
