mod not_found;
mod sign_in;
mod start;

pub use not_found::NotFound;
pub use sign_in::SignInPage;
pub use start::StartPage;
