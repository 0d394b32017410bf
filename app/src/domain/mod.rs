//! The vocabulary shared by the pages, the server and the store.

mod icn;
mod itf_type;
mod operator;
mod panel;
mod submission;
mod time;
mod veteran;

pub use icn::{Icn, InvalidIcn};
pub use itf_type::{ItfType, UnknownItfType};
pub use operator::{Operator, OperatorRole, UnknownOperatorRole};
pub use panel::{ItfPanel, PanelState};
pub use submission::SubmissionItf;
pub use time::{eastern_date, eastern_day, eastern_midnight, eastern_time};
pub use veteran::{Veteran, VeteranName};
