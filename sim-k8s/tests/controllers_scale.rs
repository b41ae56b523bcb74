//! Scale smoke test: a 150-replica Deployment behind a Service on 10 workers settles, with
//! endpoints split into slices of at most 100, within a bounded number of reconciles.

mod controllers_common;

use controllers_common::*;
use sim_k8s::api::{Kind, Object};

#[test]
fn a_hundred_and_fifty_replicas_settle() {
    let mut store = cluster(10);
    let mut c = controllers(1);
    apply_yaml(
        &mut store,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: big\nspec:\n  replicas: 150\n  selector:\n    matchLabels:\n      app: big\n  template:\n    metadata:\n      labels:\n        app: big\n    spec:\n      containers:\n      - name: c\n        image: nginx\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: big\nspec:\n  selector:\n    app: big\n  ports:\n  - port: 80\n",
        secs(0),
    );
    let mut now = secs(0);
    let mut calls = 0;
    loop {
        calls += 1;
        let r = c.reconcile(&mut store, now);
        match r.next_wakeup {
            Some(t) => now = t,
            None => break,
        }
    }
    assert!(calls < 400, "{calls} reconciles");
    let ready = pods(&store).iter().filter(|p| p.is_ready()).count();
    assert_eq!(ready, 150);
    let slices: Vec<usize> = store
        .list(Kind::EndpointSlice)
        .filter_map(|o| match o {
            Object::EndpointSlice(s) if s.service_name() == Some("big") => Some(s.endpoints.len()),
            _ => None,
        })
        .collect();
    assert_eq!(slices, [100, 50]);
    eprintln!("reconcile calls: {calls}");
}
