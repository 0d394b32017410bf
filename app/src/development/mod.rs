//! Development only: what mock sign-in and the provider simulator share.

mod test_users;

pub use test_users::{
    test_user_for_icn, test_veteran, TestUser, UnknownTestUser, LOAD_USERS, TEST_USERS,
};
