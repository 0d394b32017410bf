mod application;
mod not_found;
mod review;
mod sign_in;
mod start;

pub use application::ApplicationPage;
pub use not_found::NotFound;
pub use review::ReviewPage;
pub use sign_in::SignInPage;
pub use start::StartPage;
