use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;

/// A calendar date in Eastern Time, written out as VA shows ITF dates:
/// "March 16, 2026".
pub fn eastern_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&New_York).format("%B %-d, %Y").to_string()
}

/// The calendar day in Eastern Time of an instant, whatever its offset:
/// the day an ITF is dated, as the provider and VA count it.
pub fn eastern_day<Tz: TimeZone>(at: &DateTime<Tz>) -> NaiveDate {
    at.with_timezone(&New_York).date_naive()
}

/// The instant an Eastern Time day begins.
pub fn eastern_midnight(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    New_York
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
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
    fn the_eastern_day_ignores_the_offset_written() {
        let late: DateTime<Utc> = "2026-03-17T03:59:00Z".parse().unwrap();
        let central = DateTime::parse_from_rfc3339("2026-03-16T22:59:00-05:00").unwrap();
        assert_eq!(
            eastern_day(&late),
            NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
        );
        assert_eq!(eastern_day(&central), eastern_day(&late));
    }

    #[test]
    fn an_eastern_day_begins_at_its_own_midnight() {
        let summer = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap();
        assert_eq!(
            eastern_midnight(summer),
            "2026-03-16T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let winter = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(
            eastern_midnight(winter),
            "2026-01-05T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn standard_time_is_five_hours_behind() {
        let at = "2026-01-05T15:04:00Z".parse().unwrap();
        assert_eq!(eastern_date(at), "January 5, 2026");
        assert_eq!(eastern_time(at), "10:04 a.m. ET");
    }
}
