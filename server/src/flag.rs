//! Changing the rollout flag, from the console (as an `admin`) or the
//! command line (`itf-async flag`): the one place a change is checked,
//! written with its audit entry, and counted.

use itf_app::domain::ItfType;

use crate::config::Config;
use crate::metrics;
use crate::store::{
    command_line_operator, Acting, AlwaysOpen, AuditAction, Rollout, RolloutFlag, RolloutRefused,
    Store, StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("{0:?} is not an ITF type; use compensation, pension or survivor")]
    UnknownType(String),
    #[error(transparent)]
    Refused(#[from] RolloutRefused),
    #[error("say why the flag changes: a reason is kept with every change")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(#[from] Box<crate::StartError>),
}

/// Sets `itf_type`'s flag to `rollout` (as people write it: `off`, `on`,
/// `percent N`) for the reason `acting` gives.
pub async fn change(
    store: &dyn Store,
    itf_type: &str,
    rollout: &str,
    acting: &Acting<'_>,
) -> Result<RolloutFlag, FlagError> {
    let itf_type =
        ItfType::parse(itf_type.trim()).map_err(|_| FlagError::UnknownType(itf_type.to_owned()))?;
    let rollout = Rollout::parse(rollout)?.for_type(itf_type)?;
    if acting.reason.trim().is_empty() {
        return Err(FlagError::NoReason);
    }
    let set = store
        .set_rollout(itf_type, rollout, acting, chrono::Utc::now())
        .await?;
    metrics::operator_action(AuditAction::SetRollout);
    Ok(set)
}

/// `itf-async flag set TYPE ROLLOUT --reason TEXT`, against the database
/// the settings name, under the account that ran the command.
pub async fn set_from_the_command_line(
    config: &Config,
    itf_type: &str,
    rollout: &str,
    reason: &str,
) -> Result<RolloutFlag, FlagError> {
    let store = open(config)?;
    let account = command_line_operator();
    let acting = Acting {
        operator: &account,
        reason,
    };
    change(store.as_ref(), itf_type, rollout, &acting).await
}

/// `itf-async flag show`: every type's flag and its last change.
pub async fn show_from_the_command_line(config: &Config) -> Result<String, FlagError> {
    let flags = open(config)?.rollouts().await?;
    Ok(flags
        .iter()
        .map(|flag| format!("{}\n", line(flag)))
        .collect())
}

/// A flag as the command line prints it: `flag: compensation percent 50`,
/// and who set it when.
pub fn line(flag: &RolloutFlag) -> String {
    let changed = match (&flag.changed_at, &flag.changed_by) {
        (Some(at), Some(by)) => format!(" (set {} by {by})", at.to_rfc3339()),
        _ => " (as installed)".to_owned(),
    };
    format!("flag: {} {}{changed}", flag.itf_type.as_str(), flag.rollout)
}

fn open(config: &Config) -> Result<std::sync::Arc<dyn Store>, FlagError> {
    let (store, _) = crate::open_store(config, std::sync::Arc::new(AlwaysOpen))
        .map_err(|error| FlagError::Start(Box::new(error)))?;
    Ok(store)
}
