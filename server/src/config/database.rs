//! `DATABASE_URL`: PostgreSQL in production, SQLite as the embedded default.

use std::fmt;

use super::reader::Reader;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/itf-async.db";

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl fmt::Debug for DatabaseUrl {
    // The URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(<url>)"),
            Self::Sqlite(url) => write!(f, "Sqlite({url})"),
        }
    }
}

impl DatabaseUrl {
    /// The kind of database a URL names, if it is one we use.
    pub fn parse(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres(url.to_owned()))
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite(url.to_owned()))
        } else {
            None
        }
    }
}

pub fn read(reader: &mut Reader<'_>, production: bool) -> Option<DatabaseUrl> {
    const NAME: &str = "DATABASE_URL";
    let Some(url) = reader.text(NAME) else {
        if production {
            reader.problem(
                NAME,
                "missing; production needs a PostgreSQL URL such as \
                 postgres://user@host:5432/itf_async",
            );
            return None;
        }
        return Some(DatabaseUrl::Sqlite(DEFAULT_DATABASE_URL.to_owned()));
    };
    let database = DatabaseUrl::parse(&url);
    match database {
        None => reader.problem(NAME, "use a postgres:// or sqlite:// URL"),
        Some(DatabaseUrl::Sqlite(_)) if production => reader.problem(
            NAME,
            "production needs PostgreSQL; SQLite serves one node only",
        ),
        Some(_) => {}
    }
    database
}
