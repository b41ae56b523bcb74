//! Upstream `proxier_test.go` cases turned into checks of what one sync wants.
