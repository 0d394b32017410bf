mod status_panel;
mod test_users;

pub use status_panel::StatusPanel;
pub use test_users::TestUserForms;
