//! Just enough calendar arithmetic for archive partitions and latency:
//! epoch milliseconds → `YYYY-MM-DD` / hour, and RFC 3339 → epoch microseconds.
//! (A date crate would be a large dependency for two functions.)

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC calendar date and hour of an epoch-milliseconds timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcHour {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl UtcHour {
    pub fn from_epoch_ms(ms: i64) -> UtcHour {
        let secs = ms.div_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let hour = (secs.rem_euclid(86_400) / 3600) as u32;
        UtcHour {
            year,
            month,
            day,
            hour,
        }
    }

    /// `YYYY-MM-DD`
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// RFC 3339 UTC rendering of epoch milliseconds: `2026-11-24T10:15:30.123Z`.
pub fn rfc3339_from_epoch_ms(ms: i64) -> String {
    Rfc3339Ms::new(ms).to_string()
}

/// [`rfc3339_from_epoch_ms`]'s text held in place (no allocation: every archived event
/// carries one). Reads as a `str`; serialises as a string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Ms {
    /// Room for the widest year an `i64` of milliseconds reaches (`-292275055`) and the
    /// 20 bytes after it.
    buf: [u8; 32],
    len: u8,
}

impl Rfc3339Ms {
    pub fn new(ms: i64) -> Rfc3339Ms {
        let secs = ms.div_euclid(1000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let mut buf = [0u8; 32];
        if !(0..=9999).contains(&y) {
            use std::io::Write;
            let mut w = &mut buf[..];
            write!(
                w,
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                sod / 3600,
                sod % 3600 / 60,
                sod % 60,
                ms.rem_euclid(1000)
            )
            .expect("32 bytes hold any year of an i64 of milliseconds");
            let len = 32 - w.len();
            return Rfc3339Ms {
                buf,
                len: len as u8,
            };
        }
        // Written digit by digit: this runs for every archived event.
        buf[..24].copy_from_slice(b"0000-00-00T00:00:00.000Z");
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, mo as i64);
        put(8, 2, d as i64);
        put(11, 2, sod / 3600);
        put(14, 2, sod % 3600 / 60);
        put(17, 2, sod % 60);
        put(20, 3, ms.rem_euclid(1000));
        Rfc3339Ms { buf, len: 24 }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).expect("ASCII")
    }
}

impl std::ops::Deref for Rfc3339Ms {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Rfc3339Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Rfc3339Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for Rfc3339Ms {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Rfc3339Ms {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Parses `2026-11-24T10:15:30.123456Z` or `…+02:00` into microseconds since the epoch.
/// Returns `None` for anything else; callers treat that as "unknown".
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    parse_rfc3339_nanos(s).map(|n| n.div_euclid(1000) as i64)
}

/// RFC 3339 timestamp → nanoseconds since the Unix epoch (`jevt.rawtime`, latency).
pub fn parse_rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    // Digits read in place: `str::parse` and a padded copy of the fraction were most of
    // the cost, and every archived event's latency reads two timestamps.
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        // Digits past the ninth are read and dropped (truncated, not rounded).
        let mut scale = 100_000_000;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            nanos += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    Some(secs as i128 * 1_000_000_000 + nanos as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_partition_of_epoch_ms() {
        // 2026-11-24T10:15:30.123Z
        let h = UtcHour::from_epoch_ms(1_795_515_330_123);
        assert_eq!(h.date(), "2026-11-24");
        assert_eq!(h.hour, 10);
        assert_eq!(
            rfc3339_from_epoch_ms(1_795_515_330_123),
            "2026-11-24T10:15:30.123Z"
        );
        assert_eq!(rfc3339_from_epoch_ms(-1), "1969-12-31T23:59:59.999Z");
        // Years outside 0..=9999 (a clock gone wrong) still render, up to an i64's ends.
        assert_eq!(
            rfc3339_from_epoch_ms(253_402_300_800_000),
            "10000-01-01T00:00:00.000Z"
        );
        assert!(rfc3339_from_epoch_ms(i64::MIN).starts_with("-292275055-"));
        assert!(rfc3339_from_epoch_ms(i64::MAX).starts_with("292278994-"));
        assert_eq!(Rfc3339Ms::new(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            serde_json::to_string(&Rfc3339Ms::new(0)).unwrap(),
            r#""1970-01-01T00:00:00.000Z""#
        );
        // Formatted and parsed back, across leap days and year ends.
        for ms in (0..4_102_444_800_000i64).step_by(7_919_999_937) {
            let text = rfc3339_from_epoch_ms(ms);
            assert_eq!(parse_rfc3339_micros(&text), Some(ms * 1000), "{text}");
        }
        assert_eq!(UtcHour::from_epoch_ms(0).date(), "1970-01-01");
        assert_eq!(UtcHour::from_epoch_ms(951_782_400_000).date(), "2000-02-29");
    }

    #[test]
    fn rfc3339_round_trip_and_offsets() {
        let z = parse_rfc3339_micros("2026-11-24T10:15:30.123456Z").unwrap();
        assert_eq!(z, 1_795_515_330_123_456);
        assert_eq!(
            parse_rfc3339_micros("2026-11-24T12:15:30.123456+02:00"),
            Some(z)
        );
        assert_eq!(
            parse_rfc3339_micros("2026-11-24T10:15:30Z"),
            Some(1_795_515_330_000_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2026-11-24T10:15:30.1Z"),
            Some(1_795_515_330_100_000)
        );
        assert_eq!(parse_rfc3339_micros("yesterday"), None);
        assert_eq!(parse_rfc3339_micros("2026-13-24T10:15:30Z"), None);
        assert_eq!(parse_rfc3339_micros("2026-11-24T10:15:30.Z"), None);
        assert_eq!(parse_rfc3339_micros("2026-11-24T25:15:30Z"), None);
        assert_eq!(parse_rfc3339_nanos("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339_nanos("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        // Nanoseconds to the ninth digit; later digits dropped, not rounded.
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:00.123456789Z"),
            Some(123_456_789)
        );
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:00.1234567899999Z"),
            Some(123_456_789)
        );
        for bad in [
            "2026-1x-24T10:15:30Z",
            "2026-11-24T10:1 :30Z",
            "2026-11-24T10:15:30.12a4Z",
            "2026-11-24T10:15:30+0x:00",
            "+026-11-24T10:15:30Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
    }
}
