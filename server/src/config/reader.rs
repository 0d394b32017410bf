//! Reading settings: each is read, parsed and checked in one call, and a
//! problem names the setting and is kept, so that every problem is reported
//! at once.

use std::time::Duration;

pub struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// The setting's text, if it is set and not blank.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// Notes a problem with `name`.
    pub fn problem(&mut self, name: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{name}: {what}"));
    }

    /// The setting parsed by `parse`, or `default` when it is not set. A
    /// value `parse` refuses is a problem: `{name}: {hint}`, and `default`
    /// stands in so that reading goes on.
    pub fn parsed<T>(
        &mut self,
        name: &str,
        default: T,
        hint: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        match self.text(name) {
            None => default,
            Some(text) => parse(text.trim()).unwrap_or_else(|| {
                self.problem(name, format_args!("{text:?} is not accepted; {hint}"));
                default
            }),
        }
    }

    /// One of `choices` by its name; the first is the default.
    pub fn choice<T: Copy>(&mut self, name: &str, choices: &[(&str, T)]) -> T {
        let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
        let hint = format!("use {}", names.join(", "));
        self.parsed(name, choices[0].1, &hint, |text| {
            choices
                .iter()
                .find(|(choice, _)| *choice == text)
                .map(|(_, value)| *value)
        })
    }

    /// A whole number of `unit`s (a name, and its length in milliseconds)
    /// within `range`.
    pub fn duration(
        &mut self,
        name: &str,
        default: Duration,
        unit: (&str, u64),
        range: std::ops::RangeInclusive<u64>,
    ) -> Duration {
        let (unit_name, unit_ms) = unit;
        let hint = format!(
            "use a whole number of {unit_name} from {} to {}",
            range.start(),
            range.end()
        );
        self.parsed(name, default, &hint, |text| {
            text.parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(|n| Duration::from_millis(n.saturating_mul(unit_ms)))
        })
    }

    /// A setting that must be there; its absence is a problem saying what to
    /// set it to.
    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let value = self.text(name);
        if value.is_none() {
            self.problem(name, format_args!("missing; set {what}"));
        }
        value
    }

    pub fn into_problems(self) -> Vec<String> {
        self.problems
    }
}

pub const MILLISECONDS: (&str, u64) = ("milliseconds", 1);
pub const SECONDS: (&str, u64) = ("seconds", 1000);
pub const MINUTES: (&str, u64) = ("minutes", 60_000);
pub const HOURS: (&str, u64) = ("hours", 3_600_000);
