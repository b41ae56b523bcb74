//! netsim's integration tests: one binary (matklad's layout), a module per topic.

mod churn;
mod cli_iptables;
mod cli_ipvs;
mod cli_nft;
mod cli_scenarios;
mod cli_ux;
mod fuzz_smoke;
mod html_report;
mod scenarios;
mod single_node;
mod support;
mod trace_json;
