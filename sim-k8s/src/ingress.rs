//! The ingress-nginx controller model (routing, annotations, status); filled in by the next commits.
