//! `duration.HumanDuration` and `translateTimestampSince` from k8s.io/apimachinery
//! (pkg/util/duration) as kubectl's AGE column prints them, computed from simulated time only.
//! Left out: `ShortHumanDuration` (used by other columns, not by netsim's views).

use sim_core::{SimDuration, SimTime};

use crate::controllers::store::parse_timestamp;

/// `HumanDuration` of a (non-negative) span.
pub fn human_duration(d: SimDuration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: `<unknown>` without a timestamp, `<invalid>` for one more than a
/// second in the future, otherwise the human age.
pub fn age(timestamp: Option<&str>, now: SimTime) -> String {
    let Some(t) = timestamp.and_then(parse_timestamp) else { return "<unknown>".into() };
    if t > now.saturating_add(SimDuration::from_secs(1)) {
        return "<invalid>".into();
    }
    human_duration(now.saturating_since(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: u64) -> String {
        human_duration(SimDuration::from_secs(s))
    }

    #[test]
    fn golden_vectors_from_apimachinery() {
        // pkg/util/duration/duration_test.go TestHumanDuration.
        assert_eq!(h(1), "1s");
        assert_eq!(h(70), "70s");
        assert_eq!(h(190), "3m10s");
        assert_eq!(h(70 * 60), "70m");
        assert_eq!(h(47 * 60 * 60), "47h");
        assert_eq!(h(49 * 60 * 60), "2d1h");
        assert_eq!(h((8 * 24 + 2) * 60 * 60), "8d");
        assert_eq!(h(367 * 24 * 60 * 60), "367d");
        assert_eq!(h((365 * 2 + 1) * 24 * 60 * 60), "2y1d");
        assert_eq!(h(365 * 8 * 24 * 60 * 60), "8y");
        assert_eq!(h(124), "2m4s");
        assert_eq!(h(5 * 24 * 3600), "5d");
    }

    #[test]
    fn ages_from_timestamps() {
        let now = SimTime::ZERO.saturating_add(SimDuration::from_secs(11));
        assert_eq!(age(Some("2024-01-01T00:00:00Z"), now), "11s");
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(age(Some("2024-01-01T00:01:00Z"), now), "<invalid>");
    }
}
