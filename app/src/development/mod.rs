//! Development only: what mock sign-in, the console's mock sign-in and the
//! provider simulator share.

mod test_operators;
mod test_users;

pub use test_operators::{test_operator, TestOperator, TEST_OPERATORS};
pub use test_users::{
    test_user_for_icn, test_veteran, TestUser, UnknownTestUser, LOAD_USERS, TEST_USERS,
};
