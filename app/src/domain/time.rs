use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;

/// A calendar date in Eastern Time, written out as VA shows ITF dates:
/// "March 16, 2026".
pub fn eastern_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&New_York).format("%B %-d, %Y").to_string()
}

/// A time of day in Eastern Time: "3:05 p.m. ET".
pub fn eastern_time(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&New_York);
    let meridiem = if local.format("%P").to_string() == "am" {
        "a.m."
    } else {
        "p.m."
    };
    format!("{} {meridiem} ET", local.format("%-I:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_utc_is_still_the_same_day_in_the_east() {
        let at = "2026-03-17T02:30:00Z".parse().unwrap();
        assert_eq!(eastern_date(at), "March 16, 2026");
        assert_eq!(eastern_time(at), "10:30 p.m. ET");
    }

    #[test]
    fn standard_time_is_five_hours_behind() {
        let at = "2026-01-05T15:04:00Z".parse().unwrap();
        assert_eq!(eastern_date(at), "January 5, 2026");
        assert_eq!(eastern_time(at), "10:04 a.m. ET");
    }
}
