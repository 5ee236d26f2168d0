//! Time as the formats carry it: seconds since the Unix epoch (JWT / CWT "NumericDate").

use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z, ignoring leap seconds (RFC 7519 §2 "NumericDate").
///
/// SMART Health Cards allow fractional values; they are kept to the second here, rounding
/// toward the stricter side is the caller's choice through [`NumericDate::from_f64_floor`] and
/// [`NumericDate::from_f64_ceil`].
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct NumericDate(pub i64);

impl NumericDate {
    /// The earliest instant any Spondon format accepts: 1970-01-01T00:00:00Z.
    pub const MIN: NumericDate = NumericDate(0);
    /// The latest instant any Spondon format accepts: 9999-12-31T23:59:59Z.
    pub const MAX: NumericDate = NumericDate(253_402_300_799);

    /// The current time from the system clock. The only impure function of this crate.
    pub fn now() -> NumericDate {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        NumericDate(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// Whole seconds, rounding a fractional value down. `None` for NaN, infinities and values
    /// outside [`NumericDate::MIN`]..=[`NumericDate::MAX`].
    pub fn from_f64_floor(value: f64) -> Option<NumericDate> {
        Self::from_rounded(value.floor())
    }

    /// Whole seconds, rounding a fractional value up.
    pub fn from_f64_ceil(value: f64) -> Option<NumericDate> {
        Self::from_rounded(value.ceil())
    }

    fn from_rounded(value: f64) -> Option<NumericDate> {
        if !value.is_finite() || value < Self::MIN.0 as f64 || value > Self::MAX.0 as f64 {
            return None;
        }
        // In range and integral, so the cast is exact.
        Some(NumericDate(value as i64))
    }

    /// Seconds since the Unix epoch.
    pub fn seconds(self) -> i64 {
        self.0
    }

    /// `self` plus `seconds` (negative goes back), clamped at `i64`'s range rather than wrapping.
    pub fn saturating_add(self, seconds: i64) -> NumericDate {
        NumericDate(self.0.saturating_add(seconds))
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An instant as people read it, in the user's time zone: `TZ` if set (an IANA name such as
/// `Asia/Dhaka`, or a POSIX rule), else the system's (`/etc/localtime`), else UTC. For example
/// `2026-11-01 14:30 +06`. Machine-readable output keeps numbers or RFC 3339 instead.
#[cfg(feature = "local-time")]
pub fn local(t: i64) -> String {
    in_zone(t, &user_zone(), "%Y-%m-%d %H:%M %Z")
}

/// [`local`] without the time of day: `2026-11-01`.
#[cfg(feature = "local-time")]
pub fn local_date(t: i64) -> String {
    in_zone(t, &user_zone(), "%Y-%m-%d")
}

/// The first and last second of a calendar day (`YYYY-MM-DD`) in the user's time zone; `None`
/// if the text is not such a date.
#[cfg(feature = "local-time")]
pub fn local_day(date: &str) -> Option<(i64, i64)> {
    day_in_zone(date, &user_zone())
}

#[cfg(feature = "local-time")]
fn day_in_zone(date: &str, zone: &jiff::tz::TimeZone) -> Option<(i64, i64)> {
    if date.len() != 10 {
        return None;
    }
    let day: jiff::civil::Date = date.parse().ok()?;
    let start = day.to_zoned(zone.clone()).ok()?.start_of_day().ok()?;
    let next = day
        .tomorrow()
        .ok()?
        .to_zoned(zone.clone())
        .ok()?
        .start_of_day()
        .ok()?;
    Some((
        start.timestamp().as_second(),
        next.timestamp().as_second() - 1,
    ))
}

#[cfg(feature = "local-time")]
fn user_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC)
}

#[cfg(feature = "local-time")]
fn in_zone(t: i64, zone: &jiff::tz::TimeZone, format: &str) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => ts.to_zoned(zone.clone()).strftime(format).to_string(),
        Err(_) => t.to_string(),
    }
}

#[cfg(all(test, feature = "local-time"))]
mod local_tests {
    use super::in_zone;
    use jiff::tz::TimeZone;

    #[test]
    fn instants_read_in_a_zone() {
        let f = "%Y-%m-%d %H:%M %Z";
        let dhaka = TimeZone::get("Asia/Dhaka").unwrap();
        assert_eq!(in_zone(1_793_491_200, &dhaka, f), "2026-11-01 06:00 +06");
        assert_eq!(
            in_zone(1_793_491_200, &TimeZone::UTC, f),
            "2026-11-01 00:00 UTC"
        );
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(in_zone(1_793_491_200, &ny, f), "2026-10-31 20:00 EDT");
        assert_eq!(in_zone(i64::MAX, &dhaka, f), i64::MAX.to_string());
    }

    #[test]
    fn days_are_the_users_days() {
        let dhaka = TimeZone::get("Asia/Dhaka").unwrap();
        // 2026-11-01 in Dhaka: 2026-10-31T18:00Z to 2026-11-01T17:59:59Z.
        assert_eq!(
            super::day_in_zone("2026-11-01", &dhaka),
            Some((1_793_491_200 - 6 * 3600, 1_793_491_200 + 18 * 3600 - 1))
        );
        for bad in [
            "2026-13-01",
            "2026-11-1",
            "yesterday",
            "",
            "2026-11-01T00:00",
        ] {
            assert_eq!(super::day_in_zone(bad, &dhaka), None, "{bad}");
        }
    }
}
