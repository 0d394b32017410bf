//! UX review mode: switch the provider simulator's mode, the delay threshold
//! and a simulated outage of our database from `/review`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::response::Redirect;
use axum::Form;
use itf_app::server_fns::ReviewSettings;
use serde::Deserialize;

use super::simulator::{ModeKind, ModeUpdate};
use super::Development;
use crate::intake::DelayThreshold;
use crate::web::{ApiError, WebState};

/// What the development routes act on.
#[derive(Clone)]
pub struct ReviewState {
    pub development: Development,
    pub web: WebState,
}

pub fn settings(development: &Development, delayed_after: &DelayThreshold) -> ReviewSettings {
    ReviewSettings {
        mode: development
            .simulator
            .as_ref()
            .map_or_else(|| "standalone".to_owned(), |s| s.mode_name()),
        delayed_after_minutes: delayed_after.get().as_secs() / 60,
        outage: development.outage.load(Ordering::Relaxed),
    }
}

fn back() -> Redirect {
    Redirect::to("/review")
}

#[derive(Deserialize)]
pub struct ModeForm {
    mode: ModeKind,
}

pub async fn set_mode(
    State(state): State<ReviewState>,
    form: Result<Form<ModeForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let Form(form) = form.map_err(|_| ApiError::BadForm {
        title: "Unknown mode",
        detail: "Choose one of the modes on the review page.".into(),
    })?;
    let simulator = state.development.simulator.as_ref().ok_or(ApiError::Conflict {
        title: "Simulator not in this app",
        detail: "This app uses a standalone simulator; set its mode with PUT /_sim/lighthouse/mode there.",
    })?;
    simulator
        .set_mode(ModeUpdate::only(form.mode))
        .map_err(|problem| ApiError::BadForm {
            title: "Invalid mode",
            detail: problem.into(),
        })?;
    Ok(back())
}

#[derive(Deserialize)]
pub struct DelayForm {
    minutes: u64,
}

pub async fn set_delay(
    State(state): State<ReviewState>,
    form: Result<Form<DelayForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let Form(form) = form.map_err(|_| ApiError::BadForm {
        title: "Not a number of minutes",
        detail: "Enter a whole number of minutes, 0 or more.".into(),
    })?;
    state
        .web
        .delayed_after
        .set(Duration::from_secs(form.minutes.saturating_mul(60)));
    Ok(back())
}

#[derive(Deserialize)]
pub struct OutageForm {
    down: bool,
}

pub async fn set_outage(
    State(state): State<ReviewState>,
    form: Result<Form<OutageForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let Form(form) = form.map_err(|_| ApiError::BadForm {
        title: "Outage switch",
        detail: "Send down=true or down=false.".into(),
    })?;
    state.development.outage.store(form.down, Ordering::Relaxed);
    Ok(back())
}
