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
    /// The earliest and latest instants any Spondon format accepts: 1970 to 9999-12-31.
    pub const MIN: NumericDate = NumericDate(0);
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

    pub fn seconds(self) -> i64 {
        self.0
    }

    pub fn saturating_add(self, seconds: i64) -> NumericDate {
        NumericDate(self.0.saturating_add(seconds))
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
