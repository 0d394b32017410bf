//! The vocabulary shared by the pages, the server and the store.

mod icn;
mod time;
mod veteran;

pub use icn::{Icn, InvalidIcn};
pub use time::{eastern_date, eastern_time};
pub use veteran::{test_veteran, TestUser, UnknownTestUser, Veteran, LOAD_USERS, TEST_USERS};
