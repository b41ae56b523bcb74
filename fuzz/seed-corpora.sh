#!/bin/sh
# Seeds each target's corpus (fuzz/corpus/TARGET/, not committed) from the project's own files.
set -eu
cd "$(dirname "$0")/.."
seed() { mkdir -p "fuzz/corpus/$1"; shift_target=$1; shift; for f in "$@"; do cp "$f" "fuzz/corpus/$shift_target/$(echo "$f" | tr / _)"; done; }
seed manifest_loader scenarios/manifests/*.yaml scenarios/labs/*/*.yaml tests/data/real-nodes/* 2>/dev/null || true
seed iptables_restore tests/data/kube-dns.rules
seed nft_file sim-net/tests/data/nft/*.nft
seed corefile tests/data/corefiles/*.Corefile
seed scenario_parser scenarios/*.yaml scenarios/labs/*/lab.yaml tests/data/bad-scenarios/*.yaml
# DNS: queries and answers as the simulated resolver and CoreDNS put them on the wire.
mkdir -p fuzz/corpus/dns_codec
printf '\022\064\001\000\000\001\000\000\000\000\000\000\010my-nginx\007default\003svc\007cluster\005local\000\000\001\000\001' > fuzz/corpus/dns_codec/query-a
mkdir -p fuzz/artifacts
echo "corpora in fuzz/corpus/, crashes will go to fuzz/artifacts/"
