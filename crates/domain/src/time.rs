//! Instants as integer milliseconds since the Unix epoch.
//!
//! Integers store the same way in SQLite and PostgreSQL, and Make's token key (`created`) is an ISO-8601
//! timestamp with millisecond precision, so milliseconds are the natural unit.

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// `2020-03-27T05:53:27.368Z`: the exact form Make uses for a token's `created` key.
    pub fn to_iso(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(at) => at.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => String::from("invalid-time"),
        }
    }

    /// Parses an RFC 3339 timestamp. Precision below a millisecond is refused rather than rounded, so that a
    /// key that names one token can never silently name another.
    pub fn parse_iso(text: &str) -> Option<Self> {
        let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?;
        if parsed.timestamp_subsec_nanos() % 1_000_000 != 0 {
            return None;
        }
        Some(Self(parsed.with_timezone(&Utc).timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip_keeps_milliseconds() {
        let at = Timestamp::parse_iso("2020-03-27T05:53:27.368Z").expect("valid");
        assert_eq!(at.as_millis(), 1_585_288_407_368);
        assert_eq!(at.to_iso(), "2020-03-27T05:53:27.368Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let at = Timestamp::parse_iso("2020-03-27T07:53:27.368+02:00").expect("valid");
        assert_eq!(at.to_iso(), "2020-03-27T05:53:27.368Z");
    }

    #[test]
    fn sub_millisecond_precision_and_garbage_are_refused() {
        assert!(Timestamp::parse_iso("2020-03-27T05:53:27.3681Z").is_none());
        assert!(Timestamp::parse_iso("yesterday").is_none());
        assert!(Timestamp::parse_iso("").is_none());
    }
}
